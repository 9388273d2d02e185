"""The indicator definitions against hand-computed figures (fixtures in tests/indicator_data.py)."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from notifications.indicator_text import headline_rows, measure_text, sv_number
from notifications.indicators import (
    Figures,
    IndicatorReport,
    Measure,
    compute_indicators,
    compute_trend,
)
from notifications.render import Renderer
from storage.db import transaction
from storage.domain.payment import PaymentPolicy
from storage.domain.periods import InvalidPeriod, iso_week_of, last_weeks, parse_period
from storage.models import HospitalWait
from storage.repos.units import UnitRepository
from tests.indicator_data import POLICY, TODAY, seed_indicator_data, utc


async def _report(
    sessions: async_sessionmaker[AsyncSession],
    period: str,
    units: list[int] | None = None,
    policy: PaymentPolicy | None = POLICY,
) -> IndicatorReport:
    async with transaction(sessions) as session:
        return await compute_indicators(
            session, parse_period(period), TODAY, unit_ids=units, payment=policy
        )


# (period, unit: "AAA" | "BBB" | "ALL", the figure, expected value), worked out by hand.
EXPECTED = [
    # Q4 2026, unit AAA
    ("2026Q4", "AAA", "followup_due", 4),  # 001, 002, 003, 006; not 004 (ahead), 005 (left)
    ("2026Q4", "AAA", "followup_on_time", 2),  # 001, 006
    ("2026Q4", "AAA", "followup_within_7_share", 0.5),
    ("2026Q4", "AAA", "followup_delayed_share", 0.5),
    ("2026Q4", "AAA", "overdue_now", 1),  # 003
    ("2026Q4", "AAA", "arrivals", 5),  # 002..006; 001 arrived in Q3
    ("2026Q4", "AAA", "departures", 2),  # 001 (12 days), 005 (3 days)
    ("2026Q4", "AAA", "average_stay_days", 7.5),
    ("2026Q4", "AAA", "back_to_hospital", 1),
    ("2026Q4", "AAA", "active", 4),  # 002, 003, 004, 006 on 11-23
    ("2026Q4", "AAA", "long_stays", 2),  # 002 (30 days), 006 (34 days)
    ("2026Q4", "AAA", "extensions", 1),
    ("2026Q4", "AAA", "home_going_plannings", 0),
    ("2026Q4", "AAA", "home_goings_next_7", 0),
    ("2026Q4", "AAA", "undeliverable", 1),  # the sent one does not count
    ("2026Q4", "AAA", "awaiting_recipient", 1),  # waiting, not undeliverable
    ("2026Q4", "ALL", "awaiting_recipient", 2),  # one waiting, one expired while waiting
    ("2026Q4", "AAA", "payment_days", 4),  # 11-05..11-08
    ("2026Q4", "AAA", "payment", 37_200),
    # Q4 2026, unit BBB
    ("2026Q4", "BBB", "followup_due", 2),
    ("2026Q4", "BBB", "followup_within_7_share", 1.0),
    ("2026Q4", "BBB", "departures", 1),  # 002 left 10-05 after 25 days
    ("2026Q4", "BBB", "average_stay_days", 25.0),
    ("2026Q4", "BBB", "active", 2),
    ("2026Q4", "BBB", "long_stays", 2),
    ("2026Q4", "BBB", "waiting_care_home", 1),  # 003; 002 has left
    ("2026Q4", "BBB", "home_going_plannings", 1),
    ("2026Q4", "BBB", "home_goings_next_7", 1),
    ("2026Q4", "BBB", "readiness_gaps", 1),
    ("2026Q4", "BBB", "sip_called", 1),
    ("2026Q4", "BBB", "payment_days", 1),  # today, still waiting
    ("2026Q4", "BBB", "payment", 9_300),
    # Q4 2026, all units: the sums, plus the wait without a unit and the unit-less message
    ("2026Q4", "ALL", "followup_due", 6),
    ("2026Q4", "ALL", "followup_on_time", 4),
    ("2026Q4", "ALL", "average_stay_days", 40 / 3),
    ("2026Q4", "ALL", "payment_days", 7),
    ("2026Q4", "ALL", "payment", 65_100),
    ("2026Q4", "ALL", "undeliverable", 2),
    ("2026Q4", "ALL", "arrivals", 7),
    # Q3 2026: a stay spanning the periods counts where each of its events fell
    ("2026Q3", "AAA", "followup_due", 0),
    ("2026Q3", "AAA", "followup_within_7_share", None),  # no data, not 0 %
    ("2026Q3", "AAA", "active", 1),  # 001 was in a bed on 09-30
    ("2026Q3", "BBB", "followup_due", 1),
    ("2026Q3", "BBB", "followup_within_7_share", 0.0),
    ("2026Q3", "BBB", "average_stay_days", None),  # nobody left in Q3
    ("2026Q3", "BBB", "long_stays", 1),  # 002: 20 days on 09-30
    ("2026Q3", "BBB", "waiting_care_home", 1),
    ("2026Q3", "ALL", "payment", 0),  # the first payable day of the Q3 notice is 10-01
    # Week 47: 16-22 November
    ("2026-W47", "AAA", "followup_due", 1),  # 003, deadline Tue 11-17
    ("2026-W47", "AAA", "followup_within_7_share", 0.0),
    ("2026-W47", "AAA", "arrivals", 1),  # 004
    ("2026-W47", "BBB", "followup_within_7_share", None),
    ("2026-W47", "ALL", "average_stay_days", None),
    ("2026-W47", "ALL", "payment_days", 0),
    ("2026-W47", "ALL", "undeliverable", 2),
    # Half-year 2: Q3 and Q4 together
    ("2026H2", "ALL", "followup_due", 7),
    ("2026H2", "ALL", "followup_on_time", 4),
    ("2026H2", "ALL", "departures", 3),
    ("2026H2", "ALL", "extensions", 1),
]


@pytest.mark.parametrize(("period", "unit", "name", "expected"), EXPECTED)
async def test_indicator_matches_the_hand_computed_figure(
    sessions: async_sessionmaker[AsyncSession],
    period: str,
    unit: str,
    name: str,
    expected: float | None,
) -> None:
    ids = await seed_indicator_data(sessions)
    if unit == "ALL":
        figures = (await _report(sessions, period)).total
    else:
        figures = (await _report(sessions, period, [ids[unit]])).by_unit[ids[unit]]

    value = getattr(figures, name)

    assert value == pytest.approx(expected) if expected is not None else value is None


async def test_all_units_is_the_sum_of_the_units_plus_what_has_no_unit(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await seed_indicator_data(sessions)
    report = await _report(sessions, "2026Q4")

    summed = report.by_unit[min(report.by_unit)] + report.by_unit[max(report.by_unit)]
    assert report.total.followup_due == summed.followup_due
    assert report.total.payment_days == summed.payment_days + 2  # the unit-less wait


async def test_a_manager_sees_only_the_units_asked_for(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    ids = await seed_indicator_data(sessions)
    report = await _report(sessions, "2026Q4", [ids["AAA"]])

    assert [unit.code for unit in report.units] == ["AAA"]
    assert report.total.payment_days == 4  # neither BBB's wait nor the unit-less one
    assert report.total.undeliverable == 1


async def test_payment_without_amounts_is_not_configured_never_zero(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await seed_indicator_data(sessions)
    renderer = Renderer()
    for policy in (None, PaymentPolicy(daily_amounts={})):
        figures = (await _report(sessions, "2026Q4", policy=policy)).total
        assert figures.payment_days == 7  # the days follow the law's rules all the same
        assert figures.payment is None
        assert measure_text(Measure.KRONOR, figures.payment, renderer) == "inte konfigurerat"
    # No waits at all in the period, and still no amount: not configured rather than 0 kr.
    empty = (await _report(sessions, "2026-W30", policy=None)).total
    assert empty.payment_days == 0
    assert empty.payment is None


async def test_no_data_reads_inga_data_not_zero_percent(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await seed_indicator_data(sessions)
    figures = (await _report(sessions, "2026-W30")).total
    rows = {row["key"]: row for row in headline_rows(figures, None, Renderer())}

    assert rows["followup_within_7"]["value"] == "inga data"
    assert rows["followup_delayed"]["value"] == "inga data"
    assert rows["average_stay"]["value"] == "inga data"
    assert rows["payment"]["value"] == "0 kr"  # an amount is configured for 2026: truly zero
    assert "0 %" not in {row["value"] for row in rows.values()}


async def test_targets_are_judged_green_or_red(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    ids = await seed_indicator_data(sessions)
    report = await _report(sessions, "2026Q4", [ids["AAA"], ids["BBB"]])
    renderer = Renderer()
    bbb = {r["key"]: r for r in headline_rows(report.by_unit[ids["BBB"]], None, renderer)}
    aaa = {r["key"]: r for r in headline_rows(report.by_unit[ids["AAA"]], None, renderer)}

    assert bbb["followup_within_7"]["colour"] == "Good"
    assert bbb["followup_within_7"]["status"].startswith("✔")
    assert aaa["followup_within_7"]["colour"] == "Attention"
    assert aaa["followup_within_7"]["status"].startswith("✖")
    assert aaa["average_stay"]["colour"] == "Good"  # 7,5 days <= 14
    assert bbb["average_stay"]["colour"] == "Attention"  # 25 days
    assert aaa["payment"]["value"] == "37\u00a0200 kr"
    assert aaa["payment"]["colour"] == "Attention"  # the zero vision is missed


async def test_change_from_the_previous_period_says_better_or_worse(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    ids = await seed_indicator_data(sessions)
    renderer = Renderer()
    now = (await _report(sessions, "2026Q4", [ids["BBB"]])).total
    before = (await _report(sessions, "2026Q3", [ids["BBB"]])).total
    rows = {r["key"]: r for r in headline_rows(now, before, renderer)}

    assert rows["followup_within_7"]["change"] == "+100 procentenheter"  # 0 % -> 100 %
    assert rows["followup_within_7"]["change_colour"] == "Good"
    assert rows["followup_delayed"]["change"] == "−100 procentenheter"
    assert rows["followup_delayed"]["change_colour"] == "Good"
    assert rows["average_stay"]["change"] == "–"  # nothing to compare with in Q3


async def test_trend_has_one_point_per_week(sessions: async_sessionmaker[AsyncSession]) -> None:
    await seed_indicator_data(sessions)
    weeks = last_weeks(TODAY, 12)
    async with transaction(sessions) as session:
        points = await compute_trend(session, weeks, TODAY, payment=POLICY)

    assert [p.week.code for p in points][-1] == "2026-W47"
    assert len(points) == 12
    by_week = {p.week.code: p for p in points}
    assert by_week["2026-W47"].followup_within_7_share == 0.0
    assert by_week["2026-W45"].payment == 4 * 9300  # 11-05..11-08
    assert by_week["2026-W36"].followup_within_7_share is None


# --- payment responsibility in a period (pure) ------------------------------------------------

PAYMENT_CASES = [
    # notified (UTC), left hospital (UTC) or None, period, today, expected days in the period
    (utc(2026, 11, 2, 9), utc(2026, 11, 9, 10), "2026-W45", TODAY, 4),
    (utc(2026, 11, 2, 9), utc(2026, 11, 9, 10), "2026-W46", TODAY, 0),
    # still waiting: counted up to today only
    (utc(2026, 11, 20, 8), None, "2026Q4", TODAY, 1),
    # notified in week 45 at 23:30 Stockholm on Sunday 11-08 (22:30 UTC): counts from 11-11
    (utc(2026, 11, 8, 22, 30), utc(2026, 11, 13, 9), "2026-W46", TODAY, 2),
    # spanning the new year: days split between H2 2026 and Q1 2027
    (utc(2026, 12, 28, 9), utc(2027, 1, 4, 9), "2026H2", date(2027, 2, 1), 1),
    (utc(2026, 12, 28, 9), utc(2027, 1, 4, 9), "2027Q1", date(2027, 2, 1), 3),
]


async def _payment(
    sessions: async_sessionmaker[AsyncSession],
    notified: datetime,
    left: datetime | None,
    period: str,
    today: date,
    policy: PaymentPolicy = POLICY,
) -> Figures:
    """One wait's payment figures in the period, as the indicators compute them."""
    async with transaction(sessions) as session:
        unit, _ = await UnitRepository(session).get_or_create("PAY", "Betalningsenheten")
        unit_id = unit.id
        assert unit_id is not None
        session.add(
            HospitalWait(
                case_code="PAY-001", expected_unit_id=unit_id, notified_at=notified, closed_at=left
            )
        )
        await session.flush()
        report = await compute_indicators(
            session, parse_period(period), today, unit_ids=[unit_id], payment=policy
        )
        await session.rollback()  # the next call starts from no waits again
    return report.by_unit[unit_id]


