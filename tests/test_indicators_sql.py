"""The indicators' grouped SQL against plain computations on varied data, on every backend.

The 12-week trend comes from one query per indicator over all the weeks; it must equal the
indicators computed week by week. Payable days are summed in SQL (local days, the noon cut-off,
daylight-saving changes, new year); they must equal the payment rules of
``storage.domain.payment`` applied to each wait in Python.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from notifications.indicators import Figures, compute_indicators, compute_trend
from storage import db
from storage.domain.calendar import followup_deadline
from storage.domain.clock import STOCKHOLM
from storage.domain.payment import PaymentPolicy, year_ranges
from storage.domain.periods import Period, last_weeks, parse_period
from storage.models import CloseReason, DecisionKind, HospitalWait, Stay, StayStatus, Unit
from storage.repos.indicators import utc_offsets

# Edges of a local day: a notice a microsecond before midnight is still that day's notice.
EDGE_TIMES = (
    time(0, 0),
    time(0, 0, 0, 1),
    time(11, 59, 59, 999_999),
    time(12, 0),
    time(23, 59, 59, 999_999),
    time(2, 30),  # does not exist on the spring change day, happens twice in the autumn
)
# Waits gather around the daylight-saving changes and the new year.
WAIT_DAYS = (date(2026, 3, 29), date(2026, 10, 25), date(2026, 12, 31), date(2026, 11, 20))


@dataclass(frozen=True)
class Wait:
    unit_id: int | None
    notified_at: datetime
    closed_at: datetime | None


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = db.create_engine(database_url)
    await db.upgrade(engine)
    try:
        yield db.session_factory(engine)
    finally:
        await engine.dispose()


def _instant(rng: random.Random, around: date) -> datetime:
    day = around + timedelta(days=rng.randint(-6, 6))
    moment = (
        rng.choice(EDGE_TIMES)
        if rng.random() < 0.6
        else time(rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59))
    )
    return datetime.combine(day, moment, tzinfo=STOCKHOLM).astimezone(UTC)


def _waits(rng: random.Random, unit_ids: list[int], count: int) -> list[Wait]:
    waits: list[Wait] = []
    for _ in range(count):
        notified = _instant(rng, rng.choice(WAIT_DAYS))
        closed = None
        if rng.random() < 0.75:
            closed = _instant(rng, (notified + timedelta(days=rng.randint(0, 9))).date())
            closed = max(closed, notified)
        unit = rng.choice([*unit_ids, None])
        waits.append(Wait(unit, notified, closed))
    return waits


def _stays(rng: random.Random, unit_ids: list[int], count: int) -> list[Stay]:
    stays: list[Stay] = []
    first = date(2026, 8, 1)
    for n in range(count):
        arrival = first + timedelta(days=rng.randint(0, 170))
        deadline = followup_deadline(arrival)
        departure = arrival + timedelta(days=rng.randint(1, 40)) if rng.random() < 0.7 else None
        roll = rng.random()
        held = None if roll < 0.2 else deadline + timedelta(days=rng.randint(-3, 4))
        stays.append(
            Stay(
                unit_id=rng.choice(unit_ids),
                case_code=f"V-{n:04d}",
                arrival_date=arrival,
                goal="Återhämtning",
                followup_deadline=deadline,
                followup_held_on=held,
                decision_kind=DecisionKind.HOME_GOING if held else None,
                departure_date=departure,
                status=StayStatus.CLOSED if departure else StayStatus.ACTIVE,
                close_reason=rng.choice(list(CloseReason)) if departure else None,
            )
        )
    return stays


async def _seed(sessions: async_sessionmaker[AsyncSession], seed: int) -> list[Wait]:
    rng = random.Random(seed)
    async with db.transaction(sessions) as session:
        units = [Unit(code=f"U{n}", name=f"Enhet {n}") for n in range(3)]
        session.add_all(units)
        await session.flush()
        unit_ids = [unit.id for unit in units if unit.id is not None]
        session.add_all(_stays(rng, unit_ids, 400))
        waits = _waits(rng, unit_ids, 300)
        session.add_all(
            HospitalWait(
                case_code=f"W-{n:04d}",
                expected_unit_id=wait.unit_id,
                notified_at=wait.notified_at,
                closed_at=wait.closed_at,
            )
            for n, wait in enumerate(waits)
        )
    return waits


def _expected_payment(
    waits: list[Wait], period: Period, today: date, policy: PaymentPolicy | None
) -> dict[int | None, Figures]:
    """Wait by wait, through the domain's rules: the payable days in the period up to today."""
    rules = policy or PaymentPolicy()
    last = min(period.end, today)
    start, end = period.utc_bounds()
    expected: dict[int | None, Figures] = {}
    for wait in waits:
        if wait.notified_at >= end or (wait.closed_at is not None and wait.closed_at < start):
            continue
        for first, stop in year_ranges(period.start, last):
            days = len(rules.responsible_days(wait.notified_at, wait.closed_at, first, stop))
            amount = rules.daily_amount(first.year)
            figures = Figures(
                payment_days=days,
                payment_kronor=0 if amount is None else amount * days,
                payment_unpriced_days=days if amount is None else 0,
            )
            expected[wait.unit_id] = expected.get(wait.unit_id, Figures()) + figures
    return expected


