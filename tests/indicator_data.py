"""Hand-computed indicator fixtures shared by the indicator, digest and report tests.

Today is Monday 2026-11-23 (the ``clock`` fixture). Two units, AAA and BBB. Each stay's comment
says what it contributes; the expected figures in the tests are worked out from these by hand.
Follow-up deadlines come from the product (arrival + 7, moved back to the last working day).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import transaction
from storage.domain.payment import PaymentPolicy
from storage.models import (
    DecisionEventKind,
    HospitalWait,
    OutboxMessage,
    ReadinessEvent,
    ReadinessItem,
    Stay,
    StayStatus,
    WaitStatus,
)
from storage.repos.decisions import DecisionRepository
from storage.repos.stays import StayRepository
from storage.repos.units import UnitRepository

TODAY = date(2026, 11, 23)
POLICY = PaymentPolicy(daily_amounts={2026: 9300})


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


async def _stay(
    session: AsyncSession, unit_id: int, code: str, arrival: date, **fields: Any
) -> Stay:
    stays = StayRepository(session)
    stay = Stay(
        unit_id=unit_id,
        case_code=code,
        arrival_date=arrival,
        goal="Återhämtning",
        followup_deadline=arrival,  # the repository derives the real one
    )
    await stays.add(stay)
    for name, value in fields.items():
        setattr(stay, name, value)
    if stay.departure_date is not None:
        stay.status = StayStatus.CLOSED
    await stays.save(stay)
    if stay.decision_kind is not None and stay.decided_at is not None:  # as the product does
        kind = EVENT_KINDS[stay.decision_kind]
        await DecisionRepository(session).append(stay, kind, stay.decided_at, None)
    return stay


EVENT_KINDS = {
    "home_going": DecisionEventKind.HOME_GOING_SET,
    "extension": DecisionEventKind.EXTENSION,
    "care_home_wait": DecisionEventKind.CARE_HOME_WAIT,
    "other": DecisionEventKind.OTHER,
}


async def seed_indicator_data(sessions: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    """Create the fixture; returns the unit ids by code."""
    async with transaction(sessions) as session:
        units = UnitRepository(session)
        a, _ = await units.get_or_create("AAA", "Almens korttidsenhet")
        b, _ = await units.get_or_create("BBB", "Björkens korttidsenhet")
        assert a.id is not None and b.id is not None
        # AAA-001: arrived in Q3, deadline Mon 10-05 (Q4), held that day; left 10-10: 12 days.
        await _stay(
            session,
            a.id,
            "AAA-001",
            date(2026, 9, 28),
            followup_held_on=date(2026, 10, 5),
            departure_date=date(2026, 10, 10),
            close_reason="went_home",
        )
        # AAA-002: arrival Sat 10-24; +7 is Sat 10-31, All Saints' Day, so the deadline is Fri
        # 10-30. Held Mon 11-02: late. Still here on 11-23, 30 days: a long stay.
        await _stay(
            session, a.id, "AAA-002", date(2026, 10, 24), followup_held_on=date(2026, 11, 2)
        )
        # AAA-003: deadline Tue 11-17 (week 47) passed with no meeting: late, and overdue now.
        await _stay(session, a.id, "AAA-003", date(2026, 11, 10))
        # AAA-004: deadline Fri 11-27 still ahead, no meeting yet: not in the population.
        await _stay(session, a.id, "AAA-004", date(2026, 11, 20))
        # AAA-005: back to hospital on 11-04, before its deadline (Fri 11-06): not in the
        # follow-up population; 3 days long.
        await _stay(
            session,
            a.id,
            "AAA-005",
            date(2026, 11, 1),
            departure_date=date(2026, 11, 4),
            close_reason="hospital",
        )
        # AAA-006: held on its deadline 10-27; extended that day; still here (34 days).
        await _stay(
            session,
            a.id,
            "AAA-006",
            date(2026, 10, 20),
            followup_held_on=date(2026, 10, 27),
            decision_kind="extension",
            decided_at=utc(2026, 10, 27, 10),
        )
        # BBB-001: held on its deadline 11-09 with a home-going on Thu 11-26; the medication is
        # not ready (a readiness gap), SIP was called on 11-10.
        b1 = await _stay(
            session,
            b.id,
            "BBB-001",
            date(2026, 11, 2),
            followup_held_on=date(2026, 11, 9),
            decision_kind="home_going",
            decided_at=utc(2026, 11, 9, 12),
            home_going_date=date(2026, 11, 26),
            sip_wanted=True,
        )
        # BBB-002: Q3 deadline 09-17 held late on 09-20, waiting for a care home; left 10-05: 25
        # days.
        await _stay(
            session,
            b.id,
            "BBB-002",
            date(2026, 9, 10),
            followup_held_on=date(2026, 9, 20),
            decision_kind="care_home_wait",
            decided_at=utc(2026, 9, 20, 9),
            waiting_care_home=True,
            departure_date=date(2026, 10, 5),
            close_reason="care_home",
        )
        # BBB-003: held on its deadline 10-12, waiting for a care home, still here.
        await _stay(
            session, b.id, "BBB-003", date(2026, 10, 5),
            followup_held_on=date(2026, 10, 12), decision_kind="care_home_wait",
            decided_at=utc(2026, 10, 12, 9), waiting_care_home=True,
        )  # fmt: skip
        assert b1.id is not None
        session.add_all(
            [
                ReadinessItem(
                    stay_id=b1.id, kind="medication", status="not_ready",
                    responsible_role="sjukskoterska", updated_at=utc(2026, 11, 9, 12),
                ),
                ReadinessItem(
                    stay_id=b1.id, kind="sip_called", status="ready",
                    responsible_role="handlaggare", updated_at=utc(2026, 11, 10, 10),
                ),
                ReadinessEvent(  # as StayRepository.save_item records it
                    stay_id=b1.id, kind="sip_called", status="ready", at=utc(2026, 11, 10, 10),
                ),
                # Notified Mon 11-02 10:00: pays from Thu 11-05; left hospital 11-09: 4 days.
                HospitalWait(
                    case_code="AAA-090", expected_unit_id=a.id, notified_at=utc(2026, 11, 2, 9),
                    closed_at=utc(2026, 11, 9, 10), status=WaitStatus.ARRIVED,
                ),
                # No expected unit; pays 10-01 and 10-02 (left 10-03): only in the all-units view.
                HospitalWait(
                    case_code="XXX-091", expected_unit_id=None, notified_at=utc(2026, 9, 28, 8),
                    closed_at=utc(2026, 10, 3, 8), status=WaitStatus.OTHER,
                ),
                # Notified Fri 11-20, still waiting: pays from today, 11-23: 1 day so far.
                HospitalWait(
                    case_code="BBB-092", expected_unit_id=b.id, notified_at=utc(2026, 11, 20, 8),
                    status=WaitStatus.WAITING,
                ),
                OutboxMessage(
                    key="t:undeliverable:a", kind="nudge_followup_overdue", template="x",
                    unit_id=a.id, status="undeliverable", due_at=utc(2026, 11, 17, 7),
                ),
                OutboxMessage(
                    key="t:undeliverable:none", kind="weekly_digest", template="x",
                    unit_id=None, status="undeliverable", due_at=utc(2026, 11, 18, 7),
                ),
                # Issue 18: for staff who had not opened Korttid; counted apart from the above.
                OutboxMessage(
                    key="t:waiting:a", kind="home_going_set", template="x", unit_id=a.id,
                    status="waiting", due_at=utc(2026, 11, 18, 9),
                ),
                OutboxMessage(
                    key="t:expired:b", kind="nudge_readiness", template="x", unit_id=b.id,
                    status="expired", due_at=utc(2026, 11, 19, 7),
                ),
                OutboxMessage(
                    key="t:sent:a", kind="nudge_followup_due", template="x", unit_id=a.id,
                    status="sent", due_at=utc(2026, 11, 17, 7),
                ),
            ]
        )  # fmt: skip
        return {"AAA": a.id, "BBB": b.id}
