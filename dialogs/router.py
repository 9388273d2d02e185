"""Routes a message to a running dialog, a command, or a card action."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from botbuilder.core import ConversationState, InvokeResponse
from botbuilder.dialogs import DialogSet, DialogTurnStatus
from botbuilder.schema import Activity, ActivityTypes

from dialogs import (
    arrival,
    basic,
    cancel_planned,
    close_stay,
    home_going,
    register_stay,
    reports,
    stay_cards,
    stay_choice,
    waits,
)
from dialogs.commands import GROUP, match_command, normalize
from dialogs.forms import REROUTE, question_expired
from dialogs.meeting import calling, underlag
from dialogs.meeting import dialog as meeting
from dialogs.meeting import shared as shared_meeting
from dialogs.turn import Turn
from notifications.render import CARD_CONTENT_TYPE
from storage.domain.pnr import contains_personal_number

CommandHandler = Callable[[Turn, re.Match[str]], Awaitable[None]]
ActionHandler = Callable[[Turn, Mapping[str, Any]], Awaitable[None]]
MESSAGE_CONTENT_TYPE = "application/vnd.microsoft.activity.message"

COMMAND_HANDLERS: dict[str, CommandHandler] = {
    "help": basic.show_help,
    "link_channel": basic.link_channel,
    "report": reports.show_report,
    "meeting_start": meeting.start_command,
    "meeting_takeover": meeting.takeover_command,
    # issue 4: stays, readiness and hospital waits
    "register_stay": register_stay.start_command,
    "stays": stay_cards.stays_command,
    "checklist": stay_cards.checklist_command,
    "home_going": home_going.home_going_command,
    "close_stay": close_stay.close_command,
    "stay_arrived": arrival.arrived_command,
    "phone_handover": arrival.handover_command,
    "hospital_waits": waits.waits_command,
    # issue 15: calling the meeting, answers and underlag
    "meeting_call": calling.call_command,
    "meeting_call_status": calling.status_command,
    "underlag": underlag.underlag_command,
    "call_coming": underlag.coming_command,
    "call_not_coming": underlag.not_coming_command,
}

ACTION_HANDLERS: dict[str, ActionHandler] = {
    "help": lambda turn, _value: basic.show_help(turn),
    meeting.START_ACTION: meeting.start_action,
    meeting.MEETING_ACTION: meeting.step_action,
    meeting.TAKEOVER_ACTION: meeting.takeover_action,
    # issue 4: buttons on stay, checklist and wait cards (and on nudges: open_stay, mark_ready)
    "open_stay": stay_cards.open_stay_action,
    "my_stays": stay_cards.my_stays_action,
    "open_checklist": stay_cards.checklist_action,
    stay_cards.READINESS_VERB: stay_cards.readiness_submit,
    "mark_ready": stay_cards.mark_ready_action,
    "home_going": home_going.home_going_action,
    "close_stay": close_stay.close_action,
    arrival.ARRIVED_ACTION: arrival.arrived_action,
    arrival.HANDOVER_ACTION: arrival.handover_action,
    cancel_planned.ACTION: cancel_planned.cancel_action,  # issue 17: a planned stay never came
    "wait_new": waits.wait_new_action,
    "wait_close": waits.wait_close_action,
    # issue 15: the stay card's and nudge's "Kalla till möte", the status card, the invitation
    "call_start": calling.call_action,
    "call_change": calling.change_action,
    "call_cancel": calling.cancel_action,
    "call_show": calling.show_action,
    "call_answer": underlag.answer_action,
    "call_underlag": underlag.underlag_action,
    "underlag_save": underlag.save_action,
    # issue 19: the stay chosen for a command typed without a case code
    stay_choice.ACTION: lambda turn, value: stay_choice.chosen(turn, value, route_text),
}

# Action.Execute verbs (invoke ``adaptiveCard/action``): each returns the refreshed card, or None
# when the card's stay is refused.
InvokeHandler = Callable[[Turn, Mapping[str, Any]], Awaitable[dict[str, Any] | None]]
INVOKE_HANDLERS: dict[str, InvokeHandler] = {
    stay_cards.READINESS_VERB: stay_cards.readiness_card,
    calling.STATUS_VERB: calling.status_invoke,
    shared_meeting.REFRESH_VERB: shared_meeting.refresh_card,  # issue 16: per-person views
}


def build_dialog_set(conversation_state: ConversationState) -> DialogSet:
    """Every dialog Korttid runs, registered once per app."""
    dialogs = DialogSet(conversation_state.create_property("DialogState"))
    dialogs.add(meeting.FollowUpMeetingDialog())
    dialogs.add(register_stay.RegisterStayDialog())
    dialogs.add(home_going.HomeGoingDialog())
    dialogs.add(close_stay.CloseStayDialog())
    dialogs.add(cancel_planned.CancelPlannedDialog())
    dialogs.add(waits.RegisterWaitDialog())
    dialogs.add(calling.CallMeetingDialog())
    return dialogs


async def route_message(turn: Turn, dialogs: DialogSet) -> None:
    dialog_context = await dialogs.create_context(turn.context)
    turn.dialog_context = dialog_context
    if dialog_context.active_dialog is not None:
        result = await dialog_context.continue_dialog()
        # A form that stepped aside (REROUTE) leaves this activity to the commands and actions.
        if result.status != DialogTurnStatus.Empty and result.result != REROUTE:
            return
    value = turn.context.activity.value
    if isinstance(value, Mapping) and isinstance(value.get("action"), str):
        await route_action(turn, value)
        return
    await route_text(turn, turn.context.activity.text or "")


async def reprompt_active(turn: Turn, dialogs: DialogSet) -> bool:
    """Ask the running dialog's current question again (a message came in between, e.g. a
    nudge); True when a dialog was waiting for an answer. The state is read, never changed."""
    dialog_context = await dialogs.create_context(turn.context)
    turn.dialog_context = dialog_context
    active = dialog_context.active_dialog
    if active is None or question_expired(active, turn.clock.now()):
        return False
    await dialog_context.reprompt_dialog()
    return True


async def route_text(turn: Turn, text: str) -> None:
    if contains_personal_number(text):
        await turn.say("personal_number_refused")
        return
    completed = await stay_choice.complete(turn, text)
    if completed is None:
        return
    found = match_command(completed)
    if found is None:
        await turn.say("unknown_command", text=normalize(text)[:80] or "…")
        return
    command, match = found
    if turn.scope == GROUP and GROUP not in command.scopes:
        await turn.say("group_command_not_here")  # issue 16: no stay data in a shared chat
        return
    if not command.allowed_for(turn.profile.roles):
        roles = ", ".join(turn.renderer.role_name(r).lower() for r in sorted(command.roles))
        await turn.say("not_allowed", roles=roles)
        return
    await COMMAND_HANDLERS[command.id](turn, match)


async def route_action(turn: Turn, value: Mapping[str, Any]) -> None:
    handler = ACTION_HANDLERS.get(str(value["action"]))
    if handler is None:
        await turn.say("unknown_command", text=str(value["action"])[:80])
        return
    await handler(turn, value)


async def route_invoke(turn: Turn) -> None:
    """Invokes: ``adaptiveCard/action`` (Action.Execute) is answered with the refreshed card.

    A refused card (a stay of another unit) gets a message response instead; other invokes are
    left unanswered, which the web handler answers with 400.
    """
    activity = turn.context.activity
    if activity.name != "adaptiveCard/action":
        return
    value = _mapping(activity.value)
    action = _mapping(value.get("action"))
    verb = str(action.get("verb") or "")
    data = _mapping(action.get("data"))
    handler = INVOKE_HANDLERS.get(verb)
    card = await handler(turn, data) if handler is not None else None
    if card is not None:
        body: dict[str, Any] = {"statusCode": 200, "type": CARD_CONTENT_TYPE, "value": card}
    else:
        key = "stay_refused" if handler is not None else "unknown_command"
        text = turn.renderer.text(key, text=verb[:80] or "…")
        body = {"statusCode": 200, "type": MESSAGE_CONTENT_TYPE, "value": text}
    await turn.context.send_activity(
        Activity(type=ActivityTypes.invoke_response, value=InvokeResponse(status=200, body=body))
    )


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}
