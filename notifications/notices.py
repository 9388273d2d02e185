"""Notices that follow directly from a fact changing: the coordinator hears of every home-going."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Literal

from sqlmodel.ext.asyncio.session import AsyncSession

from notifications.formatting import format_date
from notifications.outbox import enqueue, outbox_key
from storage.models import Role, Stay
from storage.repos.staff import StaffRepository

HomeGoingChange = Literal["set", "changed", "cancelled", "reminder"]
HOME_GOING_NOTICE = "home_going_notice"
# A decision the coordinator plans beds by (issue 17, item 7): a care-home wait, a stay closed to
# a care home, an extension with its new end date.
StayDecisionEvent = Literal["care_home_wait", "care_home_closed", "extension"]
STAY_DECISION_NOTICE = "stay_decision_notice"
CARE_HOME_TASK_NOTICE = "care_home_task_notice"


def home_going_payload(stay: Stay, change: HomeGoingChange) -> dict[str, object]:
    """What the coordinator needs (seed 001): date, time, transport, home help, provider contact."""
    return {
        "change": change,
        "case_code": stay.case_code,
        "room": stay.room,
        "date": stay.home_going_date.isoformat() if stay.home_going_date else None,
        "date_text": format_date(stay.home_going_date) if stay.home_going_date else None,
        "time": stay.home_going_time.strftime("%H:%M") if stay.home_going_time else None,
        "transport": stay.transport,
        "home_help_meets": stay.home_help_meets,
        "provider_name": stay.provider_name,
        "provider_contact": stay.provider_contact,
        "stay_id": stay.id,
    }


async def queue_home_going_notice(
    session: AsyncSession, stay: Stay, change: HomeGoingChange, now: datetime
) -> int:
    """One outbox row per coordinator of the stay's unit; returns how many were queued."""
    assert stay.id is not None
    payload = home_going_payload(stay, change)
    coordinators = await StaffRepository(session).in_unit_with_role(stay.unit_id, Role.KOORDINATOR)
    queued = 0
    for coordinator in coordinators:
        key = outbox_key(
            "home_going", stay.id, change, payload["date"], payload["time"], coordinator.id
        )
        queued += await enqueue(
            session,
            key=key,
            kind=f"home_going_{change}",
            template=HOME_GOING_NOTICE,
            payload=payload,
            due_at=now,
            recipient_staff_id=coordinator.id,
            stay_id=stay.id,
            unit_id=stay.unit_id,
        )
    return queued


async def queue_stay_decision_notice(
    session: AsyncSession, stay: Stay, event: StayDecisionEvent, now: datetime
) -> int:
    """One outbox row per coordinator of the stay's unit; returns how many were queued."""
    assert stay.id is not None
    end = stay.decision_end_date
    payload = {
        "event": event,
        "case_code": stay.case_code,
        "room": stay.room,
        "end_date": end.isoformat() if end else None,
        "end_text": format_date(end) if end else None,
        "stay_id": stay.id,
    }
    staff = StaffRepository(session)
    coordinators = await staff.in_unit_with_role(stay.unit_id, Role.KOORDINATOR)
    return await _queue_each(
        session,
        stay,
        [c.id for c in coordinators],
        f"stay_{event}",
        STAY_DECISION_NOTICE,
        payload,
        now,
    )


async def queue_care_home_task(session: AsyncSession, stay: Stay, now: datetime) -> int:
    """The nurse's task: tell the health centre of the care home (seed 003). To the stay's
    nurse, else every nurse of the unit."""
    assert stay.id is not None
    nurses: list[int | None] = [stay.nurse_id]
    if stay.nurse_id is None:
        found = await StaffRepository(session).in_unit_with_role(stay.unit_id, Role.SJUKSKOTERSKA)
        nurses = [nurse.id for nurse in found]
    payload = {
        "case_code": stay.case_code,
        "room": stay.room,
        "closed": stay.status != "active",
        "stay_id": stay.id,
    }
    return await _queue_each(
        session, stay, nurses, "care_home_task", CARE_HOME_TASK_NOTICE, payload, now
    )


async def _queue_each(
    session: AsyncSession,
    stay: Stay,
    recipients: list[int | None],
    kind: str,
    template: str,
    payload: Mapping[str, object],
    now: datetime,
) -> int:
    """One row per recipient, keyed by the stay, the kind and the end date: once per fact."""
    queued = 0
    for recipient in recipients:
        if recipient is None:
            continue
        queued += await enqueue(
            session,
            key=outbox_key(kind, stay.id, payload.get("end_date") or "once", recipient),
            kind=kind,
            template=template,
            payload=dict(payload),
            due_at=now,
            recipient_staff_id=recipient,
            stay_id=stay.id,
            unit_id=stay.unit_id,
        )
    return queued


MEETING_TAKEN_OVER_NOTICE = "meeting_taken_over_notice"


async def queue_takeover_notice(
    session: AsyncSession,
    *,
    meeting_id: int,
    stay: Stay,
    previous_owner_id: int,
    new_owner_name: str,
    step: int,
    total: int,
    now: datetime,
) -> bool:
    """Tell the handläggare whose meeting a colleague took over, with a button to take it back."""
    assert stay.id is not None
    return await enqueue(
        session,
        key=outbox_key("meeting_taken_over", meeting_id, previous_owner_id, now.isoformat()),
        kind="meeting_taken_over",
        template=MEETING_TAKEN_OVER_NOTICE,
        payload={
            "meeting_id": meeting_id,
            "case_code": stay.case_code,
            "new_owner_name": new_owner_name,
            "step": step,
            "total": total,
        },
        due_at=now,
        recipient_staff_id=previous_owner_id,
        stay_id=stay.id,
        unit_id=stay.unit_id,
    )


MEETING_SUMMARY_NOTICE = "meeting_summary_notice"


async def queue_meeting_summary(
    session: AsyncSession,
    *,
    meeting_id: int,
    stay: Stay,
    owner_id: int,
    summary: str,
    now: datetime,
) -> bool:
    """A meeting held in a shared chat: the summary to paste goes to the owner alone (issue 16)."""
    assert stay.id is not None
    lines = [line.strip() for line in summary.splitlines() if line.strip()]
    return await enqueue(
        session,
        key=outbox_key("meeting_summary", meeting_id, owner_id),
        kind="meeting_summary",
        template=MEETING_SUMMARY_NOTICE,
        payload={"case_code": stay.case_code, "summary": "\n".join(lines), "lines": lines},
        due_at=now,
        recipient_staff_id=owner_id,
        stay_id=stay.id,
        unit_id=stay.unit_id,
    )
