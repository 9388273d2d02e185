"""The follow-up meeting's facts: opening, recording steps, and applying the decision when held.

Everything here works on the turn's session through repositories and only flushes; the turn
commits once, so the meeting, the stay, the checklist and the coordinator's outbox row are written
together or not at all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from dialogs.meeting.agenda import AgendaStep
from notifications.notices import HomeGoingChange, queue_home_going_notice
from storage.domain.readiness import checklist_for
from storage.models import (
    DecisionKind,
    FollowUpMeeting,
    MeetingCard,
    MeetingStatus,
    Role,
    Staff,
    Stay,
    StayStatus,
)
from storage.repos.meeting_cards import MeetingCardRepository
from storage.repos.meetings import MeetingRepository
from storage.repos.staff import StaffProfile, StaffRepository
from storage.repos.stays import StayRepository

STEP_DONE = "done"
STEP_SKIPPED = "skipped"
STEP_OPEN = "open"


@dataclass(frozen=True, slots=True)
class HeldMeeting:
    """What holding the meeting changed, for the handläggare's confirmation."""

    coordinators: Sequence[Staff]
    notices_queued: int
    checklist_items: int


def may_run_meetings(profile: StaffProfile, stay: Stay) -> bool:
    """Only a handläggare of the stay's unit leads its follow-up meeting."""
    return profile.has_role(Role.HANDLAGGARE) and stay.unit_id in profile.unit_ids


async def stay_for_code(session: AsyncSession, code: str, profile: StaffProfile) -> Stay | None:
    return await StayRepository(session).by_case_code(code, profile.unit_ids)


async def stay_by_id(session: AsyncSession, stay_id: int) -> Stay | None:
    return await StayRepository(session).by_id(stay_id)


async def meeting_by_id(session: AsyncSession, meeting_id: int) -> FollowUpMeeting | None:
    return await MeetingRepository(session).by_id(meeting_id)


async def open_meeting(session: AsyncSession, stay: Stay) -> FollowUpMeeting | None:
    assert stay.id is not None
    return await MeetingRepository(session).in_progress_for_stay(stay.id)


async def start_meeting(
    session: AsyncSession, stay: Stay, profile: StaffProfile, now: datetime
) -> FollowUpMeeting:
    assert stay.id is not None and stay.status == StayStatus.ACTIVE
    meeting = FollowUpMeeting(
        stay_id=stay.id,
        started_by_id=profile.id,
        owner_id=profile.id,
        current_step=1,
        participants=[Role.HANDLAGGARE.value],
        steps={},
        decision=None,
        started_at=now,
        updated_at=now,
    )
    return await MeetingRepository(session).add(meeting)


async def card_in(session: AsyncSession, conversation_id: str) -> MeetingCard | None:
    """The conversation's live meeting card (issue 16), if a meeting was opened there."""
    return await MeetingCardRepository(session).for_conversation(conversation_id)


async def open_card(
    session: AsyncSession,
    conversation_id: str,
    meeting_id: int,
    *,
    shared: bool,
    member_ids: Sequence[str],
) -> None:
    await MeetingCardRepository(session).open_in(
        conversation_id, meeting_id, shared=shared, member_ids=member_ids
    )


async def staff_name(session: AsyncSession, staff_id: int) -> str | None:
    """The staff member's name; None when they are no longer in the registry."""
    staff = await StaffRepository(session).by_id(staff_id)
    return staff.name if staff else None


async def take_over(session: AsyncSession, meeting: FollowUpMeeting, profile: StaffProfile) -> int:
    """Make this handläggare the owner; returns the previous owner's id."""
    previous = meeting.owner_id
    meeting.owner_id = profile.id
    await save(session, meeting)
    return previous


async def save(session: AsyncSession, meeting: FollowUpMeeting) -> None:
    await MeetingRepository(session).save(meeting)


def step_record(meeting: FollowUpMeeting, step: AgendaStep) -> dict[str, Any]:
    record = meeting.steps.get(step.id)
    return dict(record) if isinstance(record, Mapping) else {}


