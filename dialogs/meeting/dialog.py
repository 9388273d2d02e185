"""The follow-up meeting (uppföljningsmöte), walked step by step through the agenda of seed 001.

``FollowUpMeetingDialog`` is a ComponentDialog whose one inner dialog loops over the agenda. The
position is not a waterfall index: it is ``FollowUpMeeting.current_step`` in the meeting row, and
the dialog state holds only the meeting's id. So a step can be re-entered, the agenda can change,
and a meeting resumes where it stopped after a restart, in another conversation or on another
device, and for a colleague who takes it over.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from botbuilder.core import MessageFactory, TurnContext
from botbuilder.dialogs import (
    ComponentDialog,
    Dialog,
    DialogContext,
    DialogInstance,
    DialogTurnResult,
    DialogTurnStatus,
)
from botbuilder.schema import Activity, TextFormatTypes

from dialogs.commands import GROUP, TEAM, match_command
from dialogs.meeting import calls, service, shared
from dialogs.meeting.agenda import Agenda, AgendaStep, StepKind, default_agenda
from dialogs.meeting.decision import (
    FIELDS,
    DecisionContext,
    is_afternoon,
    is_optional,
    next_missing,
    parse_field,
    parse_form,
    parse_held_on,
    parse_kind,
    without_coordination,
)
from dialogs.meeting.inputs import (
    Change,
    Move,
    Submitted,
    Typed,
    is_yes,
    read_participant_change,
    read_submitted,
)
from dialogs.meeting.inputs import read_typed as read_typed_move
from dialogs.meeting.notes import merged_note
from dialogs.meeting.views import (
    DECISION_TEMPLATE,
    STEP_TEMPLATE,
    TAKEOVER_TEMPLATE,
    MeetingView,
    decision_form,
    decision_line,
    field_question,
    meeting_summary,
    step_card,
    step_line,
)
from dialogs.parsing import InvalidInput
from dialogs.reach import Reach, reach_of, waiting_lines
from dialogs.turn import Turn
from notifications.formatting import format_date
from notifications.given import afternoon_note_given
from notifications.meeting_summary import render_meeting_summary
from notifications.notices import queue_meeting_summary, queue_takeover_notice
from storage.domain.clock import local_today
from storage.domain.pnr import contains_personal_number
from storage.models import (
    DecisionKind,
    FollowUpMeeting,
    MeetingCard,
    MeetingStatus,
    Role,
    Stay,
    StayStatus,
)
from storage.repos.meetings import RunningMeeting
from storage.repos.units import UnitRepository

MEETING_DIALOG_ID = "followup_meeting_v1"
AGENDA_LOOP_ID = "followup_meeting_v1.agenda"
MEETING_ACTION = "meeting"  # a step card's buttons
START_ACTION = "meeting_start"  # {"stay_id": ...}: e.g. a button on a stay's card
TAKEOVER_ACTION = shared.TAKEOVER_VERB  # {"meeting_id": ...}: Action.Execute, or an old Submit
NOTE_LIMIT = 500
_REDIRECTED_COMMANDS = frozenset({"meeting_start", "meeting_takeover"})


# --- entry points: commands and card actions ---------------------------------------------------


async def start_command(turn: Turn, match: re.Match[str]) -> None:
    """``uppföljning KOD``: start the stay's meeting, resume it, or say who has it open."""
    code = match.group("code")
    if turn.scope == TEAM:
        await turn.say("meeting_personal_only")
        return
    if not code:
        await turn.say("meeting_usage", example=await _example_code(turn))
        return
    stay = await service.stay_for_code(turn.session, code, turn.profile)
    if not await _chat_allows(turn, stay):
        return
    await _open_for_stay(turn, stay, code)


async def start_action(turn: Turn, value: Mapping[str, Any]) -> None:
    stay = await _stay_from(turn, value.get("stay_id"))
    if stay is None or not service.may_run_meetings(turn.profile, stay):
        await _refuse_card(turn, START_ACTION, "stay_id", value, stay)
        return
    if not await _chat_allows(turn, stay):  # e.g. "Starta i chatten" pressed in a group
        return
    await _open_for_stay(turn, stay, stay.case_code)


async def takeover_command(turn: Turn, match: re.Match[str]) -> None:
    """``ta över KOD``: continue a meeting a colleague has open."""
    code = match.group("code")
    if turn.scope == TEAM:
        await turn.say("meeting_personal_only")
        return
    if not code:
        await turn.say("meeting_takeover_usage", example=await _example_code(turn))
        return
    stay = await service.stay_for_code(turn.session, code, turn.profile)
    if not await _chat_allows(turn, stay):
        return
    await _take_over_stay(turn, stay, code)


async def takeover_action(turn: Turn, value: Mapping[str, Any]) -> None:
    meeting = await _meeting_from(turn, value.get("meeting_id"))
    stay = await service.stay_by_id(turn.session, meeting.stay_id) if meeting else None
    if stay is None or not service.may_run_meetings(turn.profile, stay):
        await _refuse_card(turn, TAKEOVER_ACTION, "meeting_id", value, stay)
        return
    if not await _chat_allows(turn, stay):
        return
    await _take_over_stay(turn, stay, stay.case_code)


async def step_action(turn: Turn, value: Mapping[str, Any]) -> None:
    """A step card pressed while no meeting runs in this conversation: pick the meeting up here."""
    meeting = await _meeting_from(turn, value.get("meeting_id"))
    stay = await service.stay_by_id(turn.session, meeting.stay_id) if meeting else None
    if meeting is None or stay is None or not service.may_run_meetings(turn.profile, stay):
        await _refuse_card(turn, MEETING_ACTION, "meeting_id", value, stay)
        return
    if meeting.status != MeetingStatus.IN_PROGRESS:
        await turn.say_private("meeting_not_open", code=stay.case_code)
        return
    if meeting.owner_id != turn.profile.id:
        await _offer_takeover(turn, meeting, stay)
        return
    await _begin(turn, meeting, submitted=dict(value))


