"""What the meeting shows: values for its card templates, typed questions, and the summary.

Pure functions of the agenda, the meeting row and the stay; the Swedish words come from the
catalogue and the templates, never from here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from typing import Any, Protocol

from dialogs.meeting.agenda import BOT_LEADS, Agenda, AgendaStep, StepKind
from dialogs.meeting.calls import Prepared, role_for_step
from dialogs.meeting.decision import (
    FIELDS,
    OPTIONAL,
    TEXT_LIMITS,
    TRANSPORTS,
    YES_NO_FIELDS,
    asked_fields,
)
from dialogs.meeting.notes import note_mark
from dialogs.meeting.service import STEP_OPEN, decision_part, step_record
from notifications.formatting import format_date
from notifications.meeting_summary import MeetingSummary, StepSummary
from notifications.render import Renderer
from storage.domain.calendar import stay_day_number
from storage.models import DecisionKind, FollowUpMeeting, Staff, Stay

STEP_TEMPLATE = "meeting_step"
DECISION_TEMPLATE = "meeting_decision"
TAKEOVER_TEMPLATE = "meeting_takeover"


@dataclass(frozen=True, slots=True)
class MeetingView:
    renderer: Renderer
    agenda: Agenda
    meeting: FollowUpMeeting
    stay: Stay
    today: date
    prepared: Prepared = field(default_factory=Prepared)  # issue 15: who comes, underlag

    @property
    def step(self) -> AgendaStep:
        return self.agenda.step(self.meeting.current_step)

    def text(self, key: str, **values: Any) -> str:
        return self.renderer.text(key, **values)

    def catalogue(self, section: str) -> Mapping[str, Any]:
        value: Mapping[str, Any] = self.renderer.catalogue[section]
        return value


class FormView(Protocol):
    """What a decision form needs: the stay, today and the catalogue. A meeting's view is one;
    ``hemgång KOD`` asks the same questions through a ``StayFormView``."""

    @property
    def stay(self) -> Stay: ...

    @property
    def today(self) -> date: ...

    def text(self, key: str, **values: Any) -> str: ...

    def catalogue(self, section: str) -> Mapping[str, Any]: ...


@dataclass(frozen=True, slots=True)
class StayFormView:
    renderer: Renderer
    stay: Stay
    today: date

    def text(self, key: str, **values: Any) -> str:
        return self.renderer.text(key, **values)

    def catalogue(self, section: str) -> Mapping[str, Any]:
        value: Mapping[str, Any] = self.renderer.catalogue[section]
        return value


def leads_text(view: MeetingView, step: AgendaStep) -> str:
    led_by = view.catalogue("meeting_led_by")
    names = [
        str(led_by["bot"]) if lead == BOT_LEADS else view.renderer.role_name(lead)
        for lead in step.leads
    ]
    text = " och ".join(names)
    return f"{text} {led_by['with_person']}" if step.with_person else text


def step_card(view: MeetingView, coordinators: Sequence[Staff] = ()) -> dict[str, Any]:
    """The values ``meeting_step.json.j2`` is rendered with, for the meeting's current step."""
    step, meeting = view.step, view.meeting
    record = step_record(meeting, step)
    underlag = view.prepared.underlag.get(step.id)
    # Until the step is gone through, the topics its profession marked are ticked.
    marked = record.get("covered") if "covered" in record or underlag is None else underlag.topics
    covered = set(marked or [])
    last = step.kind is StepKind.COORDINATOR
    return {
        "meeting_id": meeting.id,
        "shown": ",".join(t.id for t in step.topics if t.id in covered),
        # the personal card; a shared chat's card overrides these (dialogs/meeting/shared.py)
        "execute": False,
        "refresh": None,
        "can_move": True,
        "can_edit": True,
        "step": step.number,
        "total": view.agenda.total,
        "case_code": view.stay.case_code,
        "room": view.stay.room,
        "title": step.title,
        "leads_text": leads_text(view, step),
        "guidance": step.guidance,
        "facts": _stay_facts(view) if step.show_stay else [],
        "participants": _participants(view) if step.kind is StepKind.PARTICIPANTS else None,
        "coming": _coming(view) if step.kind is StepKind.PARTICIPANTS else None,
        "underlag": _underlag_lines(view, step),
        "topics": [
            {"id": t.id, "text": t.text, "value": "true" if t.id in covered else "false"}
            for t in step.topics
        ],
        "decision": _decision_block(view) if step.kind is StepKind.DECISION else None,
        "coordinator": _coordinator_block(view, coordinators) if last else None,
        "held_on": _held_on_input(view) if last else None,
        "with_note": not last,
        "note": record.get("note") or "",
        "note_mark": note_mark(record.get("note") or ""),
        "errors": [],  # a refused press's card sent back to its presser says what to fix
        "show_back": step.number > 1,
        "show_skip": step.kind in (StepKind.TOPICS, StepKind.PARTICIPANTS),
        "next_title": view.text("meeting_finish" if last else "meeting_next"),
        "hint": view.text(_hint_key(step)),
        "fallback_text": view.text(
            "meeting_fallback",
            code=view.stay.case_code,
            step=step.number,
            total=view.agenda.total,
            title=step.title,
            leads=leads_text(view, step),
            guidance=step.guidance,
        ),
    }