def record_step(
    meeting: FollowUpMeeting,
    step: AgendaStep,
    *,
    covered: Sequence[str] | None = None,
    note: str | None = None,
    status: str | None = None,
) -> None:
    """Update what is known about one step; ``None`` leaves a part as it was."""
    record = step_record(meeting, step)
    if covered is not None:
        allowed = set(step.topic_ids())
        record["covered"] = [topic for topic in step.topic_ids() if topic in set(covered) & allowed]
    if note is not None:
        record["note"] = note or None
    if status is not None:
        record["status"] = status
    record.setdefault("status", STEP_OPEN)
    meeting.steps = {**meeting.steps, step.id: record}


def decision_part(meeting: FollowUpMeeting, part: str) -> dict[str, Any] | None:
    """The ``final`` (recorded) or ``draft`` (being filled in) part of the meeting's decision."""
    value = (meeting.decision or {}).get(part)
    return dict(value) if isinstance(value, Mapping) else None


def set_decision_part(meeting: FollowUpMeeting, part: str, value: dict[str, Any] | None) -> None:
    meeting.decision = {**(meeting.decision or {}), part: value}


async def cancel_meeting(session: AsyncSession, meeting: FollowUpMeeting) -> None:
    """Cancelled: what was noted is removed, nothing reaches the stay."""
    meeting.status = MeetingStatus.CANCELLED
    meeting.steps = {}
    meeting.decision = None
    await save(session, meeting)


async def coordinators_of(session: AsyncSession, stay: Stay) -> Sequence[Staff]:
    return await StaffRepository(session).in_unit_with_role(stay.unit_id, Role.KOORDINATOR)


async def hold_meeting(
    session: AsyncSession, meeting: FollowUpMeeting, stay: Stay, now: datetime, today: date
) -> HeldMeeting:
    """Store the meeting as held and apply its decision to the stay, in the turn's transaction."""
    final = decision_part(meeting, "final")
    assert final is not None and stay.id is not None
    kind, values = str(final["kind"]), dict(final["values"])
    change = _apply_decision(stay, kind, values, now, today)
    stays = StayRepository(session)
    queued = 0
    if change == "cancelled":  # the notice is built from the date being cancelled, then cleared
        queued = await queue_home_going_notice(session, stay, "cancelled", now)
        _clear_home_going(stay)
    await stays.save(stay)
    items = 0
    if kind == DecisionKind.HOME_GOING:
        before = len(await stays.items(stay.id))
        await stays.ensure_items(stay.id, checklist_for(bool(stay.sip_wanted)))
        items = len(await stays.items(stay.id)) - before
        if change is not None:
            queued = await queue_home_going_notice(session, stay, change, now)
    meeting.status = MeetingStatus.HELD
    meeting.held_at = now
    meeting.decision = {"final": final, "draft": None}
    await save(session, meeting)
    return HeldMeeting(await coordinators_of(session, stay), queued, items)


def _apply_decision(
    stay: Stay, kind: str, values: Mapping[str, Any], now: datetime, today: date
) -> HomeGoingChange | None:
    """Write the decision onto the stay; returns the home-going change the coordinator hears of."""
    had_home_going = stay.home_going_date is not None
    previous = (stay.home_going_date, stay.home_going_time)
    stay.followup_held_on = today
    stay.decision_kind = kind
    stay.decided_at = now
    stay.coordination_needed = bool(values.get("coordination_needed"))
    stay.sip_wanted = bool(values.get("sip_wanted"))
    if kind == DecisionKind.HOME_GOING:
        stay.waiting_care_home = False
        stay.home_going_date = date.fromisoformat(values["date"])
        stay.home_going_time = time.fromisoformat(values["time"])
        stay.transport = values["transport"]
        stay.home_help_meets = bool(values["home_help_meets"])
        stay.provider_name = values.get("provider_name")
        stay.provider_contact = values.get("provider_contact")
        unchanged = previous == (stay.home_going_date, stay.home_going_time)
        return "changed" if had_home_going and not unchanged else "set"
    if kind == DecisionKind.EXTENSION:
        stay.decision_end_date = date.fromisoformat(values["end_date"])
        stay.extension_reason = values["reason"]
        stay.waiting_care_home = False
    elif kind == DecisionKind.CARE_HOME_WAIT:
        stay.waiting_care_home = True
    else:
        stay.decision_note = values["text"]
        return None
    return "cancelled" if had_home_going else None


def _clear_home_going(stay: Stay) -> None:
    stay.home_going_date = None
    stay.home_going_time = None
    stay.transport = None
    stay.home_help_meets = None
    stay.provider_name = None
    stay.provider_contact = None
