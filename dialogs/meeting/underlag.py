"""A called participant answers (``kommer KOD``, ``kan inte KOD skäl``, or the invitation's
buttons) and gives underlag for their own agenda step (``underlag KOD``, or "Lämna underlag").

Underlag can be changed until the meeting is held. A handläggare of the unit may give it for a
step on someone's behalf (``underlag KOD 4``), and that is recorded. Every answer and underlag is
audited; a card pressed after the meeting was cancelled or held changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from dialogs.meeting import calls
from dialogs.meeting.agenda import AgendaStep, default_agenda
from dialogs.stay_cards import stay_for_code
from dialogs.turn import Turn
from notifications.formatting import format_date, format_time
from storage.domain.pnr import contains_personal_number
from storage.models import CallAnswer, CallStatus, MeetingCall, MeetingUnderlag, Role, Stay
from storage.repos.meeting_calls import MeetingCallRepository
from storage.repos.stays import StayRepository

UNDERLAG_TEMPLATE = "meeting_underlag"
NOTE_LIMIT = 500
REASON_LIMIT = 200
_TYPED = re.compile(
    r"^(?:steg\s*(?P<step>\d+)\s*)?(?P<numbers>[\d\s,]*?)\s*(?::\s*(?P<note>.*))?$", re.S
)


# --- answers -----------------------------------------------------------------------------------


# Who is called to a meeting and may answer or give underlag: the handläggare and the professions.
CALLED_ROLES: tuple[str, ...] = (Role.HANDLAGGARE, *calls.STEP_ROLES)


async def _role_refused(turn: Turn) -> bool:
    if turn.profile.has_role(*CALLED_ROLES):
        return False
    names = ", ".join(turn.renderer.role_name(role).lower() for role in CALLED_ROLES)
    await turn.say("not_allowed", roles=names)
    await turn.audit("meeting_call.access_refused", detail={"reason": "role"})
    return True


async def answer_action(turn: Turn, value: Mapping[str, Any]) -> None:
    if await _role_refused(turn):
        return
    found = await _called(turn, await _call_from(turn, value))
    if found is None:
        return
    answer = str(value.get("answer") or "")
    if answer not in (CallAnswer.COMING, CallAnswer.NOT_COMING):
        await turn.say("call_answer_unknown")
        return
    await _answer(turn, *found, answer, str(value.get("reason") or "").strip())


async def coming_command(turn: Turn, match: re.Match[str]) -> None:
    found = await _called_by_code(turn, match, "call_coming_usage")
    if found is not None:
        await _answer(turn, *found, CallAnswer.COMING, "")


async def not_coming_command(turn: Turn, match: re.Match[str]) -> None:
    found = await _called_by_code(turn, match, "call_not_coming_usage")
    if found is not None:
        reason = (match.groupdict().get("reason") or "").strip()
        await _answer(turn, *found, CallAnswer.NOT_COMING, reason)


async def _answer(turn: Turn, call: MeetingCall, stay: Stay, answer: str, reason: str) -> None:
    if contains_personal_number(reason):
        await turn.say("personal_number_refused")
        return
    if len(reason) > REASON_LIMIT:
        await turn.say("call_reason_too_long", max=REASON_LIMIT)
        return
    repo = MeetingCallRepository(turn.session)
    row = await repo.participant(_id(call), turn.profile.id)
    assert row is not None
    row.answer = answer
    row.reason = (reason or None) if answer == CallAnswer.NOT_COMING else None
    row.answered_at = turn.clock.now()
    await repo.save_participant(row)
    await turn.audit(
        "meeting_call.answer",
        stay_id=stay.id,
        detail={"call_id": call.id, "answer": answer, "with_reason": bool(row.reason)},
    )
    when = {"date": format_date(call.meeting_date), "time": format_time(call.meeting_time)}
    await turn.say(f"call_answered_{answer}", code=stay.case_code, **when)


async def _call_from(turn: Turn, value: Mapping[str, Any]) -> MeetingCall | None:
    try:
        return await MeetingCallRepository(turn.session).by_id(int(value.get("call_id") or 0))
    except (TypeError, ValueError):
        return None


async def _called_by_code(
    turn: Turn, match: re.Match[str], usage: str
) -> tuple[MeetingCall, Stay] | None:
    """The standing call of a typed code, when this person is called to it."""
    stay = await stay_for_code(turn, match.groupdict().get("code"), usage)
    if stay is None or stay.id is None:
        return None
    call = await MeetingCallRepository(turn.session).called_for_stay(stay.id)
    if call is None:
        await turn.say("call_none_for_you", code=stay.case_code)
        return None
    return await _checked(turn, call, stay)


async def _called(turn: Turn, call: MeetingCall | None) -> tuple[MeetingCall, Stay] | None:
    """A card's call, when it still stands and this person is called to it; else say why not."""
    stay = await StayRepository(turn.session).by_id(call.stay_id) if call else None
    if call is None or stay is None or stay.unit_id not in turn.profile.unit_ids:
        await _refuse(turn, call, stay)
        return None
    return await _checked(turn, call, stay)


