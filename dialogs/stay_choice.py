"""Commands typed without a case code: ``checklista``, ``klar slutanteckning``, ``hemgång``.

When the person has one matching stay, the command runs for it and the reply says so; with
several, a card of their stays asks which; with none, the reply says that. A matching stay is an
active stay of the person's units that they are responsible for (as handläggare or nurse), or,
when they are responsible for none, any active stay of their units.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from dialogs import stay_service as service
from dialogs.commands import match_command, normalize
from dialogs.stay_cards import stay_for_action
from dialogs.turn import Turn
from storage.models import Stay
from storage.repos.stays import StayRepository

ACTION = "with_stay"
MAX_CHOICES = 20
_PLACEHOLDER = "KOD-0"  # stands for the missing code when matching a command without one
_CODE_LIKE = re.compile(r"^(?=.*\d)(?=.*[a-zåäö])[a-zåäö0-9]+(?:-[a-zåäö0-9]+)*$", re.IGNORECASE)

Router = Callable[[Turn, str], Awaitable[None]]
# Commands whose missing code is not filled in from the active stays: ``vistelse`` lists them,
# and ``ankommit`` is about a planned stay, never an active one (issue 17, item 11).
NOT_COMPLETED = frozenset({"stays", "stay_arrived"})


def missing_code_at(text: str) -> int | None:
    """Where a case code belongs in a command that lacks one; None when it has one (or is none)."""
    cleaned = normalize(text)
    found = match_command(cleaned)
    if found is not None:
        command, match = found
        groups = match.groupdict()
        if "item_code" in groups and groups.get("item_code"):
            return None if _CODE_LIKE.match(groups["item_code"]) else len(cleaned)
        if "code" not in groups or command.id in NOT_COMPLETED:
            return None
        code = groups["code"]
        if code is None:
            return len(cleaned)
        return None if _CODE_LIKE.match(code) else match.start("code")
    padded = match_command(f"{cleaned} {_PLACEHOLDER}")
    if padded is not None and _PLACEHOLDER in {padded[1].groupdict().get("item_code")}:
        return len(cleaned)
    return None


def with_code(text: str, at: int, code: str) -> str:
    cleaned = normalize(text)
    return normalize(f"{cleaned[:at]} {code} {cleaned[at:]}")


async def complete(turn: Turn, text: str) -> str | None:
    """The command to run: as typed, or with the one matching stay's code; None when answered."""
    at = missing_code_at(text)
    found = match_command(normalize(text)) or match_command(f"{normalize(text)} {_PLACEHOLDER}")
    if at is None or found is None or not found[0].allowed_for(turn.profile.roles):
        return text
    stays = await matching_stays(turn)
    if not stays:
        await turn.say("stay_choice_none", text=normalize(text)[:60])
        return None
    if len(stays) == 1:
        await turn.say("stay_choice_one", code=stays[0].case_code)
        return with_code(text, at, stays[0].case_code)
    await _ask_which(turn, text, stays)
    return None


async def matching_stays(turn: Turn) -> Sequence[Stay]:
    unit_ids = service.visible_unit_ids(turn.profile)
    stays = await StayRepository(turn.session).active_in_units(unit_ids)
    mine = [s for s in stays if turn.profile.id in (s.handlaggare_id, s.nurse_id)]
    return mine or stays


async def _ask_which(turn: Turn, text: str, stays: Sequence[Stay]) -> None:
    r = turn.renderer
    shown = stays[:MAX_CHOICES]
    await turn.show_card(
        "stay_choice",
        title=r.text("stay_choice_title"),
        text=r.text("stay_choice_text", text=normalize(text)[:60], count=len(stays)),
        command=normalize(text)[:200],
        choices=[{"title": _choice_title(turn, s), "value": str(s.id)} for s in shown],
        value=str(shown[0].id),
        submit=r.text("stay_choice_submit"),
    )


def _choice_title(turn: Turn, stay: Stay) -> str:
    return turn.renderer.text("stay_choice_row", code=stay.case_code, room=stay.room or "–")


async def chosen(turn: Turn, value: Mapping[str, Any], route: Router) -> None:
    """The choice card's answer: run the command for the chosen stay (if the person may see it)."""
    text = str(value.get("command") or "")
    at = missing_code_at(text)
    if at is None:
        await turn.say("unknown_command", text=text[:80] or "…")
        return
    stay = await stay_for_action(turn, value, ACTION)
    if stay is not None:
        await route(turn, with_code(text, at, stay.case_code))