@pytest.mark.parametrize(("notified", "left", "period", "today", "days"), PAYMENT_CASES)
async def test_payable_days_fall_in_the_period(
    sessions: async_sessionmaker[AsyncSession],
    notified: datetime,
    left: datetime | None,
    period: str,
    today: date,
    days: int,
) -> None:
    figures = await _payment(sessions, notified, left, period, today)
    assert figures.payment_days == days


async def test_a_year_without_an_amount_makes_the_period_not_configured(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    notified, left = utc(2026, 12, 28, 9), utc(2027, 1, 4, 9)
    figures = await _payment(sessions, notified, left, "2027Q1", date(2027, 2, 1))
    assert figures.payment_days == 3
    assert figures.payment is None  # 2027 has no amount configured
    both = PaymentPolicy(daily_amounts={2026: 9300, 2027: 9500})
    december = await _payment(sessions, notified, left, "2026-W53", date(2027, 2, 1), both)
    assert december.payment == 9300 + 3 * 9500  # 12-31 at 2026's amount, 01-01..01-03 at 2027's
    priced = await _payment(sessions, notified, left, "2027Q1", date(2027, 2, 1), both)
    assert priced.payment == 3 * 9500


def test_figures_add_up_and_shares_come_from_the_sums() -> None:
    one = Figures(followup_due=1, followup_on_time=1, departures=1, departed_stay_days=30)
    other = Figures(followup_due=3, followup_on_time=0, departures=3, departed_stay_days=6)
    both = one + other
    assert both.followup_within_7_share == 0.25  # not the mean of 100 % and 0 %
    assert both.average_stay_days == 9.0


# --- periods --------------------------------------------------------------------------------

PERIODS = [
    ("2026-W48", date(2026, 11, 23), date(2026, 11, 29), "2026-W47"),
    ("2026w53", date(2026, 12, 28), date(2027, 1, 3), "2026-W52"),
    ("2027-W01", date(2027, 1, 4), date(2027, 1, 10), "2026-W53"),
    ("2026Q3", date(2026, 7, 1), date(2026, 9, 30), "2026Q2"),
    ("2026q1", date(2026, 1, 1), date(2026, 3, 31), "2025Q4"),
    ("2026H2", date(2026, 7, 1), date(2026, 12, 31), "2026H1"),
    ("2026H1", date(2026, 1, 1), date(2026, 6, 30), "2025H2"),
]


@pytest.mark.parametrize(("text", "start", "end", "previous"), PERIODS)
def test_periods_parse_to_their_dates(text: str, start: date, end: date, previous: str) -> None:
    period = parse_period(text)
    assert (period.start, period.end) == (start, end)
    assert period.previous().code == previous


@pytest.mark.parametrize("text", ["2025-W53", "2026Q5", "2026H3", "Q3", "förra veckan", ""])
def test_unknown_periods_are_refused(text: str) -> None:
    with pytest.raises(InvalidPeriod):
        parse_period(text)


def test_a_quarter_has_the_weeks_that_touch_it() -> None:
    weeks = parse_period("2026Q4").weeks()
    assert weeks[0] == iso_week_of(date(2026, 10, 1))  # W40 starts in September
    assert weeks[-1].code == "2026-W53"


def test_swedish_numbers() -> None:
    assert sv_number(65100) == "65\u00a0100"
    assert sv_number(13.333, 1) == "13,3"
    assert sv_number(-2.5, 1) == "−2,5"
    assert sv_number(-0.01, 1) == "0,0"
