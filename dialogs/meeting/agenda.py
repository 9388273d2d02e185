"""The follow-up meeting agenda (seed 001) as one data structure.

The Swedish wording lives in the message catalogue (``[[meeting_agenda]]`` in
``notifications/texts.sv.toml``), so the agenda is adjusted in one place; this module reads it into
typed, checked steps that the meeting dialog, its cards, its typed prompts and the summary are
generated from. A meeting stores notes and covered topics by step id and topic id.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from typing import Any

from notifications.render import CATALOGUE
from storage.models import Role

BOT_LEADS = "bot"


class StepKind(StrEnum):
    PARTICIPANTS = "participants"  # also records who takes part
    TOPICS = "topics"
    DECISION = "decision"  # records the decision (home-going, extension, ...)
    COORDINATOR = "coordinator"  # the bot informs the coordinator; finishing it ends the meeting


@dataclass(frozen=True, slots=True)
class Topic:
    id: str
    text: str


@dataclass(frozen=True, slots=True)
class AgendaStep:
    number: int  # 1-based; a meeting's current_step
    id: str
    kind: StepKind
    title: str
    leads: tuple[str, ...]  # role ids, or "bot"
    with_person: bool  # led together with the person and relatives
    guidance: str
    topics: tuple[Topic, ...]
    show_stay: bool = False  # the card shows the stay's goal and dates

    def topic_ids(self) -> list[str]:
        return [topic.id for topic in self.topics]


@dataclass(frozen=True, slots=True)
class Agenda:
    steps: tuple[AgendaStep, ...]
    participants: tuple[tuple[str, str], ...]  # (id, Swedish label) in card order

    @property
    def total(self) -> int:
        return len(self.steps)

    def step(self, number: int) -> AgendaStep:
        """The step with this number; numbers outside the agenda are clamped into it."""
        return self.steps[min(max(number, 1), self.total) - 1]

    def participant_ids(self) -> list[str]:
        return [pid for pid, _label in self.participants]


class AgendaError(ValueError):
    """The agenda in the catalogue is malformed; raised when it is loaded, at startup."""


_ROLE_IDS = {role.value for role in Role}


def load_agenda(catalogue: Mapping[str, Any]) -> Agenda:
    raw_steps = catalogue.get("meeting_agenda")
    if not isinstance(raw_steps, list) or not raw_steps:
        raise AgendaError("the catalogue has no [[meeting_agenda]] steps")
    steps = tuple(_step(number, raw) for number, raw in enumerate(raw_steps, start=1))
    _check(steps)
    participants = tuple(
        (str(pid), str(label)) for pid, label in catalogue["meeting_participants"].items()
    )
    return Agenda(steps=steps, participants=participants)


@cache
def default_agenda() -> Agenda:
    """The agenda in Korttid's catalogue, read and checked once."""
    with CATALOGUE.open("rb") as handle:
        return load_agenda(tomllib.load(handle))


def _step(number: int, raw: Mapping[str, Any]) -> AgendaStep:
    try:
        return AgendaStep(
            number=number,
            id=str(raw["id"]),
            kind=StepKind(raw["kind"]),
            title=str(raw["title"]),
            leads=tuple(str(lead) for lead in raw["leads"]),
            with_person=bool(raw.get("with_person", False)),
            guidance=str(raw["guidance"]),
            topics=tuple(Topic(str(t["id"]), str(t["text"])) for t in raw.get("topics", [])),
            show_stay=bool(raw.get("show_stay", False)),
        )
    except (KeyError, ValueError, TypeError) as error:
        raise AgendaError(f"agenda step {number} is malformed: {error!r}") from error


def _check(steps: Sequence[AgendaStep]) -> None:
    ids = [step.id for step in steps]
    if len(set(ids)) != len(ids):
        raise AgendaError("agenda step ids must be unique")
    for step in steps:
        topic_ids = step.topic_ids()
        if len(set(topic_ids)) != len(topic_ids):
            raise AgendaError(f"topic ids of step {step.id} must be unique")
        unknown = [lead for lead in step.leads if lead != BOT_LEADS and lead not in _ROLE_IDS]
        if unknown or not step.leads:
            raise AgendaError(f"step {step.id} is led by unknown roles {unknown}")
    kinds = [step.kind for step in steps]
    if kinds.count(StepKind.DECISION) != 1 or kinds[-1] is not StepKind.COORDINATOR:
        raise AgendaError(
            "the agenda needs exactly one decision step and ends with the coordinator"
        )