async def _chat_allows(turn: Turn, stay: Stay | None) -> bool:
    """In a shared chat, only when every member is staff of the stay's unit (issue 16)."""
    if turn.scope != GROUP or stay is None or not service.may_run_meetings(turn.profile, stay):
        return True
    check = await shared.chat_cleared(turn, stay)
    if check is None:
        return False
    turn.extras["chat_members"] = check.member_ids
    return True


async def _open_card_here(turn: Turn, meeting: FollowUpMeeting) -> None:
    """This conversation now shows the meeting: its card is posted anew, then updated."""
    assert meeting.id is not None
    await service.open_card(
        turn.session,
        turn.conversation_id,
        meeting.id,
        shared=turn.scope == GROUP,
        member_ids=turn.extras.get("chat_members", ()),
    )


async def _open_for_stay(turn: Turn, stay: Stay | None, code: str) -> None:
    if stay is None or not service.may_run_meetings(turn.profile, stay):
        if stay is not None and not turn.profile.has_role(Role.HANDLAGGARE):
            await turn.say("not_allowed", roles=turn.renderer.role_name(Role.HANDLAGGARE).lower())
            return
        await turn.say("meeting_stay_not_found", code=code)
        return
    if stay.status != StayStatus.ACTIVE:
        await turn.say("meeting_stay_closed", code=stay.case_code)
        return
    meeting = await service.open_meeting(turn.session, stay)
    if meeting is not None and meeting.owner_id != turn.profile.id:
        await _offer_takeover(turn, meeting, stay)
        return
    total = default_agenda().total
    if meeting is None:
        meeting = await service.start_meeting(turn.session, stay, turn.profile, turn.clock.now())
        await _with_called_participants(turn, meeting, stay)
        await _audit(turn, "meeting.start", meeting)
        await turn.say("meeting_started", code=stay.case_code)
        if stay.followup_held_on is not None:
            await turn.say(
                "meeting_held_before", code=stay.case_code, date=format_date(stay.followup_held_on)
            )
    else:
        await _audit(turn, "meeting.resume", meeting, step=meeting.current_step)
        await turn.say(
            "meeting_resumed", code=stay.case_code, step=meeting.current_step, total=total
        )
    await _open_card_here(turn, meeting)
    await _begin(turn, meeting)


async def _with_called_participants(turn: Turn, meeting: FollowUpMeeting, stay: Stay) -> None:
    """Step 1 starts with the professions who said they come (issue 15)."""
    prepared = await calls.prepared_for(turn.session, turn.renderer, stay)
    if prepared.coming_roles:
        present = {*meeting.participants, *prepared.coming_roles}
        meeting.participants = [p for p in default_agenda().participant_ids() if p in present]
        await service.save(turn.session, meeting)


async def _take_over_stay(turn: Turn, stay: Stay | None, code: str) -> None:
    if stay is None or not service.may_run_meetings(turn.profile, stay):
        await turn.say("meeting_stay_not_found", code=code)
        return
    meeting = await service.open_meeting(turn.session, stay)
    if meeting is None:  # pressed, e.g. an old card of a meeting held since: the presser alone
        await turn.say_private("meeting_nothing_to_take_over", code=stay.case_code)
        return
    if meeting.owner_id != turn.profile.id:
        previous = await service.take_over(turn.session, meeting, turn.profile)
        await _audit(turn, "meeting.takeover", meeting, previous_owner_id=previous)
        await _tell_previous_owner(turn, meeting, stay, previous)
        await turn.say(
            "meeting_taken_over",
            code=stay.case_code,
            name=await _staff_name(turn, previous),
            step=meeting.current_step,
            total=default_agenda().total,
        )
    await _open_card_here(turn, meeting)
    await _begin(turn, meeting)


async def _tell_previous_owner(
    turn: Turn, meeting: FollowUpMeeting, stay: Stay, previous_owner_id: int
) -> None:
    """Through the outbox, so it is sent once, after this turn's commit, in the chat they use."""
    assert meeting.id is not None
    await queue_takeover_notice(
        turn.session,
        meeting_id=meeting.id,
        stay=stay,
        previous_owner_id=previous_owner_id,
        new_owner_name=turn.profile.name,
        step=meeting.current_step,
        total=default_agenda().total,
        now=turn.clock.now(),
    )


async def _staff_name(turn: Turn, staff_id: int) -> str:
    return await service.staff_name(turn.session, staff_id) or turn.renderer.text("a_colleague")


async def _offer_takeover(turn: Turn, meeting: FollowUpMeeting, stay: Stay) -> None:
    """Pressed (a shared chat's card), the offer is the presser's alone; typed, it is the reply."""
    agenda = default_agenda()
    values = {
        "meeting_id": meeting.id,
        "case_code": stay.case_code,
        "owner_name": await _staff_name(turn, meeting.owner_id),
        "step": meeting.current_step,
        "total": agenda.total,
        "step_title": agenda.step(meeting.current_step).title,
    }
    if not turn.show_private_card(TAKEOVER_TEMPLATE, **values):
        await turn.show_card(TAKEOVER_TEMPLATE, **values)


async def _begin(
    turn: Turn, meeting: FollowUpMeeting, submitted: dict[str, Any] | None = None
) -> None:
    assert turn.dialog_context is not None
    options = {"meeting_id": meeting.id, "submitted": submitted}
    await turn.dialog_context.begin_dialog(MEETING_DIALOG_ID, options)


async def _stay_from(turn: Turn, raw_id: Any) -> Stay | None:
    try:
        return await service.stay_by_id(turn.session, int(raw_id))
    except (TypeError, ValueError):
        return None


async def _meeting_from(turn: Turn, raw_id: Any) -> FollowUpMeeting | None:
    try:
        return await service.meeting_by_id(turn.session, int(raw_id))
    except (TypeError, ValueError):
        return None


