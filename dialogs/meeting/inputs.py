"""What a person does in the meeting, whether they press a card button or type.

Typed words are matched here (like the command table); a card's ``move`` maps to the same moves,
so the dialog handles one thing whichever way it arrived.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from dialogs.commands import normalize


class Move(StrEnum):
    NEXT = "next"
    BACK = "back"
    SKIP = "skip"
    PAUSE = "pause"
    CANCEL = "cancel"
    HELP = "help"
    NOTE = "note"
    PARTICIPANTS = "participants"
    DECIDE = "decide"  # card: a decision kind was chosen
    SAVE_DECISION = "decision_save"  # card: the decision form was sent
    LEAVE_DECISION = "decision_back"  # card: back from the decision form
    SAVE = "save"  # shared card (issue 16): the step's leader keeps ticks and note, no move


@dataclass(frozen=True, slots=True)
class Typed:
    move: Move
    text: str = ""
    topic_numbers: tuple[int, ...] | None = None  # "nästa 1 3": only these topics were covered
    marked_note: bool = False  # typed as "not: …" (a shared chat takes only these as notes)


@dataclass(frozen=True, slots=True)
class Submitted:
    """A step card's submit: the move and the inputs it carried."""

    move: Move
    meeting_id: int | None
    step: int | None
    kind: str | None
    inputs: Mapping[str, Any] = field(default_factory=dict)
    shown: frozenset[str] | None = None  # topics ticked on the card when it was shown
    note_mark: str | None = None  # the mark of the step's note when the card was shown


_NEXT = re.compile(r"^(?:nästa|nasta|vidare)(?:\s+(?P<numbers>[\d\s,.och]+))?$")
_PARTICIPANTS = re.compile(r"^(?:deltar|deltagare)\s*:?\s*(?P<rest>.+)$")
_REMOVE = re.compile(r"^(?:ta\s+bort|stryk)\s+(?P<rest>.+)$", re.IGNORECASE)
_WORDS = {
    "tillbaka": Move.BACK, "bakåt": Move.BACK,
    "hoppa över": Move.SKIP, "hoppa": Move.SKIP, "hoppa över steget": Move.SKIP,
    "pausa": Move.PAUSE, "paus": Move.PAUSE, "pausa mötet": Move.PAUSE,
    "avbryt": Move.CANCEL, "avbryt mötet": Move.CANCEL,
    "hjälp": Move.HELP, "hjalp": Move.HELP, "?": Move.HELP,
}  # fmt: skip
_NOTE = re.compile(r"^(?:not|anteckning)\s*:\s*(?P<text>.+)$", re.IGNORECASE | re.DOTALL)
_DATA_KEYS = frozenset({"action", "move", "meeting_id", "step", "kind", "shown", "note_mark"})


def read_typed(text: str) -> Typed:
    cleaned = normalize(text)
    lowered = cleaned.lower().rstrip(".!")
    if lowered in _WORDS:
        return Typed(_WORDS[lowered])
    if match := _NEXT.match(lowered):
        numbers = match.group("numbers")
        found = tuple(int(n) for n in re.findall(r"\d+", numbers)) if numbers else None
        return Typed(Move.NEXT, topic_numbers=found)
    if match := _PARTICIPANTS.match(cleaned):
        return Typed(Move.PARTICIPANTS, text=match.group("rest"))
    # "ta bort närstående" removes a participant; "ta bort ..." about anything else is a note.
    if (match := _REMOVE.match(cleaned)) and not read_participants(match["rest"])[1]:
        return Typed(Move.PARTICIPANTS, text=f"inte {match['rest']}")
    if match := _NOTE.match(text.strip()):
        return Typed(Move.NOTE, text=match.group("text").strip(), marked_note=True)
    return Typed(Move.NOTE, text=text.strip())


