"""Routes a message to a running dialog, a command, or a card action."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from botbuilder.core import ConversationState
from botbuilder.dialogs import DialogSet, DialogTurnStatus

from dialogs import basic
from dialogs.commands import match_command, normalize
from dialogs.turn import Turn
from storage.domain.pnr import contains_personal_number

CommandHandler = Callable[[Turn, re.Match[str]], Awaitable[None]]
ActionHandler = Callable[[Turn, Mapping[str, Any]], Awaitable[None]]

COMMAND_HANDLERS: dict[str, CommandHandler] = {
    "help": basic.show_help,
    "link_channel": basic.link_channel,
}

ACTION_HANDLERS: dict[str, ActionHandler] = {
    "help": lambda turn, _value: basic.show_help(turn),
}


def build_dialog_set(conversation_state: ConversationState) -> DialogSet:
    """Every dialog Korttid runs, registered once per app."""
    return DialogSet(conversation_state.create_property("DialogState"))


async def route_message(turn: Turn, dialogs: DialogSet) -> None:
    dialog_context = await dialogs.create_context(turn.context)
    turn.dialog_context = dialog_context
    if dialog_context.active_dialog is not None:
        result = await dialog_context.continue_dialog()
        if result.status != DialogTurnStatus.Empty:
            return
    value = turn.context.activity.value
    if isinstance(value, Mapping) and isinstance(value.get("action"), str):
        await route_action(turn, value)
        return
    await route_text(turn, turn.context.activity.text or "")


async def route_text(turn: Turn, text: str) -> None:
    if contains_personal_number(text):
        await turn.say("personal_number_refused")
        return
    found = match_command(text)
    if found is None:
        await turn.say("unknown_command", text=normalize(text)[:80] or "…")
        return
    command, match = found
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