def _coming(view: MeetingView) -> str | None:
    names = ", ".join(view.prepared.coming)
    return view.text("meeting_call_coming", names=names) if names else None


def _underlag_lines(view: MeetingView, step: AgendaStep) -> list[str]:
    """The step's underlag: by whom (role, name) and when, and the note."""
    underlag = view.prepared.underlag.get(step.id)
    if underlag is None:
        return []
    lines = [
        view.text(
            "meeting_underlag_from",
            role=view.renderer.role_name(underlag.role).lower(),
            name=underlag.author_name,
            at=underlag.at_text,
            on_behalf=underlag.on_behalf,
        )
    ]
    if underlag.note:
        lines.append(view.text("meeting_underlag_note", note=underlag.note))
    return lines


def step_line(view: MeetingView, how: str) -> str:
    """The chat's record of a finished step: 'Steg 3 klart: 4 av 8 punkter, anteckning sparad'."""
    step = view.step
    record = step_record(view.meeting, step)
    if how == "skip":
        return view.text("meeting_step_line_skipped", step=step.number, title=step.title)
    return view.text(
        "meeting_step_line_done",
        step=step.number,
        title=step.title,
        covered=len(record.get("covered") or []),
        topics=len(step.topics),
        note=bool(record.get("note")),
    )


def _hint_key(step: AgendaStep) -> str:
    return {
        StepKind.PARTICIPANTS: "meeting_hint_participants",
        StepKind.DECISION: "meeting_hint_decision",
        StepKind.COORDINATOR: "meeting_hint_last",
    }.get(step.kind, "meeting_hint")


def _stay_facts(view: MeetingView) -> list[dict[str, str]]:
    stay = view.stay
    facts = [
        (view.text("meeting_fact_goal"), stay.goal),
        (view.text("meeting_fact_arrival"), format_date(stay.arrival_date)),
        (view.text("meeting_fact_day"), str(stay_day_number(stay.arrival_date, view.today))),
        (view.text("meeting_fact_deadline"), format_date(stay.followup_deadline)),
    ]
    if stay.decision_end_date is not None:
        facts.append((view.text("meeting_fact_end"), format_date(stay.decision_end_date)))
    return [{"title": title, "value": value} for title, value in facts]


def _participants(view: MeetingView) -> dict[str, Any]:
    return {
        "value": ",".join(view.meeting.participants),
        "choices": [{"title": label, "value": pid} for pid, label in view.agenda.participants],
    }


def kind_title(view: FormView, kind: str) -> str:
    return str(view.catalogue("meeting_decision_kinds")[kind])


def _decision_block(view: MeetingView) -> dict[str, Any]:
    final = decision_part(view.meeting, "final")
    kinds = [{"kind": kind.value, "title": kind_title(view, kind)} for kind in DecisionKind]
    if final is None:
        return {"heading": view.text("meeting_decision_heading_none"), "facts": [], "kinds": kinds}
    return {
        "heading": view.text(
            "meeting_decision_heading_final", kind=kind_title(view, final["kind"])
        ),
        "facts": [
            {"title": t, "value": v}
            for t, v in decision_facts(view, final["kind"], final["values"])
        ],
        "kinds": kinds,
    }


