"""The command table: what the bot understands, for whom and where.

The help card and the Teams manifest's ``commandLists`` are both generated from this table, so a
command cannot be listed without being understood, or understood without being listed.
Usage strings and descriptions (Swedish) live in the message catalogue.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from storage.models import Role

PERSONAL = "personal"
TEAM = "team"
EVERYONE: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Command:
    id: str
    pattern: re.Pattern[str]
    scopes: frozenset[str]
    roles: frozenset[str] = EVERYONE  # empty: anyone in the registry

    def allowed_for(self, roles: frozenset[str]) -> bool:
        return not self.roles or bool(self.roles & roles)


def _command(id_: str, pattern: str, scopes: set[str], roles: set[str] | None = None) -> Command:
    return Command(
        id=id_,
        pattern=re.compile(rf"^(?:{pattern})$", re.IGNORECASE),
        scopes=frozenset(scopes),
        roles=frozenset(roles or ()),
    )


COMMANDS: tuple[Command, ...] = (
    _command("help", r"hjälp|hjalp|help|\?", {PERSONAL, TEAM}),
    _command(
        "link_channel",
        r"koppla\s+kanal(?:\s+(?P<unit>\S+))?",
        {TEAM},
        {Role.ENHETSCHEF, Role.ADMIN},
    ),
)


def normalize(text: str) -> str:
    """Collapse white space; Teams adds non-breaking spaces and trailing newlines."""
    return " ".join(text.replace("\xa0", " ").split())


def match_command(text: str) -> tuple[Command, re.Match[str]] | None:
    cleaned = normalize(text)
    for command in COMMANDS:
        found = command.pattern.match(cleaned)
        if found:
            return command, found
    return None


def commands_for(roles: frozenset[str], scope: str) -> list[Command]:
    return [c for c in COMMANDS if scope in c.scopes and c.allowed_for(roles)]
