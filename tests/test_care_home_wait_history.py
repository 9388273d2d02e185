"""Issue 17 at a region's years of history: "waiting for a care home" reads only the decision
events of stays in the id range of the active stays (and all of them for the stays that left
after the period). A stay registered long before the others and still in a bed keeps its wait,
whatever came between; a stay that left after the period's end counts at that end, and one that
left before does not. Today is Monday 2026-11-23 (as in tests/indicator_data.py)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from notifications.indicators import compute_indicators
from storage.db import transaction
from storage.domain.periods import Period, iso_week_of
from storage.models import DecisionEventKind, DecisionKind, Stay, StayStatus
from storage.repos.decisions import DecisionRepository
from storage.repos.stays import StayRepository
from storage.repos.units import UnitRepository
from tests.indicator_data import utc

Sessions = async_sessionmaker[AsyncSession]
TODAY = date(2026, 11, 23)
WEEK_46 = iso_week_of(date(2026, 11, 9))  # ends Sunday 15 November
WEEK_47 = iso_week_of(date(2026, 11, 16))  # ends Sunday 22 November

KINDS = {
    DecisionEventKind.CARE_HOME_WAIT: DecisionKind.CARE_HOME_WAIT,
    DecisionEventKind.HOME_GOING_SET: DecisionKind.HOME_GOING,
}


async def _stay(
    session: AsyncSession,
    unit_id: int,
    code: str,
    arrival: date,
    decisions: list[tuple[DecisionEventKind, datetime]],
    departure: date | None = None,
) -> None:
    """A stay as the product records it: registered, its decisions (state and events), and
    closed on ``departure`` if given."""
    stay = Stay(
        unit_id=unit_id, case_code=code, arrival_date=arrival, goal="Återhämtning",
        followup_deadline=arrival,
    )  # fmt: skip
    await StayRepository(session).add(stay)
    for kind, at in decisions:
        stay.decision_kind = KINDS[kind]
        stay.waiting_care_home = kind == DecisionEventKind.CARE_HOME_WAIT
        await StayRepository(session).save(stay)
        await DecisionRepository(session).append(stay, kind, at, None)
    if departure is not None:
        stay.status, stay.close_reason, stay.departure_date = StayStatus.CLOSED, "home", departure
        await StayRepository(session).save(stay)


async def _seed(sessions: Sessions) -> None:
    wait = DecisionEventKind.CARE_HOME_WAIT
    async with transaction(sessions) as session:
        unit, _ = await UnitRepository(session).get_or_create("AAA", "Almens korttidsenhet")
        assert unit.id is not None
        # Registered first (the lowest id) and still in a bed: waiting since February 2024.
        await _stay(session, unit.id, "AAA-001", date(2024, 1, 10), [(wait, utc(2024, 2, 1, 9))])
        # Years of stays in between: one waited and left for the care home in 2025.
        await _stay(
            session, unit.id, "AAA-002", date(2025, 3, 1), [(wait, utc(2025, 3, 20, 9))],
            departure=date(2025, 6, 1),
        )  # fmt: skip
        await _stay(session, unit.id, "AAA-003", date(2026, 11, 2), [(wait, utc(2026, 11, 10, 9))])
        # Waiting at the end of week 46, left in week 47.
        await _stay(
            session, unit.id, "AAA-004", date(2026, 11, 2), [(wait, utc(2026, 11, 10, 9))],
            departure=date(2026, 11, 20),
        )  # fmt: skip
        # Registered last (the highest id): a home-going after the wait, before week 47 ended.
        await _stay(
            session, unit.id, "AAA-005", date(2026, 11, 3),
            [(wait, utc(2026, 11, 4, 9)), (DecisionEventKind.HOME_GOING_SET, utc(2026, 11, 18, 9))],
        )  # fmt: skip


async def _waiting(sessions: Sessions, period: Period) -> int:
    async with transaction(sessions) as session:
        report = await compute_indicators(session, period, TODAY)
    return report.total.waiting_care_home


async def test_a_wait_counts_at_the_period_end_whatever_came_between(sessions: Sessions) -> None:
    await _seed(sessions)
    # Week 46: AAA-001, -003, -004 and -005 (its home-going came in week 47).
    assert await _waiting(sessions, WEEK_46) == 4
    # Week 47: AAA-004 has left and AAA-005 goes home; AAA-001 and -003 still wait.
    assert await _waiting(sessions, WEEK_47) == 2
