"""Dev mode only: the person at the Agents Playground acts as a colleague of another role.

The Playground (0.2.28) plays one user and has no user switch, so a meeting that the
handläggare, the nurse and the physiotherapist hold together in one group chat could not be
shown in it. Typing ``demo som sjuksköterska`` makes every later message and card press of that
Playground user count as those of a nurse of one of the user's units, until ``demo som mig``.
The composition root wires this in only when ``KORTTID_ENV=dev``, which runs without inbound
authentication and on loopback only; production has no such command. The choice lives in this
process: a restart forgets it.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from storage.models import Staff
from storage.repos.staff import StaffProfile, StaffRepository

log = logging.getLogger(__name__)

COMMAND = re.compile(r"^\s*demo\s+som\s+(?P<who>.+?)\s*$", re.IGNORECASE)
SELF_WORDS = frozenset({"mig", "mig själv", "mig sjalv", "jag"})
# The words staff use for the demo's roles, to the role codes of the staff register.
ROLE_WORDS = {
    "handläggare": "handlaggare",
    "biståndshandläggare": "handlaggare",
    "sjuksköterska": "sjukskoterska",
    "ssk": "sjukskoterska",
    "fysioterapeut": "rehab",
    "arbetsterapeut": "rehab",
    "rehab": "rehab",
    "undersköterska": "omsorgspersonal",
    "kontaktpersonal": "omsorgspersonal",
    "omsorgspersonal": "omsorgspersonal",
    "koordinator": "koordinator",
    "korttidskoordinator": "koordinator",
    "boendesamordnare": "boendesamordnare",
    "enhetschef": "enhetschef",
    "chef": "enhetschef",
}


@dataclass(frozen=True, slots=True)
class Switch:
    """The answer to ``demo som …``: a catalogue key and its values."""

    key: str
    values: dict[str, str]


@dataclass
class DemoPersonas:
    """Who each Playground user is acting as: staff id of the real user -> a colleague's id."""

    _playing: dict[int, int] = field(default_factory=dict)

    @staticmethod
    def asked(text: str | None) -> str | None:
        """The words after ``demo som``, or None when the text is not that command."""
        match = COMMAND.match(text or "")
        return match.group("who").strip().lower() if match else None

    async def switch(self, real: StaffProfile, who: str, staff: StaffRepository) -> Switch:
        if who in SELF_WORDS:
            self._playing.pop(real.id, None)
            log.info("demo persona cleared for staff id=%s", real.id)
            return Switch("demo_persona_self", {"name": real.name})
        role = ROLE_WORDS.get(who)
        colleague = await _colleague(real, role, staff) if role else None
        if role is None or colleague is None or colleague.id is None:
            return Switch("demo_persona_unknown", {"who": who})
        self._playing[real.id] = colleague.id
        log.info("demo persona set for staff id=%s: staff id=%s", real.id, colleague.id)
        return Switch("demo_persona_playing", {"name": colleague.name, "role": role})

    async def acting_as(self, real: StaffProfile, staff: StaffRepository) -> StaffProfile:
        """The profile this turn acts as: the colleague chosen, else the real user."""
        chosen = self._playing.get(real.id)
        member = await staff.by_id(chosen) if chosen is not None else None
        if member is None or not member.active:
            return real
        return await staff.profile(member)


async def _colleague(real: StaffProfile, role: str, staff: StaffRepository) -> Staff | None:
    """An active staff member holding ``role`` in one of the real user's units."""
    if real.has_role(role):
        return await staff.by_id(real.id)
    for unit_id in sorted(real.unit_ids):
        for member in await staff.in_unit_with_role(unit_id, role):
            if member.active:
                return member
    return None