async def _checked(turn: Turn, call: MeetingCall, stay: Stay) -> tuple[MeetingCall, Stay] | None:
    if call.status != CallStatus.CALLED:
        await turn.say(f"call_already_{call.status}", code=stay.case_code)
        return None
    row = await MeetingCallRepository(turn.session).participant(_id(call), turn.profile.id)
    if row is None or not row.active:
        await turn.say("call_not_called", code=stay.case_code)
        return None
    return call, stay


async def _refuse(turn: Turn, call: MeetingCall | None, stay: Stay | None) -> None:
    await turn.say("stay_refused")
    await turn.audit(
        "meeting_call.access_refused",
        stay_id=stay.id if stay else None,
        detail={"call_id": call.id if call else None},
    )


def _id(call: MeetingCall) -> int:
    assert call.id is not None
    return call.id


# --- underlag ----------------------------------------------------------------------------------


async def underlag_command(turn: Turn, match: re.Match[str]) -> None:
    """``underlag KOD`` shows the card; ``underlag KOD 1 3: anteckning`` saves at once;
    a handläggare names the step: ``underlag KOD steg 4``."""
    stay = await stay_for_code(turn, match.groupdict().get("code"), "underlag_usage")
    if stay is None or stay.id is None:
        return
    call = await MeetingCallRepository(turn.session).called_for_stay(stay.id)
    if call is None:
        await turn.say("underlag_no_call", code=stay.case_code)
        return
    typed = _TYPED.match((match.groupdict().get("rest") or "").strip())
    if typed is None:
        await turn.say("underlag_typed_invalid", code=stay.case_code)
        return
    step = await _step_for(turn, stay, typed.group("step"))
    if step is None:
        return
    numbers = [int(n) for n in re.findall(r"\d+", typed.group("numbers") or "")]
    if not numbers and typed.group("note") is None:
        await _show(turn, call, stay, step)
        return
    if any(not 1 <= n <= len(step.topics) for n in numbers):
        await turn.say("underlag_numbers_invalid", count=len(step.topics))
        return
    topics = [step.topics[n - 1].id for n in sorted(set(numbers))]
    await _save(turn, call, stay, step, topics, (typed.group("note") or "").strip())


async def underlag_action(turn: Turn, value: Mapping[str, Any]) -> None:
    """The invitation's "Lämna underlag": the card for the person's own step."""
    if await _role_refused(turn):
        return
    call = await _call_from(turn, value)
    stay = await StayRepository(turn.session).by_id(call.stay_id) if call else None
    if call is None or stay is None or stay.unit_id not in turn.profile.unit_ids:
        await _refuse(turn, call, stay)
        return
    step = await _step_for(turn, stay, None)
    if step is not None and await _open(turn, call, stay):
        await _show(turn, call, stay, step)