async def _example_code(turn: Turn) -> str:
    units = await UnitRepository(turn.session).by_ids(turn.profile.unit_ids)
    return f"{units[0].code}-001" if units else "ÄNG-001"


async def _refuse_card(
    turn: Turn, action: str, id_field: str, value: Mapping[str, Any], stay: Stay | None
) -> None:
    """A card's ids come from the client and can be altered: a refused one is audited.

    Another unit's stay is refused without its case code, so a tampered id reveals nothing.
    """
    if stay is not None and stay.unit_id in turn.profile.unit_ids:
        role = turn.renderer.role_name(Role.HANDLAGGARE).lower()
        await turn.say_private("not_allowed", roles=role)
    else:
        await turn.say_private("stay_refused")
    await turn.audit(
        "meeting.access_refused",
        stay_id=stay.id if stay else None,
        unit_id=stay.unit_id if stay else None,
        detail={"action": action, id_field: str(value.get(id_field))[:20]},
    )


async def _audit(turn: Turn, action: str, meeting: FollowUpMeeting, **detail: Any) -> None:
    await turn.audit(action, stay_id=meeting.stay_id, detail={"meeting_id": meeting.id, **detail})


# --- the dialog --------------------------------------------------------------------------------


class FollowUpMeetingDialog(ComponentDialog):  # type: ignore[misc]
    """The meeting as one component; steps that are not ours go back to the router."""

    def __init__(self, agenda: Agenda | None = None) -> None:
        super().__init__(MEETING_DIALOG_ID)
        self.add_dialog(AgendaLoopDialog(agenda or default_agenda()))

    async def begin_dialog(
        self, dialog_context: DialogContext, options: object = None
    ) -> DialogTurnResult:
        if isinstance(options, Mapping):
            dialog_context.active_dialog.state["meeting_id"] = options.get("meeting_id")
        return await super().begin_dialog(dialog_context, options)

    async def continue_dialog(self, dialog_context: DialogContext) -> DialogTurnResult:
        meeting_id = dialog_context.active_dialog.state.get("meeting_id")
        elsewhere = _belongs_elsewhere(dialog_context.context, meeting_id)
        if elsewhere == "leave":
            # The meeting stays open in its row; the router starts what was asked for.
            await dialog_context.end_dialog()
            return DialogTurnResult(DialogTurnStatus.Empty)
        if elsewhere == "pass":
            return DialogTurnResult(DialogTurnStatus.Empty)
        return await super().continue_dialog(dialog_context)


def _belongs_elsewhere(context: TurnContext, meeting_id: Any) -> str | None:
    """'leave' to hand over to another meeting, 'pass' for another card, None for ours."""
    value = context.activity.value
    if isinstance(value, Mapping) and isinstance(value.get("action"), str):
        action = value["action"]
        if action in (START_ACTION, TAKEOVER_ACTION):
            return "leave"
        if action == MEETING_ACTION:
            if _in_group(context):  # a tampered or old card never ends the chat's meeting
                return None
            return None if str(value.get("meeting_id")) == str(meeting_id) else "leave"
        return "pass"
    found = match_command(context.activity.text or "")
    if found is not None and found[0].id in _REDIRECTED_COMMANDS:
        return "leave"
    return None


@dataclass(frozen=True, slots=True)
class NoteBack:
    """A press refused for its note's length: the card goes back with the presser's text."""

    text: str


def _as_typed(values: dict[str, Any], step: AgendaStep, submitted: Submitted) -> dict[str, Any]:
    """A step card's values with what the presser sent instead of what is stored: the note, the
    ticks and the participants, and the marks of what their card showed (so that sent again, it
    merges with what others saved meanwhile exactly as the first press would have)."""
    inputs = submitted.inputs
    values["note"] = str(inputs.get("note") or "").strip()
    if submitted.note_mark is not None:
        values["note_mark"] = submitted.note_mark
    if submitted.shown is not None:
        values["shown"] = ",".join(tid for tid in step.topic_ids() if tid in submitted.shown)
    for topic in values["topics"]:
        sent = inputs.get(f"topic_{topic['id']}")
        if sent is not None:
            topic["value"] = "true" if str(sent) == "true" else "false"
    if values.get("participants") and isinstance(inputs.get("participants"), str):
        values["participants"] = {**values["participants"], "value": inputs["participants"]}
    return values


def _merged(current: MeetingTurn, ticked: set[str], shown: frozenset[str]) -> set[str]:
    """Per topic: only what the presser changed on their card; the rest stays as now stored.

    Two people ticking different topics of the same card, at once, both keep their ticks."""
    stored = set(service.step_record(current.meeting, current.step).get("covered") or [])
    return (stored | (ticked - shown)) - (shown - ticked)


def _in_group(context: TurnContext) -> bool:
    conversation = context.activity.conversation
    return conversation is not None and conversation.conversation_type == GROUP


@dataclass
class MeetingTurn:
    """One turn of a running meeting: the turn, the meeting row, its stay."""

    turn: Turn
    agenda: Agenda
    meeting: FollowUpMeeting
    stay: Stay
    prepared: calls.Prepared = field(default_factory=calls.Prepared)
    card: MeetingCard | None = None  # the conversation's card row, read once per turn

    @property
    def step(self) -> AgendaStep:
        return self.agenda.step(self.meeting.current_step)

    def view(self) -> MeetingView:
        today = local_today(self.turn.clock)
        return MeetingView(
            self.turn.renderer, self.agenda, self.meeting, self.stay, today, self.prepared
        )

    def text(self, key: str, **values: Any) -> str:
        return self.turn.renderer.text(key, **values)

    async def say(self, *parts: str) -> None:
        await self.turn.say_text("\n\n".join(part for part in parts if part))

    async def save(self) -> None:
        await service.save(self.turn.session, self.meeting)

    async def audit(self, action: str, **detail: Any) -> None:
        await _audit(self.turn, action, self.meeting, **detail)

    def decision_context(self) -> DecisionContext:
        return DecisionContext(
            today=local_today(self.turn.clock),
            decision_end_date=self.stay.decision_end_date,
            labels=self.turn.renderer.catalogue["meeting_fields"],
        )

    def error_text(self, error: InvalidInput) -> str:
        return self.text(error.key, **error.values)