def _coordinator_block(view: MeetingView, coordinators: Sequence[Staff]) -> dict[str, Any]:
    final = decision_part(view.meeting, "final")
    names = ", ".join(c.name for c in coordinators)
    lines: list[str] = []
    warning = False
    if final is not None and final["kind"] == DecisionKind.HOME_GOING:
        if coordinators:
            line = decision_line(view, final["kind"], final["values"])
            lines.append(view.text("meeting_coordinator_preview", names=names, decision=line))
        else:
            lines.append(view.text("meeting_coordinator_missing"))
            warning = True
    elif final is not None:
        line = decision_line(view, final["kind"], final["values"])
        lines.append(view.text("meeting_coordinator_nothing", decision=line))
        if view.stay.home_going_date is not None and coordinators:
            lines.append(view.text("meeting_coordinator_cancelled", names=names))
    lines.append(view.text("meeting_finish_explained"))
    return {"lines": lines, "warning": warning}


def _held_on_input(view: MeetingView) -> dict[str, str]:
    """The day the meeting was held: today unless changed; never later, never before arrival."""
    return {
        "value": view.today.isoformat(),
        "min": view.stay.arrival_date.isoformat(),
        "max": view.today.isoformat(),
    }


def format_value(view: FormView, name: str, value: Any) -> str:
    """One decision value as a person reads it."""
    answers = view.catalogue("meeting_answers")
    if value is None or value == "":
        return str(answers["none"])
    if name in YES_NO_FIELDS:
        return str(answers["yes"] if value else answers["no"])
    if name in ("date", "end_date"):
        return format_date(date.fromisoformat(value))
    if name == "transport":
        return str(view.catalogue("transport").get(value, value))
    return str(value)


def decision_facts(view: FormView, kind: str, values: Mapping[str, Any]) -> list[tuple[str, str]]:
    labels = view.catalogue("meeting_fields")
    return [
        (str(labels[name]), format_value(view, name, values.get(name)))
        for name in asked_fields(kind, values)
    ]


def decision_line(view: FormView, kind: str, values: Mapping[str, Any]) -> str:
    """'Hemgång fredag 4 december 2026 klockan 09:30, färdtjänst'."""
    shown = {
        name: format_value(view, name, values[name]) if values.get(name) else None
        for name in ("date", "time", "transport", "end_date")
    }
    return view.text("meeting_decision_line", kind=kind_title(view, kind), **shown)


# The form as the personal chat shows it; a shared chat's card overrides these (shared.py), and a
# form sent back to be fixed lists what to fix in ``errors``.
_PERSONAL_FORM: Mapping[str, Any] = {"execute": False, "refresh": None, "errors": ()}


