"""The text a handläggare pastes into the case system after a follow-up meeting.

Built from plain data so it can be rendered and tested without a conversation. It never holds a
name or a personal identity number: the stay is its case code, people are their roles.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from notifications.render import Renderer

SUMMARY_TEMPLATE = "meeting_summary.txt.j2"


@dataclass(frozen=True, slots=True)
class StepSummary:
    number: int
    title: str
    status: str  # done, skipped or open
    covered: Sequence[str]
    note: str | None
    underlag_note: str | None = None  # issue 15: what the step's profession wrote before


@dataclass(frozen=True, slots=True)
class MeetingSummary:
    case_code: str
    unit_name: str
    held_on: str  # formatted date
    arrival: str
    days_after_arrival: int
    deadline: str  # formatted: "senast 7 dagar efter ankomst"
    goal: str
    participants: Sequence[str]
    steps: Sequence[StepSummary]
    decision_title: str
    decision_facts: Sequence[tuple[str, str]]
    coordinator_informed: bool  # a notice was queued for the coordinator
    checklist_created: bool
    underlag_roles: Sequence[str] = ()  # issue 15: whose underlag the meeting had, by role
    # No coordinator has opened Korttid yet: the notice waits for them, nobody has it.
    coordinator_waiting: bool = False


def render_meeting_summary(renderer: Renderer, summary: MeetingSummary) -> str:
    template = renderer.env.get_template(SUMMARY_TEMPLATE)
    return template.render(summary=summary).strip()
