"""Issue 17: "waiting for a care home" for a past period is read from the decision events, so
later work (a new decision, the move to the care home) never changes that period's figure.
Today is Monday 2026-11-23 (as in tests/indicator_data.py)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from notifications.indicators import compute_indicators
from storage.db import transaction
from storage.domain.periods import Period, iso_week_of
from storage.models import (
    DecisionEventKind,
    DecisionKind,
    ReadinessKind,
    ReadinessStatus,
    Stay,
    StayStatus,
)
from storage.repos.decisions import DecisionRepository
from storage.repos.stays import StayRepository
from storage.repos.units import UnitRepository
from tests.indicator_data import utc

Sessions = async_sessionmaker[AsyncSession]
WEEK_45 = iso_week_of(date(2026, 11, 2))
WEEK_46 = iso_week_of(date(2026, 11, 9))
WEEK_47 = iso_week_of(date(2026, 11, 16))
TODAY = date(2026, 11, 23)


async def _seed(sessions: Sessions) -> dict[str, int]:
    """Two stays: both decided a care-home wait on Tue 10 November (week 46)."""
    async with transaction(sessions) as session:
        unit, _ = await UnitRepository(session).get_or_create("AAA", "Almens korttidsenhet")
        assert unit.id is not None
        ids = {}
        for code in ("AAA-001", "AAA-002"):
            stay = Stay(
                unit_id=unit.id,
                case_code=code,
                arrival_date=date(2026, 11, 2),
                goal="Återhämtning",
                followup_deadline=date(2026, 11, 2),
            )
            await StayRepository(session).add(stay)
            await _decide(session, stay, DecisionEventKind.CARE_HOME_WAIT, utc(2026, 11, 10, 9))
            assert stay.id is not None
            ids[code] = stay.id
        return ids


DECISION_KINDS = {
    DecisionEventKind.CARE_HOME_WAIT: DecisionKind.CARE_HOME_WAIT,
    DecisionEventKind.HOME_GOING_SET: DecisionKind.HOME_GOING,
    DecisionEventKind.EXTENSION: DecisionKind.EXTENSION,
}


async def _decide(session: AsyncSession, stay: Stay, kind: DecisionEventKind, at: datetime) -> None:
    """As the product records a decision: the stay's current state and the event."""
    stay.decision_kind = DECISION_KINDS[kind]
    stay.waiting_care_home = kind == DecisionEventKind.CARE_HOME_WAIT
    await StayRepository(session).save(stay)
    await DecisionRepository(session).append(stay, kind, at, None)


async def _waiting(sessions: Sessions, period: Period) -> int:
    async with transaction(sessions) as session:
        report = await compute_indicators(session, period, TODAY)
    return report.total.waiting_care_home


async def test_a_past_weeks_care_home_waits_stay_as_they_were(sessions: Sessions) -> None:
    ids = await _seed(sessions)
    before = [await _waiting(sessions, week) for week in (WEEK_45, WEEK_46, WEEK_47)]
    assert before == [0, 2, 2]  # decided in week 46; both still waiting

    # Week 48: AAA-001 gets a home-going instead, and AAA-002 moves to the care home.
    async with transaction(sessions) as session:
        first = await session.get(Stay, ids["AAA-001"])
        second = await session.get(Stay, ids["AAA-002"])
        assert first is not None and second is not None
        await _decide(session, first, DecisionEventKind.HOME_GOING_SET, utc(2026, 11, 23, 9))
        second.status, second.close_reason = StayStatus.CLOSED, "care_home"
        second.departure_date = TODAY
        await StayRepository(session).save(second)

    after = [await _waiting(sessions, week) for week in (WEEK_45, WEEK_46, WEEK_47)]
    assert after == before
    assert await _waiting(sessions, iso_week_of(TODAY)) == 0  # this week: neither waits now


async def test_a_wait_ended_by_an_extension_in_the_week_is_not_waiting_at_its_end(
    sessions: Sessions,
) -> None:
    ids = await _seed(sessions)
    async with transaction(sessions) as session:
        stay = await session.get(Stay, ids["AAA-002"])
        assert stay is not None
        await _decide(session, stay, DecisionEventKind.EXTENSION, utc(2026, 11, 12, 9))
        # A care-home wait again in week 47: that week counts it, week 46 still does not.
        await _decide(session, stay, DecisionEventKind.CARE_HOME_WAIT, utc(2026, 11, 17, 9))
    assert await _waiting(sessions, WEEK_46) == 1
    assert await _waiting(sessions, WEEK_47) == 2


async def _sip(sessions: Sessions, period: Period) -> int:
    async with transaction(sessions) as session:
        report = await compute_indicators(session, period, TODAY)
    return report.total.sip_called


async def test_sip_called_stays_in_the_week_it_was_first_marked(sessions: Sessions) -> None:
    """Marked ready on Tue 10 November, unmarked and marked again in week 47: week 46 keeps
    its SIP called, and week 47 gets none (the SIP was called once)."""
    ids = await _seed(sessions)
    stay_id = ids["AAA-001"]
    steps = [
        (ReadinessStatus.READY, utc(2026, 11, 10, 10)),
        (ReadinessStatus.NOT_READY, utc(2026, 11, 17, 10)),
        (ReadinessStatus.READY, utc(2026, 11, 18, 10)),
    ]
    async with transaction(sessions) as session:
        stays = StayRepository(session)
        await stays.ensure_items(stay_id, [(ReadinessKind.SIP_CALLED, "handlaggare")])
        item = await stays.item(stay_id, ReadinessKind.SIP_CALLED)
        assert item is not None
        await stays.save_item(item, steps[0][0], None, steps[0][1])
    assert [await _sip(sessions, week) for week in (WEEK_46, WEEK_47)] == [1, 0]

    async with transaction(sessions) as session:
        stays = StayRepository(session)
        item = await stays.item(stay_id, ReadinessKind.SIP_CALLED)
        assert item is not None
        for status, at in steps[1:]:
            await stays.save_item(item, status, None, at)
    assert [await _sip(sessions, week) for week in (WEEK_46, WEEK_47)] == [1, 0]