def decision_form(
    view: MeetingView, kind: str, submitted: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Values for ``meeting_decision.json.j2``: the kind's fields, filled with what is known."""
    draft = decision_part(view.meeting, "draft") or {}
    # A decision being changed shows what was recorded before, until new answers replace it.
    known: dict[str, Any] = {**(draft.get("prefill") or {}), **(draft.get("values") or {})}
    labels = view.catalogue("meeting_fields")
    fields = [_form_field(view, name, str(labels[name]), known, submitted) for name in FIELDS[kind]]
    return {
        "meeting_id": view.meeting.id,
        "step": view.step.number,
        "total": view.agenda.total,
        "case_code": view.stay.case_code,
        "kind": kind,
        "kind_title": kind_title(view, kind),
        "intro": view.text(f"meeting_decision_intro_{kind}"),
        "fields": fields,
        **_PERSONAL_FORM,
        "fallback_text": view.text(
            "meeting_decision_fallback", code=view.stay.case_code, kind=kind_title(view, kind)
        ),
    }


def home_going_form(
    view: FormView,
    step: str,
    known: Mapping[str, Any],
    submitted: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Values for ``meeting_decision.json.j2`` when ``hemgång KOD`` asks: the meeting's
    home-going fields, filled with what is known."""
    kind = DecisionKind.HOME_GOING
    labels = view.catalogue("meeting_fields")
    return {
        "meeting_id": None,
        "step": step,
        "total": None,
        "case_code": view.stay.case_code,
        "kind": kind,
        "kind_title": kind_title(view, kind),
        "intro": view.text("meeting_decision_intro_home_going"),
        "fields": [_form_field(view, n, str(labels[n]), known, submitted) for n in FIELDS[kind]],
        "fallback_text": view.text("home_going_form_fallback", code=view.stay.case_code),
        "planned": view.stay.home_going_date is not None,
        **_PERSONAL_FORM,
    }


def _form_field(
    view: FormView,
    name: str,
    label: str,
    known: Mapping[str, Any],
    submitted: Mapping[str, Any] | None,
) -> dict[str, Any]:
    field: dict[str, Any] = {
        "id": name,
        "label": label,
        "value": _form_value(name, known, submitted),
        "error": view.text("meeting_field_missing", field=label),
        "required": name not in OPTIONAL,
    }
    if name in ("date", "end_date"):
        field["type"] = "date"
        floor = view.today
        end = view.stay.decision_end_date
        if name == "end_date" and end is not None:
            floor = max(floor, end + timedelta(days=1))
        field["min"] = floor.isoformat()
        field["max"] = end.isoformat() if name == "date" and end else None
        # The client refuses a date outside min/max with this text: name the range, not "saknas".
        top = format_date(end) if name == "date" and end else None
        field["error"] = view.text(
            "meeting_field_date_range", field=label, first=format_date(floor), last=top
        )
    elif name == "time":
        field["type"] = "time"
    elif name == "transport":
        field["type"] = "choice"
        transport = view.catalogue("transport")
        field["choices"] = [{"title": transport[t], "value": t} for t in TRANSPORTS]
    elif name in YES_NO_FIELDS:
        field["type"] = "toggle"
    else:
        field.update(type="text", max_length=TEXT_LIMITS[name], multiline=TEXT_LIMITS[name] > 200)
        field["placeholder"] = None
    return field


def _form_value(name: str, known: Mapping[str, Any], submitted: Mapping[str, Any] | None) -> str:
    """What the input shows: what was just sent (to fix it), else what is already known."""
    if submitted is not None and name in submitted:
        return str(submitted[name] or "")
    value = known.get(name)
    if name in YES_NO_FIELDS:
        return "true" if value else "false"
    if name == "time" and value is None:
        return time(9, 0).strftime("%H:%M")  # the morning home-going the routine prefers
    return "" if value is None else str(value)


def field_question(view: FormView, name: str) -> str:
    end = view.stay.decision_end_date
    return view.text(f"meeting_ask_{name}", end=format_date(end) if end else None)


def meeting_summary(
    view: MeetingView,
    unit_name: str,
    held_on: date,
    *,
    coordinator_informed: bool,
    checklist_created: bool,
    coordinator_waiting: bool = False,
) -> MeetingSummary:
    final = decision_part(view.meeting, "final")
    assert final is not None
    labels = dict(view.agenda.participants)
    return MeetingSummary(
        case_code=view.stay.case_code,
        unit_name=unit_name,
        held_on=format_date(held_on),
        arrival=format_date(view.stay.arrival_date),
        days_after_arrival=(held_on - view.stay.arrival_date).days,
        deadline=format_date(view.stay.followup_deadline),
        goal=view.stay.goal,
        participants=[labels.get(p, p) for p in view.meeting.participants],
        steps=[_step_summary(view, step) for step in view.agenda.steps if step.topics],
        decision_title=kind_title(view, final["kind"]),
        decision_facts=decision_facts(view, final["kind"], final["values"]),
        coordinator_informed=coordinator_informed,
        coordinator_waiting=coordinator_waiting,
        checklist_created=checklist_created,
        underlag_roles=_underlag_roles(view),
    )


def _underlag_roles(view: MeetingView) -> list[str]:
    """Whose underlag the meeting had, by role and in agenda order (never by name)."""
    roles = [role_for_step(s.id) for s in view.agenda.steps if s.id in view.prepared.underlag]
    return [view.renderer.role_name(role).lower() for role in roles if role]


def _step_summary(view: MeetingView, step: AgendaStep) -> StepSummary:
    record = step_record(view.meeting, step)
    underlag = view.prepared.underlag.get(step.id)
    covered = set(record.get("covered") or [])
    return StepSummary(
        number=step.number,
        title=step.title,
        status=str(record.get("status") or STEP_OPEN),
        covered=[t.text for t in step.topics if t.id in covered],
        note=record.get("note"),
        underlag_note=underlag.note if underlag else None,
    )