class AgendaLoopDialog(Dialog):  # type: ignore[misc]
    """Shows the meeting's current step and handles one answer per turn, until it is held."""

    def __init__(self, agenda: Agenda) -> None:
        super().__init__(AGENDA_LOOP_ID)
        self.agenda = agenda

    async def begin_dialog(
        self, dialog_context: DialogContext, options: object = None
    ) -> DialogTurnResult:
        opts = options if isinstance(options, Mapping) else {}
        dialog_context.active_dialog.state["meeting_id"] = opts.get("meeting_id")
        current = await self._load(dialog_context)
        if current is None:
            return await dialog_context.end_dialog()
        submitted = opts.get("submitted")
        if isinstance(submitted, Mapping):
            return await self._on_submit(dialog_context, current, read_submitted(submitted))
        await self._prompt(current)
        return Dialog.end_of_turn

    async def continue_dialog(self, dialog_context: DialogContext) -> DialogTurnResult:
        current = await self._load(dialog_context)
        if current is None:
            if Turn.of(dialog_context.context).extras.get("keep_meeting"):
                return Dialog.end_of_turn
            return await dialog_context.end_dialog()
        activity = dialog_context.context.activity
        if dialog_context.active_dialog.state.pop("confirm_cancel", False):
            return await self._on_cancel_answer(dialog_context, current, activity.text or "")
        value = activity.value
        if isinstance(value, Mapping) and value.get("action") == MEETING_ACTION:
            return await self._on_submit(dialog_context, current, read_submitted(value))
        return await self._on_typed(dialog_context, current, activity.text or "")

    async def reprompt_dialog(self, context: TurnContext, instance: DialogInstance) -> None:
        """Another dialog ended on top of the meeting: show where the meeting is."""
        turn = Turn.of(context)
        meeting = await service.meeting_by_id(turn.session, int(instance.state["meeting_id"]))
        if meeting is None or meeting.status != MeetingStatus.IN_PROGRESS:
            return
        stay = await service.stay_by_id(turn.session, meeting.stay_id)
        if stay is not None and meeting.owner_id == turn.profile.id:
            prepared = await calls.prepared_for(turn.session, turn.renderer, stay)
            await self._prompt(MeetingTurn(turn, self.agenda, meeting, stay, prepared))

    # --- loading and prompting ---

    async def _load(self, dialog_context: DialogContext) -> MeetingTurn | None:
        """The meeting this dialog runs, if it is still open and still ours; else say why not."""
        turn = Turn.of(dialog_context.context)
        meeting_id = dialog_context.active_dialog.state.get("meeting_id")
        found = await service.running_meeting(
            turn.session, int(meeting_id or 0), turn.conversation_id
        )
        if found is None:
            return None
        meeting, stay, card = found.meeting, found.stay, found.card
        if meeting.status != MeetingStatus.IN_PROGRESS:
            await turn.say_private("meeting_not_open", code=stay.case_code)
            return None
        if turn.scope == GROUP:
            return await self._load_shared(turn, found)
        if meeting.owner_id != turn.profile.id:
            name = await _staff_name(turn, meeting.owner_id)
            await turn.say("meeting_lost_to_other", name=name, code=stay.case_code)
            return None
        prepared = await calls.prepared_from(turn.session, turn.renderer, found.call)
        return MeetingTurn(turn, self.agenda, meeting, stay, prepared, card)

    async def _load_shared(self, turn: Turn, found: RunningMeeting) -> MeetingTurn | None:
        """A shared chat: staff of the unit act on the meeting, while no outsider has joined."""
        meeting, stay, card = found.meeting, found.stay, found.card
        if card is None or card.meeting_id != meeting.id or card.blocked:
            await turn.say_private("meeting_shared_blocked")
            return None
        if stay.unit_id not in turn.profile.unit_ids:
            await turn.say_private("stay_refused")
            await turn.audit("meeting.access_refused", unit_id=stay.unit_id)
            turn.extras["keep_meeting"] = True  # the chat's meeting goes on for the others
            return None
        prepared = await calls.prepared_from(turn.session, turn.renderer, found.call)
        return MeetingTurn(turn, self.agenda, meeting, stay, prepared, card)

    async def _prompt(
        self, current: MeetingTurn, submitted: Mapping[str, Any] | None = None
    ) -> None:
        draft = service.decision_part(current.meeting, "draft")
        if current.step.kind is StepKind.DECISION and draft is not None:
            if draft.get("mode") == "typed" and draft.get("asking"):
                await current.say(field_question(current.view(), draft["asking"]))
                return
            values = decision_form(current.view(), draft["kind"], submitted)
            await self._show(current, DECISION_TEMPLATE, values)
            return
        coordinators: Sequence[Any] = ()
        if current.step.kind is StepKind.COORDINATOR:
            coordinators = await service.coordinators_of(current.turn.session, current.stay)
        await self._show(current, STEP_TEMPLATE, step_card(current.view(), coordinators))

    async def _show(self, current: MeetingTurn, template: str, values: dict[str, Any]) -> None:
        """The conversation's one meeting card, updated in place (issue 16)."""
        turn, meeting = current.turn, current.meeting
        assert meeting.id is not None
        card = current.card or await service.card_in(turn.session, turn.conversation_id)
        own = card is not None and card.meeting_id == meeting.id
        member_ids = card.member_ids if card is not None and own else []
        options = shared.card_options(turn, member_ids)
        if meeting.status != MeetingStatus.IN_PROGRESS:  # held: the card stays, as a record
            options.update(refresh=None, can_move=False, can_edit=False)
        activity_id = card.activity_id if card is not None and own else None
        turn.show_live_card(meeting.id, activity_id, template, **{**values, **options})

    # --- card submits ---

    async def _on_submit(
        self, dc: DialogContext, current: MeetingTurn, submitted: Submitted | None
    ) -> DialogTurnResult:
        if (
            submitted is None
            or submitted.step != current.meeting.current_step
            or submitted.meeting_id != current.meeting.id
        ):
            await current.turn.say_private("meeting_stale_card")
            await self._prompt(current)
            return Dialog.end_of_turn
        if current.turn.scope == GROUP:
            denied = shared.refusal_for(
                current.turn.profile, current.meeting, current.step, submitted.move
            )
            if denied:
                await current.turn.say_private(denied)
                return Dialog.end_of_turn
        refusal = self._apply_step_inputs(current, submitted)
        if isinstance(refusal, NoteBack):
            return await self._note_back(current, submitted, refusal)
        if refusal:
            return await self._refuse(current, refusal)
        if submitted.move is Move.NEXT and current.step.kind is StepKind.COORDINATOR:
            return await self._hold_typed(dc, current, str(submitted.inputs.get("held_on") or ""))
        if submitted.move is Move.DECIDE:
            return await self._choose_kind(current, submitted.kind, mode="card")
        if submitted.move is Move.SAVE_DECISION:
            return await self._save_form(current, submitted)
        if submitted.move is Move.SAVE:
            await current.save()
            await current.audit("meeting.step_saved", step=current.step.number)
            await self._prompt(current)
            return Dialog.end_of_turn
        if submitted.move is Move.LEAVE_DECISION:
            service.set_decision_part(current.meeting, "draft", None)
            await current.save()
            await self._prompt(current)
            return Dialog.end_of_turn
        return await self._move(dc, current, submitted.move)

    async def _refuse(
        self, current: MeetingTurn, text: str, *, reprompt: bool = True
    ) -> DialogTurnResult:
        """Nothing changes: a press hears why privately (in a shared chat, not the whole chat);
        typed, or pressed in the personal chat, the answer is a reply and the card again."""
        if current.turn.is_press:
            await current.turn.say_private_text(text)
            return Dialog.end_of_turn
        await current.say(text)
        if reprompt:
            await self._prompt(current)
        return Dialog.end_of_turn

    async def _note_back(
        self, current: MeetingTurn, submitted: Submitted, back: NoteBack
    ) -> DialogTurnResult:
        """A note too long is refused, and the card comes back with what was typed in it (and
        ticked), so it can be shortened and sent again: pressed, to the presser alone (the chat's
        card stays as it is); submitted in the personal chat, as the chat's card."""
        turn, step = current.turn, current.step
        values = _as_typed(step_card(current.view()), step, submitted)
        mine = shared.personal_view(turn.profile, current.meeting, step)  # no refresh: kept
        if turn.show_private_card(STEP_TEMPLATE, **{**values, **mine, "errors": [back.text]}):
            return Dialog.end_of_turn
        if turn.scope == GROUP:  # an Action.Submit in a group: the chat's card is everyone's
            return await self._refuse(current, back.text)
        await current.say(back.text)
        await self._show(current, STEP_TEMPLATE, values)
        return Dialog.end_of_turn

    def _apply_step_inputs(
        self, current: MeetingTurn, submitted: Submitted
    ) -> str | NoteBack | None:
        """Keep what a step card carried (topics, note, participants); a refusal keeps nothing."""
        step, inputs, shown = current.step, submitted.inputs, submitted.shown
        note = inputs.get("note")
        if isinstance(note, str):
            note = note.strip()
            if contains_personal_number(note):
                return current.text("personal_number_refused")
            stored = service.step_record(current.meeting, step).get("note") or ""
            sent, note = note, merged_note(stored, submitted.note_mark, note)
            if note is not None and len(note) > NOTE_LIMIT:
                key = "meeting_note_too_long" if note == sent else "meeting_note_too_long_merged"
                return NoteBack(current.text(key, length=len(note), max=NOTE_LIMIT))
        topic_keys = [f"topic_{topic_id}" for topic_id in step.topic_ids()]
        covered = None
        if any(key in inputs for key in topic_keys):
            ticked = {tid for tid in step.topic_ids() if str(inputs.get(f"topic_{tid}")) == "true"}
            covered = sorted(ticked if shown is None else _merged(current, ticked, shown))
        # An empty or untouched note field never clears a note nor writes an older one back.
        kept_note = note if isinstance(note, str) and note else None
        if covered is not None or kept_note is not None:
            service.record_step(current.meeting, step, covered=covered, note=kept_note)
        if isinstance(inputs.get("participants"), str):
            chosen = set(str(inputs["participants"]).split(","))
            current.meeting.participants = [
                pid for pid in current.agenda.participant_ids() if pid in chosen
            ]
        return None

    # --- typed answers ---

    async def _on_typed(
        self, dc: DialogContext, current: MeetingTurn, text: str
    ) -> DialogTurnResult:
        typed = read_typed_move(text)
        if current.turn.scope == GROUP and not await self._typed_allowed(current, typed):
            return Dialog.end_of_turn
        if typed.move is Move.HELP:
            await current.say(current.text("meeting_help"))
            return Dialog.end_of_turn
        if typed.move is Move.CANCEL:
            dc.active_dialog.state["confirm_cancel"] = True
            await current.say(current.text("meeting_cancel_confirm", code=current.stay.case_code))
            return Dialog.end_of_turn
        if typed.move is Move.PAUSE:
            return await self._move(dc, current, Move.PAUSE)
        draft = service.decision_part(current.meeting, "draft")
        if current.step.kind is StepKind.DECISION and draft and draft.get("asking"):
            return await self._on_typed_field(current, draft, typed.move, text)
        if typed.move is Move.NOTE and current.step.kind is StepKind.COORDINATOR:
            return await self._hold_typed(dc, current, text)
        if typed.move is Move.NOTE:
            kind = parse_kind(text) if current.step.kind is StepKind.DECISION else None
            if kind is not None:
                return await self._choose_kind(current, kind, mode="typed")
            return await self._typed_note(current, typed.text if typed.marked_note else text)
        if typed.move is Move.PARTICIPANTS:
            return await self._typed_participants(current, typed.text)
        covered: list[str] | None = None
        if typed.move is Move.NEXT and typed.topic_numbers is not None:
            covered = self._covered_by_numbers(current.step, typed.topic_numbers)
            if covered is None:
                await current.say(self._numbers_problem(current))
                return Dialog.end_of_turn
        return await self._move(dc, current, typed.move, covered)

    async def _typed_allowed(self, current: MeetingTurn, typed: Typed) -> bool:
        """A shared chat: notes only as "not: …" by the step's leader; the rest by the owner."""
        turn = current.turn
        if typed.move is Move.HELP:
            return True
        if typed.move is Move.NOTE and not typed.marked_note:
            if shared.may_move(turn.profile, current.meeting):
                return True  # the owner's answers (a decision kind, a field) stay as typed
            await turn.say("meeting_shared_note_hint")
            return False
        denied = shared.refusal_for(turn.profile, current.meeting, current.step, typed.move)
        if denied:
            await turn.say(denied)
            return False
        return True

    def _covered_by_numbers(
        self, step: AgendaStep, numbers: tuple[int, ...] | None
    ) -> list[str] | None:
        """'nästa 1 3' ticks those topics; 'nästa' ticks none (what was ticked on the card stays
        ticked), so the summary never claims a topic nobody marked; None when a number is wrong."""
        if numbers is None:
            return None
        if not step.topics or any(not 1 <= n <= len(step.topics) for n in numbers):
            return None
        return [step.topics[n - 1].id for n in sorted(set(numbers))]

    def _numbers_problem(self, current: MeetingTurn) -> str:
        count = len(current.step.topics)
        if not count:
            return current.text("meeting_no_topics_to_pick")
        return current.text("meeting_topic_numbers_invalid", count=count)

    async def _typed_note(self, current: MeetingTurn, text: str) -> DialogTurnResult:
        refusal = self._typed_note_refusal(current, text)
        if refusal:
            return await self._refuse(current, refusal, reprompt=False)
        earlier = service.step_record(current.meeting, current.step).get("note") or ""
        note = f"{earlier}\n{text}" if earlier else text  # added to, never over, what is there
        if len(note) > NOTE_LIMIT:
            text = self._typed_too_long(current, earlier, note)
            return await self._refuse(current, text, reprompt=False)
        service.record_step(current.meeting, current.step, note=note)
        await current.save()
        await current.audit("meeting.note", step=current.step.number)
        await current.say(current.text("meeting_note_saved", step=current.step.number))
        await self._prompt(current)  # the card shows the note too
        return Dialog.end_of_turn

    def _typed_too_long(self, current: MeetingTurn, earlier: str, note: str) -> str:
        """Typed, the line is added to the step's note: say how much room is left for it."""
        if not earlier:
            return current.text("meeting_note_too_long", length=len(note), max=NOTE_LIMIT)
        return current.text(
            "meeting_typed_note_too_long",
            step=current.step.number,
            stored=len(earlier),
            max=NOTE_LIMIT,
            room=NOTE_LIMIT - len(earlier) - 1,  # the new line's break counts too
        )

    def _typed_note_refusal(self, current: MeetingTurn, text: str) -> str | None:
        if match_command(text) is not None:
            return current.text("meeting_other_command", code=current.stay.case_code)
        if contains_personal_number(text):
            return current.text("personal_number_refused")
        if current.step.kind is StepKind.COORDINATOR:
            return current.text("meeting_cannot_skip_last")
        return None

    async def _typed_participants(self, current: MeetingTurn, text: str) -> DialogTurnResult:
        change, found, unknown = read_participant_change(text)
        if unknown or not found:
            words = ", ".join(unknown) or text
            await current.say(current.text("meeting_participants_unknown", words=words[:80]))
            return Dialog.end_of_turn
        now = {*current.meeting.participants, *found} if change is Change.ADD else set(found)
        if change is Change.REMOVE:
            now = set(current.meeting.participants) - set(found)
        current.meeting.participants = [p for p in current.agenda.participant_ids() if p in now]
        await current.save()
        labels = dict(current.agenda.participants)
        names = ", ".join(labels[p] for p in current.meeting.participants)
        key = "meeting_participants_saved" if names else "meeting_participants_none"
        await current.say(current.text(key, names=names))
        return Dialog.end_of_turn

    # --- moving through the agenda ---

    async def _move(
        self,
        dc: DialogContext,
        current: MeetingTurn,
        move: Move,
        covered: list[str] | None = None,
    ) -> DialogTurnResult:
        step = current.step
        if move is Move.PAUSE:
            await current.save()
            await current.audit("meeting.pause", step=step.number)
            total = current.agenda.total
            await current.say(
                current.text(
                    "meeting_paused", code=current.stay.case_code, step=step.number, total=total
                )
            )
            return await dc.end_dialog()
        if move is Move.BACK:
            return await self._back(current)
        if move is Move.SKIP:
            return await self._skip(current)
        if move is Move.NEXT:
            if step.kind is StepKind.COORDINATOR:
                return await self._hold(dc, current)
            if step.kind is StepKind.DECISION and not service.decision_part(
                current.meeting, "final"
            ):
                return await self._refuse(current, current.text("meeting_decision_required"))
            service.record_step(current.meeting, step, covered=covered, status=service.STEP_DONE)
            return await self._advance(current, "next")
        await self._prompt(current)
        return Dialog.end_of_turn

    async def _advance(self, current: MeetingTurn, how: str) -> DialogTurnResult:
        step = current.step
        await current.audit("meeting.step", step=step.number, step_id=step.id, move=how)
        if how != "decision":  # the decision has its own line
            await current.say(step_line(current.view(), how))
        current.meeting.current_step = min(step.number + 1, current.agenda.total)
        await current.save()
        await self._prompt(current)
        return Dialog.end_of_turn

    async def _back(self, current: MeetingTurn) -> DialogTurnResult:
        step = current.step
        if step.number == 1:
            return await self._refuse(current, current.text("meeting_first_step"), reprompt=False)
        await current.audit("meeting.step", step=step.number, step_id=step.id, move="back")
        service.set_decision_part(current.meeting, "draft", None)
        current.meeting.current_step = step.number - 1
        await current.save()
        await self._prompt(current)
        return Dialog.end_of_turn

    async def _skip(self, current: MeetingTurn) -> DialogTurnResult:
        step = current.step
        if step.kind is StepKind.DECISION:
            text = current.text("meeting_cannot_skip_decision")
            return await self._refuse(current, text, reprompt=False)
        if step.kind is StepKind.COORDINATOR:
            text = current.text("meeting_cannot_skip_last")
            return await self._refuse(current, text, reprompt=False)
        service.record_step(current.meeting, step, covered=[], status=service.STEP_SKIPPED)
        return await self._advance(current, "skip")

    # --- the decision ---

    async def _choose_kind(
        self, current: MeetingTurn, kind: str | None, *, mode: str
    ) -> DialogTurnResult:
        if kind not in FIELDS or current.step.kind is not StepKind.DECISION:
            await self._prompt(current)
            return Dialog.end_of_turn
        final = service.decision_part(current.meeting, "final")
        known = dict(final["values"]) if final and final["kind"] == kind and mode == "card" else {}
        draft = {
            "kind": kind,
            "values": {},
            "prefill": known,
            "mode": mode,
            "asking": FIELDS[kind][0],
        }
        service.set_decision_part(current.meeting, "draft", draft)
        await current.save()
        await self._prompt(current)
        return Dialog.end_of_turn

    async def _on_typed_field(
        self, current: MeetingTurn, draft: dict[str, Any], move: Move, text: str
    ) -> DialogTurnResult:
        """One typed answer to the decision question being asked."""
        kind, asking = str(draft["kind"]), str(draft["asking"])
        values: dict[str, Any] = dict(draft.get("values") or {})
        draft["mode"] = "typed"
        view = current.view()
        if move is Move.BACK:
            return await self._typed_field_back(current, draft, values)
        if not values and parse_kind(text) is not None:  # another kind, before any answer
            return await self._choose_kind(current, parse_kind(text), mode="typed")
        if move is Move.NEXT or (move is Move.SKIP and not is_optional(asking, values)):
            label = current.turn.renderer.catalogue["meeting_fields"][asking]
            needed = current.text("meeting_field_needed", field=label) if move is Move.SKIP else ""
            await current.say(needed, field_question(view, asking))
            return Dialog.end_of_turn
        try:
            value = (
                None
                if move is Move.SKIP
                else parse_field(asking, text, current.decision_context(), values)
            )
        except InvalidInput as error:
            await current.say(current.error_text(error), field_question(view, asking))
            return Dialog.end_of_turn
        values[asking] = value
        note = ""
        if asking == "time" and is_afternoon(value):
            note = current.text("meeting_afternoon_note", time=value)
        missing = next_missing(kind, values)
        if missing is None:
            return await self._record_decision(current, kind, values, note)
        service.set_decision_part(
            current.meeting, "draft", {**draft, "values": values, "asking": missing}
        )
        await current.save()
        await current.say(note, field_question(view, missing))
        return Dialog.end_of_turn

    async def _typed_field_back(
        self, current: MeetingTurn, draft: dict[str, Any], values: dict[str, Any]
    ) -> DialogTurnResult:
        fields = FIELDS[str(draft["kind"])]
        index = fields.index(str(draft["asking"]))
        if index == 0:
            service.set_decision_part(current.meeting, "draft", None)
            await current.save()
            await current.say(current.text("meeting_ask_kind"))
            return Dialog.end_of_turn
        previous = fields[index - 1]
        values.pop(previous, None)
        service.set_decision_part(
            current.meeting, "draft", {**draft, "values": values, "asking": previous}
        )
        await current.save()
        await current.say(field_question(current.view(), previous))
        return Dialog.end_of_turn

    async def _save_form(self, current: MeetingTurn, submitted: Submitted) -> DialogTurnResult:
        draft = service.decision_part(current.meeting, "draft")
        kind = submitted.kind
        if draft is None or kind != draft.get("kind") or kind not in FIELDS:
            await current.turn.say_private("meeting_stale_card")
            await self._prompt(current)
            return Dialog.end_of_turn
        values, errors = parse_form(kind, submitted.inputs, current.decision_context())
        if errors and self._form_back_to_presser(current, kind, submitted.inputs, errors):
            return Dialog.end_of_turn
        if errors:
            lines = "\n".join(f"- {current.error_text(error)}" for error in errors)
            await current.say(current.text("meeting_decision_not_saved") + "\n\n" + lines)
            service.set_decision_part(current.meeting, "draft", {**draft, "mode": "card"})
            await current.save()
            await self._prompt(current, submitted.inputs)
            return Dialog.end_of_turn
        note = ""
        if kind == DecisionKind.HOME_GOING and is_afternoon(values.get("time")):
            note = current.text("meeting_afternoon_note", time=values["time"])
        return await self._record_decision(current, kind, values, note)

    def _form_back_to_presser(
        self,
        current: MeetingTurn,
        kind: str,
        inputs: Mapping[str, Any],
        errors: Sequence[InvalidInput],
    ) -> bool:
        """A pressed form with mistakes goes back only to its presser, with what they typed and
        what to fix; the chat's card and the meeting stay as they were. False when not pressed."""
        lines = [current.text("meeting_decision_not_saved")]
        lines += [f"- {current.error_text(error)}" for error in errors]
        options = {**shared.card_options(current.turn, ()), "refresh": None}  # keep their values
        values = {**decision_form(current.view(), kind, inputs), **options, "errors": lines}
        return current.turn.show_private_card(DECISION_TEMPLATE, **values)

    async def _record_decision(
        self, current: MeetingTurn, kind: str, values: dict[str, Any], note: str
    ) -> DialogTurnResult:
        """The decision is complete: keep it on the meeting and go on to the next step."""
        meeting, step = current.meeting, current.step
        values = without_coordination(values)
        service.set_decision_part(meeting, "final", {"kind": kind, "values": values})
        service.set_decision_part(meeting, "draft", None)
        service.record_step(meeting, step, status=service.STEP_DONE)
        await current.audit("meeting.decision", kind=kind)
        line = decision_line(current.view(), kind, values)
        await current.say(current.text("meeting_decision_recorded", text=line), note)
        return await self._advance(current, "decision")

    # --- ending ---

    async def _hold_typed(
        self, dc: DialogContext, current: MeetingTurn, text: str
    ) -> DialogTurnResult:
        """Finish the meeting on the day it was held (typed, or the card's date; empty: today)."""
        today = local_today(current.turn.clock)
        try:
            held_on = parse_held_on(text, current.stay.arrival_date, today) if text else today
        except InvalidInput as error:
            if error.key == "date_invalid":  # not a date: a note, which the last step has not
                return await self._typed_note(current, text)
            return await self._refuse(current, current.error_text(error))
        return await self._hold(dc, current, held_on)

    async def _hold(
        self, dc: DialogContext, current: MeetingTurn, held_on: date | None = None
    ) -> DialogTurnResult:
        turn, meeting, stay = current.turn, current.meeting, current.stay
        held_on = held_on or local_today(turn.clock)
        view_before = current.view()
        final = service.decision_part(meeting, "final")
        if final is None:  # e.g. the decision step was reached by an old card; ask for it
            meeting.current_step = next(
                s.number for s in current.agenda.steps if s.kind is StepKind.DECISION
            )
            await current.save()
            await current.say(current.text("meeting_decision_required"))
            await self._prompt(current)
            return Dialog.end_of_turn
        held = await service.hold_meeting(turn.session, meeting, stay, turn.clock.now(), held_on)
        if final["kind"] == DecisionKind.HOME_GOING and is_afternoon(final["values"].get("time")):
            # The decision step said the afternoon note: no nudge repeats it (issue 19, item 6).
            await afternoon_note_given(turn.session, stay, turn.profile.id, turn.clock.now())
        await current.audit(
            "meeting.held",
            kind=final["kind"],
            notices=held.notices_queued,
            held_on=held_on.isoformat(),
        )
        await calls.mark_held(turn.session, stay)
        home_going = final["kind"] == DecisionKind.HOME_GOING
        reach = await reach_of(turn.session, held.coordinators)
        units = await UnitRepository(turn.session).by_ids([stay.unit_id])
        summary = meeting_summary(
            view_before,
            units[0].name if units else "",
            held_on,
            coordinator_informed=home_going and held.notices_queued > 0,
            coordinator_waiting=not reach.reached,
            checklist_created=home_going,
        )
        text = render_meeting_summary(turn.renderer, summary)
        if turn.scope == GROUP:  # the summary is the owner's to paste, not the chat's to read
            await current.say(*self._held_lines(current, held, home_going, reach)[:-1])
            await self._send_summary_to_owner(current, text)
            await self._prompt(current)  # the card's last state: the meeting is held
            return await dc.end_dialog()
        await current.say(*self._held_lines(current, held, home_going, reach))
        await turn.context.send_activity(_paste_ready(text))
        return await dc.end_dialog()

    async def _send_summary_to_owner(self, current: MeetingTurn, text: str) -> None:
        assert current.meeting.id is not None
        await queue_meeting_summary(
            current.turn.session,
            meeting_id=current.meeting.id,
            stay=current.stay,
            owner_id=current.meeting.owner_id,
            summary=text,
            now=current.turn.clock.now(),
        )
        await current.say(current.text("meeting_summary_sent_to_owner"))

    def _held_lines(
        self, current: MeetingTurn, held: service.HeldMeeting, home_going: bool, reach: Reach
    ) -> list[str]:
        lines = [current.text("meeting_held", code=current.stay.case_code)]
        if home_going:
            if not held.coordinators:
                lines.append(current.text("meeting_no_coordinator"))
            if reach.reached:
                names = ", ".join(c.name for c in reach.reached)
                lines.append(current.text("meeting_coordinator_told", names=names))
            lines.extend(waiting_lines(current.turn.renderer, reach))
            if held.checklist_items:
                lines.append(current.text("meeting_checklist_created", count=held.checklist_items))
        if held.closing_note_reset:
            lines.append(current.text("home_going_closing_note_reset"))
        if held.decision_notices:
            lines.append(current.text("meeting_coordinator_told_decision"))
        lines.append(current.text("meeting_summary_intro"))
        return lines

    async def _on_cancel_answer(
        self, dc: DialogContext, current: MeetingTurn, text: str
    ) -> DialogTurnResult:
        owner = shared.may_move(current.turn.profile, current.meeting)
        if is_yes(text) and owner:
            await service.cancel_meeting(current.turn.session, current.meeting)
            await current.audit("meeting.cancel", step=current.step.number)
            await current.say(current.text("meeting_cancelled", code=current.stay.case_code))
            return await dc.end_dialog()
        await current.say(current.text("meeting_continues"))
        await self._prompt(current)
        return Dialog.end_of_turn


def _paste_ready(text: str) -> Activity:
    """One fact per line. Chat text is markdown, where only a blank line breaks a line."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    activity: Activity = MessageFactory.text("\n\n".join(lines))
    activity.text_format = TextFormatTypes.markdown
    return activity
