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
from dialogs.stay_service import change_home_going
from notifications.notices import (
    HomeGoingChange,
    queue_care_home_task,
    queue_home_going_notice,
    queue_stay_decision_notice,
)
from storage.domain.readiness import CARE_HOME_TASK, checklist_for_stay
from storage.models import (
    DecisionEventKind,
    DecisionKind,
    FollowUpMeeting,
    MeetingCard,
    MeetingStatus,
    Role,
    Staff,
    Stay,
    StayStatus,
)
from storage.repos.decisions import DecisionRepository
from storage.repos.meeting_cards import MeetingCardRepository
from storage.repos.meetings import MeetingRepository, RunningMeeting
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
    closing_note_reset: bool = False
    decision_notices: int = 0  # coordinators told of an extension or a care home


def may_run_meetings(profile: StaffProfile, stay: Stay) -> bool:
    """Only a handläggare of the stay's unit leads its follow-up meeting."""
    return profile.has_role(Role.HANDLAGGARE) and stay.unit_id in profile.unit_ids


async def stay_for_code(session: AsyncSession, code: str, profile: StaffProfile) -> Stay | None:
    return await StayRepository(session).by_case_code(code, profile.unit_ids)


async def stay_by_id(session: AsyncSession, stay_id: int) -> Stay | None:
    return await StayRepository(session).by_id(stay_id)


async def meeting_by_id(session: AsyncSession, meeting_id: int) -> FollowUpMeeting | None:
    return await MeetingRepository(session).by_id(meeting_id)


async def running_meeting(
    session: AsyncSession, meeting_id: int, conversation_id: str
) -> RunningMeeting | None:
    """The meeting, its stay, this conversation's meeting card and the stay's standing call."""
    return await MeetingRepository(session).running(meeting_id, conversation_id)


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
    session: AsyncSession, meeting: FollowUpMeeting, stay: Stay, now: datetime, held_on: date
) -> HeldMeeting:
    """Store the meeting as held on ``held_on`` and apply its decision to the stay, in the
    turn's transaction. The decision is appended as an event; the stay's follow-up date stays
    the first meeting's."""
    final = decision_part(meeting, "final")
    assert final is not None and stay.id is not None
    kind, values = str(final["kind"]), dict(final["values"])
    had_home_going = stay.home_going_date is not None
    _apply_decision(stay, kind, values, now)
    if stay.followup_held_on is None or held_on < stay.followup_held_on:
        stay.followup_held_on = held_on  # the first held meeting counts; later ones never move it
    queued, items, reset = 0, 0, False
    if kind == DecisionKind.HOME_GOING:
        queued, items, reset = await _plan_home_going(session, stay, values, now)
    elif had_home_going and kind != DecisionKind.OTHER:
        # The notice is built from the date being cancelled, then the date is cleared.
        queued = await queue_home_going_notice(session, stay, "cancelled", now)
        _clear_home_going(stay)
        reset = await change_home_going(session, stay, None, None)
    else:
        await StayRepository(session).save(stay)
    await _append_events(session, meeting, stay, kind, values, had_home_going, now)
    told = await tell_of_decision(session, stay, kind, now)
    meeting.status = MeetingStatus.HELD
    meeting.held_at = now
    meeting.held_on = held_on
    meeting.decision = {"final": final, "draft": None}
    await save(session, meeting)
    return HeldMeeting(await coordinators_of(session, stay), queued, items, reset, told)


async def tell_of_decision(session: AsyncSession, stay: Stay, kind: str, now: datetime) -> int:
    """Besides home-going: the coordinator hears of an extension (new end date) and of a care
    home granted, and the nurse gets the task of telling the health centre (issue 17, item 7).
    Returns how many coordinators were told."""
    assert stay.id is not None
    if kind == DecisionKind.EXTENSION:
        return await queue_stay_decision_notice(session, stay, "extension", now)
    if kind != DecisionKind.CARE_HOME_WAIT:
        return 0
    await StayRepository(session).ensure_items(stay.id, CARE_HOME_TASK)
    await queue_care_home_task(session, stay, now)
    return await queue_stay_decision_notice(session, stay, "care_home_wait", now)


