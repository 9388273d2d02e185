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
GROUP = "groupChat"  # issue 16: a group chat or a Teams meeting's chat
EVERYONE: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Command:
    id: str
    pattern: re.Pattern[str]
    scopes: frozenset[str]
    roles: frozenset[str] = EVERYONE  # empty: anyone in the registry
    # Teams' command menu holds ten per scope; a command left out is still understood, listed
    # in the help card and reached from the cards' buttons.
    menu: bool = True

    def allowed_for(self, roles: frozenset[str]) -> bool:
        return not self.roles or bool(self.roles & roles)


def _command(
    id_: str, pattern: str, scopes: set[str], roles: set[str] | None = None, *, menu: bool = True
) -> Command:
    return Command(
        id=id_,
        pattern=re.compile(rf"^(?:{pattern})$", re.IGNORECASE),
        scopes=frozenset(scopes),
        roles=frozenset(roles or ()),
        menu=menu,
    )


# issue 4: who reads stays (an administrator keeps the registry, not the cases; an enhetschef
# sees figures, not people: DOMAIN.md, issue 9)
_STAY_READERS: set[str] = {
    Role.HANDLAGGARE, Role.SJUKSKOTERSKA, Role.REHAB, Role.OMSORGSPERSONAL, Role.KOORDINATOR,
    Role.BOENDESAMORDNARE,
}  # fmt: skip

# issue 15: who is called to a follow-up meeting and answers it
_CALLED: set[str] = {Role.HANDLAGGARE, Role.SJUKSKOTERSKA, Role.REHAB, Role.OMSORGSPERSONAL}

COMMANDS: tuple[Command, ...] = (
    _command("help", r"hjälp|hjalp|help|\?", {PERSONAL, TEAM, GROUP}),
    _command(
        "link_channel",
        r"koppla\s+kanal(?:\s+(?P<unit>\S+))?",
        {TEAM},
        {Role.ENHETSCHEF, Role.ADMIN},
    ),
    # issue 6: the period is checked by the handler, so a typo gets a message saying what to type
    _command("report", r"rapport(?:\s+(?P<period>.+))?", {PERSONAL, TEAM}, {Role.ENHETSCHEF}),
    # issue 3: the follow-up meeting; a missing code gets a usage message from the handler
    _command(
        "meeting_start",
        r"uppf[öo]ljning(?:s?m[öo]te)?(?:\s+(?P<code>\S+))?",
        {PERSONAL, GROUP},
        {Role.HANDLAGGARE},
    ),
    _command(
        "meeting_takeover",
        r"ta\s+[öo]ver(?:\s+(?P<code>\S+))?",
        {PERSONAL, GROUP},
        {Role.HANDLAGGARE},
    ),
    # issue 4: stays, readiness and hospital waits; a missing code gets a usage message
    _command(
        "register_stay", r"ny\s+vistelse|registrera\s+vistelse", {PERSONAL}, {Role.HANDLAGGARE}
    ),
    # "vistelser" lists, "vistelse KOD" opens one; Teams' menu holds ten commands per scope.
    _command(
        "stays",
        r"(?:mina\s+)?vistelser?(?:\s+(?P<arg>\S+))?|(?P<everyone>alla)\s+vistelser",
        {PERSONAL},
        _STAY_READERS,
    ),
    # "checklista KOD" shows it; "klar läkemedel KOD" (inte klar, ej aktuellt) changes an item.
    _command(
        "checklist",
        r"checklista(?:\s+(?P<code>\S+))?"
        r"|(?P<status>klart?|(?:inte|ej)\s+klart?|(?:inte|ej)\s+aktuellt?)\s+(?P<item>.+?)\s+(?P<item_code>\S+)",
        {PERSONAL},
        _STAY_READERS,
    ),
    _command(
        "home_going",
        r"hemg[åa]ng(?:\s+(?P<code>\S+)(?:\s+(?P<rest>.+))?)?",
        {PERSONAL},
        {Role.HANDLAGGARE},
    ),
    # issue 17, item 11: a planned stay arrives; an acute placement's phone handover is done
    _command(
        "stay_arrived",
        r"ankommit?(?:\s+(?P<code>\S+))?",
        {PERSONAL},
        {Role.HANDLAGGARE, Role.SJUKSKOTERSKA},
        menu=False,
    ),
    _command(
        "phone_handover",
        r"[öo]verrapporter(?:at|ad|ing)(?:\s+(?P<code>\S+))?",
        {PERSONAL},
        {Role.HANDLAGGARE, Role.SJUKSKOTERSKA},
        menu=False,
    ),
    _command("close_stay", r"avsluta(?:\s+(?P<code>\S+))?", {PERSONAL}, {Role.HANDLAGGARE}),
    _command(
        "hospital_waits",
        r"utskrivningsklara?(?:\s+(?P<rest>.+))?",
        {PERSONAL},
        {Role.BOENDESAMORDNARE, Role.HANDLAGGARE},
    ),
    # issue 15: calling the follow-up meeting, answering, and every profession's underlag
    _command(
        "meeting_call",
        r"kalla(?:\s+(?P<code>\S+)(?:\s+(?P<cancel>st[äa]ll\s+in|avboka))?)?",
        {PERSONAL},
        {Role.HANDLAGGARE},
        menu=False,
    ),
    _command(
        "meeting_call_status",
        r"kallelse(?:\s+(?P<code>\S+))?",
        {PERSONAL},
        {Role.HANDLAGGARE},
        menu=False,
    ),
    _command(
        "underlag",
        r"underlag(?:\s+(?P<code>\S+)(?:\s+(?P<rest>.+))?)?",
        {PERSONAL},
        _CALLED,
        menu=False,
    ),
    _command(
        "call_coming",
        r"(?:jag\s+)?kommer(?:\s+(?P<code>\S+))?",
        {PERSONAL},
        _CALLED,
        menu=False,
    ),
    _command(
        "call_not_coming",
        r"(?:jag\s+)?kan\s+inte(?:\s+komma)?(?:\s+(?P<code>\S+)(?:\s+(?P<reason>.+))?)?",
        {PERSONAL},
        _CALLED,
        menu=False,
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