def read_submitted(value: Mapping[str, Any]) -> Submitted | None:
    """A meeting card's data, or None when the move is not one a card sends."""
    try:
        move = Move(str(value.get("move")))
    except ValueError:
        return None
    return Submitted(
        move=move,
        meeting_id=_int_or_none(value.get("meeting_id")),
        step=_int_or_none(value.get("step")),
        kind=str(value["kind"]) if value.get("kind") else None,
        inputs={k: v for k, v in value.items() if k not in _DATA_KEYS},
        shown=_shown(value.get("shown")),
        note_mark=value["note_mark"] if isinstance(value.get("note_mark"), str) else None,
    )


def _shown(value: Any) -> frozenset[str] | None:
    """The card's ticks as shown, so a press changes only the topics its presser changed."""
    if not isinstance(value, str):
        return None
    return frozenset(topic for topic in value.split(",") if topic)


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def is_yes(text: str) -> bool:
    return normalize(text).lower().rstrip(".!") in {"ja", "j", "ja, avbryt", "ja avbryt"}


# Typed names of participants (step 1), mapped to the ids in [meeting_participants].
PARTICIPANT_WORDS = {
    "den enskilde": "person", "enskilde": "person", "individen": "person",
    "brukaren": "person", "omsorgstagaren": "person", "personen": "person",
    "närstående": "relatives", "anhörig": "relatives", "anhöriga": "relatives",
    "handläggare": "handlaggare", "biståndshandläggare": "handlaggare",
    "socialsekreterare": "handlaggare", "handlaggare": "handlaggare",
    "sjuksköterska": "sjukskoterska", "ssk": "sjukskoterska", "sjukskoterska": "sjukskoterska",
    "rehab": "rehab", "fysioterapeut": "rehab", "arbetsterapeut": "rehab",
    "sjukgymnast": "rehab", "fysioterapeut/arbetsterapeut": "rehab",
    "undersköterska": "omsorgspersonal", "usk": "omsorgspersonal",
    "kontaktpersonal": "omsorgspersonal", "omsorgspersonal": "omsorgspersonal",
    "undersköterska/kontaktpersonal": "omsorgspersonal",
}  # fmt: skip


class Change(StrEnum):
    ADD = "add"  # deltar arbetsterapeuten, deltar också närstående
    REMOVE = "remove"  # deltar inte närstående, ta bort närstående
    ONLY = "only"  # deltar bara den enskilde och handläggaren


_CHANGE_WORDS = {"inte": Change.REMOVE, "ej": Change.REMOVE, "bara": Change.ONLY,
                 "endast": Change.ONLY, "också": Change.ADD, "även": Change.ADD}  # fmt: skip
_FILLER = re.compile(r"^(?:den|det|de|en|ett|vår|er)\s+(?=\S)")


def read_participant_change(text: str) -> tuple[Change, list[str], list[str]]:
    """'inte närstående' -> (REMOVE, ["relatives"], []); the words after the change word."""
    words = normalize(text).lower().rstrip(".!").split(" ", 1)
    change = _CHANGE_WORDS.get(words[0]) if len(words) == 2 else None
    rest = words[1] if change is not None else " ".join(words)
    found, unknown = read_participants(rest)
    return change or Change.ADD, found, unknown


def _participant_id(part: str) -> str | None:
    """A participant word, also in its definite form ('arbetsterapeuten', 'sjuksköterskan')."""
    part = _FILLER.sub("", part)
    for candidate in (part, part[:-1], part[:-2]):
        if candidate in PARTICIPANT_WORDS:
            return PARTICIPANT_WORDS[candidate]
    return None


def read_participants(text: str) -> tuple[list[str], list[str]]:
    """'den enskilde, närstående och ssk' -> (ids, words not understood)."""
    parts = re.split(r",|\boch\b|\+|;", text.lower())
    found: list[str] = []
    unknown: list[str] = []
    for part in (" ".join(p.split()) for p in parts):
        if not part:
            continue
        pid = _participant_id(part)
        if pid is None:
            unknown.append(part)
        elif pid not in found:
            found.append(pid)
    return found, unknown
