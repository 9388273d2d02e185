"""Demo history for the weekly digest: twelve weeks of finished stays and hospital waits.

Without a past, the digest's trend chart would be empty on a fresh demo. The stays follow a
fixed pattern (no randomness, so every demo looks alike): most follow-ups on time, some late,
lengths around the 14-day target, now and then a return to hospital or an extension, and a few
people waiting in hospital after the notice. Created once; a second seed adds nothing.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import (
    DecisionEventKind,
    DecisionKind,
    HospitalWait,
    Stay,
    StayStatus,
    WaitStatus,
)
from storage.repos.decisions import DecisionRepository
from storage.repos.stays import StayRepository
from storage.repos.units import UnitRepository
from storage.repos.waits import WaitRepository

WEEKS = 12
FIRST_NUMBER = 101


def _at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


async def seed_history(session: AsyncSession, today: date) -> int:
    """Finished stays in ÄNG and BJÖ over the last 12 weeks; returns how many were created."""
    units = UnitRepository(session)
    stays = StayRepository(session)
    created = 0
    for index, code in enumerate(("ÄNG", "BJÖ")):
        unit = await units.by_code(code)
        assert unit is not None and unit.id is not None
        if await stays.case_code_taken(unit.id, f"{code}-{FIRST_NUMBER:03d}"):
            continue  # seeded before
        number = FIRST_NUMBER
        for week in range(WEEKS, 0, -1):
            for slot in range(2):
                created += await _finished_stay(
                    stays, unit.id, f"{code}-{number:03d}", today, week, slot, index
                )
                number += 1
        created += await _waits(session, unit.id, code, today, index)
    return created


async def _finished_stay(
    stays: StayRepository, unit_id: int, code: str, today: date, week: int, slot: int, unit: int
) -> int:
    arrival = today - timedelta(days=7 * week + 12 + 3 * slot + unit)
    length = 8 + (week * 3 + slot * 5 + unit * 4) % 12  # 8 to 19 days
    departure = arrival + timedelta(days=length)
    if departure >= today:
        return 0
    stay = Stay(
        unit_id=unit_id,
        case_code=code,
        arrival_date=arrival,
        goal="Återhämtning och trygg hemgång",
        followup_deadline=arrival,  # the repository derives the real one
    )
    await stays.add(stay)
    late = (week + slot + unit) % 4 == 0
    stay.followup_held_on = stay.followup_deadline + timedelta(days=2 if late else 0)
    extended = length > 15
    stay.decision_kind = DecisionKind.EXTENSION if extended else DecisionKind.HOME_GOING
    stay.decided_at = _at(stay.followup_held_on, 10)
    stay.status = StayStatus.CLOSED
    stay.close_reason = "hospital" if (week + slot) % 7 == 0 else "went_home"
    stay.departure_date = departure
    await stays.save(stay)
    event = DecisionEventKind.EXTENSION if extended else DecisionEventKind.HOME_GOING_SET
    await DecisionRepository(stays.session).append(stay, event, stay.decided_at, None)
    return 1


async def _waits(session: AsyncSession, unit_id: int, code: str, today: date, unit: int) -> int:
    """A few people who waited in hospital past the three grace days."""
    waits = WaitRepository(session)
    for number, weeks_ago in enumerate((10 - unit, 6, 2 + unit)):
        notified = today - timedelta(days=7 * weeks_ago + 2)
        left = notified + timedelta(days=4 + (weeks_ago + unit) % 4)
        await waits.add(
            HospitalWait(
                case_code=f"{code}-{200 + number}",
                expected_unit_id=unit_id,
                notified_at=_at(notified, 9),
                status=WaitStatus.ARRIVED,
                closed_at=_at(left, 11),
            )
        )
    return 0