async def save_action(turn: Turn, value: Mapping[str, Any]) -> None:
    if await _role_refused(turn):
        return
    call = await _call_from(turn, value)
    stay = await StayRepository(turn.session).by_id(call.stay_id) if call else None
    if call is None or stay is None or stay.unit_id not in turn.profile.unit_ids:
        await _refuse(turn, call, stay)
        return
    step = next((s for s in default_agenda().steps if s.id == value.get("step_id")), None)
    if step is None or not _may_write(turn, step):
        await turn.say("underlag_wrong_step")
        await turn.audit(
            "meeting_call.underlag_refused",
            stay_id=stay.id,
            detail={"call_id": call.id, "step_id": str(value.get("step_id"))[:32]},
        )
        return
    topics = [t.id for t in step.topics if str(value.get(f"topic_{t.id}")) == "true"]
    await _save(turn, call, stay, step, topics, str(value.get("note") or "").strip())


def _may_write(turn: Turn, step: AgendaStep) -> bool:
    role = calls.role_for_step(step.id)
    if role is None:
        return False
    return role in turn.profile.roles or turn.profile.has_role(Role.HANDLAGGARE)


async def _step_for(turn: Turn, stay: Stay, number: str | None) -> AgendaStep | None:
    """The step this person writes for: their own, or the one a handläggare names."""
    agenda = default_agenda()
    if number is not None:
        step = agenda.step(int(number)) if number.isdigit() else None
        if step is None or int(number) != step.number or not _may_write(turn, step):
            await turn.say("underlag_wrong_step")
            return None
        return step
    role = calls.own_role(turn.profile.roles)
    if role is None:
        if turn.profile.has_role(Role.HANDLAGGARE):
            await turn.say("underlag_which_step", code=stay.case_code)
        else:
            await turn.say("underlag_no_step")
        return None
    return calls.step_for_role(role)


async def _open(turn: Turn, call: MeetingCall, stay: Stay) -> bool:
    if call.status != CallStatus.CALLED:
        await turn.say(f"call_already_{call.status}", code=stay.case_code)
        return False
    return True


async def _show(turn: Turn, call: MeetingCall, stay: Stay, step: AgendaStep) -> None:
    row = await MeetingCallRepository(turn.session).underlag_for_step(_id(call), step.id)
    marked = set(row.topics) if row else set()
    role = calls.role_for_step(step.id) or ""
    saved = None
    if row is not None:
        saved = turn.renderer.text("underlag_saved_at", at=calls.local_time_text(row.updated_at))
    await turn.show_card(
        UNDERLAG_TEMPLATE,
        call_id=call.id,
        case_code=stay.case_code,
        date_text=format_date(call.meeting_date),
        step=step.number,
        step_id=step.id,
        title=step.title,
        on_behalf=role not in turn.profile.roles,
        role_name=turn.renderer.role_name(role).lower(),
        saved_line=saved,
        topics=[
            {"id": t.id, "text": t.text, "value": "true" if t.id in marked else "false"}
            for t in step.topics
        ],
        note=row.note if row and row.note else "",
    )


async def _save(
    turn: Turn, call: MeetingCall, stay: Stay, step: AgendaStep, topics: Sequence[str], note: str
) -> None:
    if not await _open(turn, call, stay):
        return
    if contains_personal_number(note):
        await turn.say("personal_number_refused")
        return
    if len(note) > NOTE_LIMIT:
        await turn.say("meeting_note_too_long", length=len(note), max=NOTE_LIMIT)
        return
    assert stay.id is not None
    role = calls.role_for_step(step.id) or ""
    repo = MeetingCallRepository(turn.session)
    row = await repo.underlag_for_step(_id(call), step.id)
    changed = row is not None
    if row is None:
        row = MeetingUnderlag(
            call_id=_id(call), stay_id=stay.id, step_id=step.id, author_id=turn.profile.id,
            author_role=role,
        )  # fmt: skip
    row.topics = list(topics)
    row.note = note or None
    row.author_id = turn.profile.id
    row.author_role = role
    row.on_behalf = role not in turn.profile.roles
    await repo.save_underlag(row)
    await turn.audit(
        "meeting_call.underlag",
        stay_id=stay.id,
        detail={
            "call_id": call.id,
            "step_id": step.id,
            "topics": list(topics),
            "on_behalf": row.on_behalf,
            "changed": changed,
        },
    )
    await turn.say(
        "underlag_saved",
        code=stay.case_code,
        step=step.number,
        count=len(topics),
        date=format_date(call.meeting_date),
    )