def _payment_of(figures: Figures) -> tuple[int, int, int]:
    return figures.payment_days, figures.payment_kronor, figures.payment_unpriced_days


POLICIES = (
    PaymentPolicy(daily_amounts={2026: 9300}),  # 2027 has no amount: its days are unpriced
    PaymentPolicy(grace_days=1, noon_cutoff=True, daily_amounts={2026: 9300, 2027: 9500}),
    None,
)
PERIODS = (
    "2026-W13",  # spring forward on Sunday 03-29
    "2026-W14",
    "2026Q1",
    "2026-W43",  # fall back on Sunday 10-25
    "2026-W44",
    "2026Q4",
    "2026H2",
    "2026-W47",
    "2026-W53",  # from Monday 12-28 into 2027
    "2027-W01",
)


@pytest.mark.parametrize("today", [date(2026, 11, 23), date(2027, 1, 1), date(2027, 3, 1)])
async def test_payable_days_summed_in_sql_follow_the_payment_rules(
    sessions: async_sessionmaker[AsyncSession], today: date
) -> None:
    waits = await _seed(sessions, seed=today.toordinal())
    checked = 0
    async with db.transaction(sessions) as session:
        for code in PERIODS:
            period = parse_period(code)
            for policy in POLICIES:
                report = await compute_indicators(session, period, today, payment=policy)
                expected = _expected_payment(waits, period, today, policy)
                for unit_id, figures in report.by_unit.items():
                    assert _payment_of(figures) == _payment_of(expected.get(unit_id, Figures())), (
                        code,
                        policy,
                        unit_id,
                    )
                assert _payment_of(report.total) == _payment_of(
                    sum(expected.values(), Figures())
                ), (code, policy)
                checked += report.total.payment_days
    assert checked > 500  # the periods did hold payable days


async def test_payable_days_of_the_units_asked_for(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    waits = await _seed(sessions, seed=7)
    today = date(2027, 3, 1)
    period = parse_period("2026Q4")
    policy = POLICIES[0]
    async with db.transaction(sessions) as session:
        one = next(w.unit_id for w in waits if w.unit_id is not None)
        report = await compute_indicators(session, period, today, unit_ids=[one], payment=policy)
    expected = _expected_payment(waits, period, today, policy)[one]
    assert _payment_of(report.total) == _payment_of(expected)
    assert report.total.payment_days > 0


def _point(figures: Figures) -> tuple[float | None, float | None, int | None]:
    return figures.followup_within_7_share, figures.average_stay_days, figures.payment


@pytest.mark.parametrize("today", [date(2026, 11, 23), date(2027, 1, 20)])
@pytest.mark.parametrize("policy", POLICIES[:2])
async def test_the_grouped_trend_equals_the_indicators_week_by_week(
    sessions: async_sessionmaker[AsyncSession], today: date, policy: PaymentPolicy
) -> None:
    await _seed(sessions, seed=today.toordinal() + 1)
    weeks = last_weeks(today, 12)
    async with db.transaction(sessions) as session:
        all_units = list((await session.exec(select(Unit.id))).all())
        for unit_ids in (None, all_units[:1]):
            trend = await compute_trend(session, weeks, today, unit_ids=unit_ids, payment=policy)
            by_week = [
                (await compute_indicators(session, w, today, unit_ids=unit_ids, payment=policy))
                for w in weeks
            ]
            assert [p.week for p in trend] == weeks
            assert [(p.followup_within_7_share, p.average_stay_days, p.payment) for p in trend] == [
                _point(report.total) for report in by_week
            ]
            # The data has follow-ups, departures and payable days in the trend's weeks.
            assert sum(r.total.followup_due for r in by_week) > 20
            assert sum(r.total.departures for r in by_week) > 20
            assert sum(r.total.payment_days for r in by_week) > 0


def test_stockholm_changes_its_offset_at_one_utc() -> None:
    year = utc_offsets(datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
    assert year == [
        (datetime(2026, 1, 1, tzinfo=UTC), 3600),
        (datetime(2026, 3, 29, 1, tzinfo=UTC), 7200),
        (datetime(2026, 10, 25, 1, tzinfo=UTC), 3600),
    ]
    summer = utc_offsets(datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 7, 1, tzinfo=UTC))
    assert summer == [(datetime(2026, 6, 1, tzinfo=UTC), 7200)]