async def _plan_home_going(
    session: AsyncSession, stay: Stay, values: Mapping[str, Any], now: datetime
) -> tuple[int, int, bool]:
    """The decided home-going: the date (through the one place it changes), the checklist and
    the coordinators' notice. Returns (notices queued, checklist items created, note reset)."""
    assert stay.id is not None
    day, at = date.fromisoformat(values["date"]), time.fromisoformat(values["time"])
    previous = stay.home_going_date, stay.home_going_time
    change: HomeGoingChange = "changed" if previous[0] and previous != (day, at) else "set"
    reset = await change_home_going(session, stay, day, at)
    stays = StayRepository(session)
    before = len(await stays.items(stay.id))
    await stays.ensure_items(stay.id, checklist_for_stay(stay))
    items = len(await stays.items(stay.id)) - before
    queued = await queue_home_going_notice(session, stay, change, now)
    return queued, items, reset


async def _append_events(
    session: AsyncSession,
    meeting: FollowUpMeeting,
    stay: Stay,
    kind: str,
    values: Mapping[str, Any],
    had_home_going: bool,
    now: datetime,
) -> None:
    """The meeting's decision as events: a home-going set or moved, or another decision (an
    extension or a care-home wait cancels a planned home-going)."""
    events = DecisionRepository(session)

    async def append(event: DecisionEventKind, **facts: Any) -> None:
        await events.append(stay, event, now, meeting.owner_id, meeting_id=meeting.id, **facts)

    if kind == DecisionKind.HOME_GOING:
        changed = DecisionEventKind.HOME_GOING_CHANGED
        await append(
            changed if had_home_going else DecisionEventKind.HOME_GOING_SET,
            home_going_date=stay.home_going_date,
        )
        return
    if had_home_going and kind != DecisionKind.OTHER:  # "other" leaves the home-going as it is
        await append(DecisionEventKind.HOME_GOING_CANCELLED)
    if kind == DecisionKind.EXTENSION:
        await append(
            DecisionEventKind.EXTENSION,
            new_end_date=stay.decision_end_date,
            reason=stay.extension_reason,
        )
    elif kind == DecisionKind.CARE_HOME_WAIT:
        await append(DecisionEventKind.CARE_HOME_WAIT)
    else:
        await append(DecisionEventKind.OTHER, reason=stay.decision_note)


def _apply_decision(stay: Stay, kind: str, values: Mapping[str, Any], now: datetime) -> None:
    """Write the decision onto the stay, all but the home-going date (``change_home_going``)
    and the follow-up date (the first held meeting's)."""
    stay.decision_kind = kind
    stay.decided_at = now
    stay.coordination_needed = bool(values.get("coordination_needed"))
    stay.health_care_only = bool(values.get("health_care_only"))
    stay.sip_wanted = bool(values.get("sip_wanted"))
    if kind == DecisionKind.HOME_GOING:
        stay.waiting_care_home = False
        stay.transport = values["transport"]
        stay.home_help_meets = bool(values["home_help_meets"])
        stay.provider_name = values.get("provider_name")
        stay.provider_contact = values.get("provider_contact")
    elif kind == DecisionKind.EXTENSION:
        stay.decision_end_date = date.fromisoformat(values["end_date"])
        stay.extension_reason = values["reason"]
        stay.waiting_care_home = False
    elif kind == DecisionKind.CARE_HOME_WAIT:
        stay.waiting_care_home = True
    else:
        stay.decision_note = values["text"]


def _clear_home_going(stay: Stay) -> None:
    """What went with the cancelled home-going; its date goes through ``change_home_going``."""
    stay.transport = None
    stay.home_help_meets = None
    stay.provider_name = None
    stay.provider_contact = None
