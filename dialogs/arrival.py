"""Registration before arrival (issue 17, item 11; seed 000).

``ankommit KOD`` (or the stay card's button): a planned stay becomes active on the day the person
comes; the day-7 deadline runs from that day. ``överrapporterat KOD`` (or the nudge's button):
the phone handover of an acute placement is done, which ends the nurse's nudge.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from dialogs import stay_service as service
from dialogs.parsing import InvalidInput
from dialogs.stay_cards import show_stay, stay_for_action, stay_for_code
from dialogs.turn import Turn
from notifications.formatting import format_date
from storage.models import Role, Stay

ARRIVED_ACTION = "stay_arrived"
HANDOVER_ACTION = "phone_handover"
# Who receives the person and takes the handover: the same roles as the commands.
ROLES = frozenset({Role.HANDLAGGARE, Role.SJUKSKOTERSKA})


async def arrived_command(turn: Turn, match: re.Match[str]) -> None:
    await _arrive(turn, await stay_for_code(turn, match.groupdict().get("code"), "arrival_usage"))


async def arrived_action(turn: Turn, value: Mapping[str, Any]) -> None:
    await _arrive(turn, await stay_for_action(turn, value, ARRIVED_ACTION))


async def handover_command(turn: Turn, match: re.Match[str]) -> None:
    code = match.groupdict().get("code")
    await _handover(turn, await stay_for_code(turn, code, "handover_usage"))


async def handover_action(turn: Turn, value: Mapping[str, Any]) -> None:
    await _handover(turn, await stay_for_action(turn, value, HANDOVER_ACTION))


async def _allowed(turn: Turn, stay: Stay | None) -> bool:
    if stay is None:
        return False
    if not any(turn.profile.has_role(role) for role in ROLES):
        await turn.say("stay_refused")
        return False
    return True


async def _arrive(turn: Turn, stay: Stay | None) -> None:
    if stay is None or not await _allowed(turn, stay):
        return
    try:
        linked = await service.confirm_arrival(turn.session, turn.profile, stay, turn.clock.now())
    except InvalidInput as invalid:
        await turn.say(invalid.key, **invalid.values)
        return
    deadline = format_date(stay.followup_deadline)
    await turn.say("arrival_confirmed", code=stay.case_code, deadline=deadline)
    if linked is not None:
        await turn.say("stay_wait_linked", code=stay.case_code)
    await show_stay(turn, stay)


async def _handover(turn: Turn, stay: Stay | None) -> None:
    if stay is None or not await _allowed(turn, stay):
        return
    try:
        await service.record_handover(turn.session, turn.profile, stay)
    except InvalidInput as invalid:
        await turn.say(invalid.key, **invalid.values)
        return
    await turn.say("handover_recorded", code=stay.case_code)
