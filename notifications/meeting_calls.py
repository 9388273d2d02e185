"""What a called meeting (kallelse) says: invitations, updates, cancellations and reminders.

Each goes through the outbox with a key of (call, kind, version, recipient), so every invitation,
update and cancellation reaches each person once. The reminders are level-triggered: a tick asks
``meeting_call_reminders`` what is due now (the working day before the meeting, from 14:00).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, time
from typing import Any, Literal

from sqlmodel.ext.asyncio.session import AsyncSession

from notifications.formatting import format_date, format_time
from notifications.outbox import enqueue, outbox_key
from notifications.render import Renderer
from notifications.rules import Nudge, add_working_days
from notifications.tick import NudgeSource
from notifications.timing import at_local, local_date, start_of
from storage.models import CallAnswer, MeetingCall, Role, Stay
from storage.repos.meeting_calls import MeetingCallRepository
from storage.repos.outbox import OutboxRepository
from storage.repos.staff import StaffRepository
from storage.repos.stays import StayRepository

CALL_NOTICE = "meeting_call_notice"
CALL_ABSENT = "meeting_call_absent"
CallNoticeKind = Literal["invite", "update", "cancel", "reminder"]
NOTICE_KINDS = ("meeting_call_invite", "meeting_call_update")
REMINDER_KIND = "nudge_meeting_call_reminder"
ABSENT_KIND = "nudge_meeting_call_absent"
REMINDER_TIME = time(14, 0)
LICENSED_ROLES = frozenset({Role.SJUKSKOTERSKA.value, Role.REHAB.value})
TEAMS_LINK_PREFIXES = ("https://teams.microsoft.com/", "https://teams.live.com/")


def is_teams_link(text: str | None) -> bool:
    return bool(text) and str(text).startswith(TEAMS_LINK_PREFIXES)


def call_payload(
    renderer: Renderer, call: MeetingCall, stay: Stay, called: Sequence[str]
) -> dict[str, Any]:
    """The meeting as every card about it shows it; no person in care is named, only the code."""
    return {
        "call_id": call.id,
        "stay_id": stay.id,
        "version": call.version,
        "case_code": stay.case_code,
        "room": stay.room,
        "date": call.meeting_date.isoformat(),
        "date_text": format_date(call.meeting_date),
        "time": format_time(call.meeting_time),
        "form": call.form,
        "form_text": str(renderer.catalogue["meeting_forms"][call.form]),
        "place": None if is_teams_link(call.place) else call.place,
        "link": call.place if is_teams_link(call.place) else None,
        "called": list(called),
    }


async def queue_call_notice(
    session: AsyncSession,
    *,
    call: MeetingCall,
    stay: Stay,
    recipient_id: int,
    kind: CallNoticeKind,
    payload: Mapping[str, Any],
    now: datetime,
) -> bool:
    """One card to one called person, once per (call, kind, version)."""
    assert call.id is not None and stay.id is not None
    return await enqueue(
        session,
        key=outbox_key("meeting_call", call.id, kind, call.version, recipient_id),
        kind=f"meeting_call_{kind}",
        template=CALL_NOTICE,
        payload={**payload, "kind": kind},
        due_at=now,
        recipient_staff_id=recipient_id,
        stay_id=stay.id,
        unit_id=stay.unit_id,
    )


async def withdraw_unsent_notices(session: AsyncSession, stay_id: int) -> int:
    """An invitation or update not yet delivered is replaced by the newer one."""
    return await OutboxRepository(session).withdraw(stay_id, NOTICE_KINDS)


def meeting_call_reminders(renderer: Renderer) -> NudgeSource:
    """The tick's source of call reminders (DOMAIN.md: the working day before, 14:00)."""

    async def source(session: AsyncSession, now: datetime) -> Sequence[Nudge]:
        today = local_date(now)
        calls = await MeetingCallRepository(session).called_between(
            today, add_working_days(today, 5)
        )
        nudges: list[Nudge] = []
        for call in calls:
            day = add_working_days(call.meeting_date, -1)
            due_at = at_local(day, REMINDER_TIME)
            if due_at <= now < start_of(call.meeting_date):
                nudges += await _reminders_for(session, renderer, call, day, due_at)
        return nudges

    return source


async def _reminders_for(
    session: AsyncSession, renderer: Renderer, call: MeetingCall, day: Any, due_at: datetime
) -> list[Nudge]:
    assert call.id is not None
    stay = await StayRepository(session).by_id(call.stay_id)
    if stay is None or stay.id is None:
        return []
    repo = MeetingCallRepository(session)
    participants = await repo.participants(call.id)
    authors = {row.author_id for row in await repo.underlag(call.id)}
    staff = StaffRepository(session)
    called = [await _called_line(renderer, staff, p.staff_id, p.role) for p in participants]
    base = call_payload(renderer, call, stay, called)
    payload = {**base, "kind": "reminder", "changes": [], "own_step": None}

    def nudge(kind: str, recipient: int, template: str, values: dict[str, Any]) -> Nudge:
        assert stay is not None and stay.id is not None
        return Nudge(kind, stay.id, stay.unit_id, recipient, day, due_at, template, values)

    found = [
        nudge(REMINDER_KIND, p.staff_id, CALL_NOTICE, payload)
        for p in participants
        if p.answer is None and p.staff_id not in authors
    ]
    absent = [
        {"who": await _called_line(renderer, staff, p.staff_id, p.role), "reason": p.reason}
        for p in participants
        if p.role in LICENSED_ROLES and p.answer == CallAnswer.NOT_COMING
    ]
    if absent:
        found.append(
            nudge(ABSENT_KIND, call.called_by_id, CALL_ABSENT, {**payload, "absent": absent})
        )
    return found


async def _called_line(renderer: Renderer, staff: StaffRepository, staff_id: int, role: str) -> str:
    member = await staff.by_id(staff_id)
    name = member.name if member else renderer.text("a_colleague")
    return f"{name} ({renderer.role_name(role).lower()})"
