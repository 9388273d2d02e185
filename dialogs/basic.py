"""One-turn commands: help and linking a channel to a unit."""

from __future__ import annotations

import re

from dialogs.commands import TEAM, commands_for
from dialogs.turn import Turn
from storage.models import Role
from storage.repos.conversations import ConversationRepository
from storage.repos.units import UnitRepository


async def show_help(turn: Turn, _match: re.Match[str] | None = None) -> None:
    units = await UnitRepository(turn.session).by_ids(turn.profile.unit_ids)
    commands = [
        turn.renderer.command_text(command.id)
        for command in commands_for(turn.profile.roles, turn.scope)
    ]
    await turn.show_card(
        "help",
        name=turn.profile.name,
        roles=[turn.renderer.role_name(role) for role in sorted(turn.profile.roles)],
        units=[unit.name for unit in units],
        commands=commands,
    )


async def link_channel(turn: Turn, match: re.Match[str]) -> None:
    units = await UnitRepository(turn.session).by_ids(turn.profile.unit_ids)
    example = units[0].code if units else "ENHET"
    if turn.scope != TEAM or turn.conversation is None:
        await turn.say("channel_only")
        return
    code = match.group("unit")
    if not code:
        await turn.say("link_usage", example=example)
        return
    unit = next((u for u in units if u.code == code.upper()), None)
    if unit is None or unit.id is None:
        names = ", ".join(u.code for u in units) or "inga"
        await turn.say("unit_not_found", code=code, units=names)
        return
    if not turn.profile.has_role(Role.ENHETSCHEF, Role.ADMIN):
        await turn.say("link_not_allowed")
        return
    await ConversationRepository(turn.session).link_unit(turn.conversation, unit.id)
    await turn.audit("channel.link", unit_id=unit.id, detail={"conversation": turn.conversation.id})
    await turn.say("channel_linked", unit=unit.name)
