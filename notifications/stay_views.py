"""What the stay cards show: facts of a stay turned into the values the templates print.

Pure functions of the facts, today and the catalogue: the list row (day number, follow-up status,
planned home-going, readiness traffic light), the stay card, the checklist and the hospital waits.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from notifications.formatting import SWEDISH_MONTHS, SWEDISH_WEEKDAYS, format_clock, format_date
from notifications.render import Renderer
from storage.domain.calendar import add_working_days, stay_day_number
from storage.domain.clock import STOCKHOLM
from storage.domain.payment import PaymentResponsibility
from storage.domain.readiness import CHECKLIST
from storage.models import HospitalWait, ReadinessItem, ReadinessStatus, Stay, StayStatus

# Adaptive Card colours readable on Teams' light theme: its "Good" (light green) and "Warning"
# (yellow) are too faint for text, so done is plain text with a tick, soon is accent blue and
# overdue red; the words and icons say the same, for those who cannot tell colours apart.
GOOD, WARNING, ATTENTION, DEFAULT = "Default", "Accent", "Attention", "Default"
STATUS_ICONS = {
    ReadinessStatus.READY: "✔",
    ReadinessStatus.NOT_APPLICABLE: "–",
    ReadinessStatus.NOT_READY: "○",
}
SOON_WORKING_DAYS = 2  # readiness turns red this close to home-going (the nudge table's horizon)
_ORDER = {kind.value: index for index, (kind, _role) in enumerate(CHECKLIST)}
STATUS_COLORS = {
    ReadinessStatus.READY: GOOD,
    ReadinessStatus.NOT_APPLICABLE: DEFAULT,
    ReadinessStatus.NOT_READY: WARNING,
}


def short_date(value: date) -> str:
    """'fre 27 nov', for lists where the full date is too long."""
    return (
        f"{SWEDISH_WEEKDAYS[value.weekday()][:3]} {value.day} {SWEDISH_MONTHS[value.month - 1][:3]}"
    )


def labels(renderer: Renderer, section: str) -> Mapping[str, str]:
    stay_sections: Mapping[str, Mapping[str, str]] = renderer.catalogue["stay"]
    return stay_sections[section]


def sorted_items(items: Iterable[ReadinessItem]) -> list[ReadinessItem]:
    return sorted(items, key=lambda item: _ORDER.get(item.kind, len(_ORDER)))


# --- small facts ---


def followup_status(renderer: Renderer, stay: Stay, today: date) -> tuple[str, str]:
    """(text, colour): held, overdue, due today, or due in N days."""
    if stay.followup_held_on is not None:
        return renderer.text("stay_followup_held", date=short_date(stay.followup_held_on)), GOOD
    deadline = stay.followup_deadline
    if stay.status != StayStatus.ACTIVE:
        return renderer.text("stay_followup_not_held"), DEFAULT
    if today > deadline:
        return renderer.text("stay_followup_overdue", date=short_date(deadline)), ATTENTION
    days = (deadline - today).days
    if days == 0:
        return renderer.text("stay_followup_today"), WARNING
    color = WARNING if days <= SOON_WORKING_DAYS else DEFAULT
    return renderer.text("stay_followup_due", days=days, date=short_date(deadline)), color


def readiness_light(
    renderer: Renderer, stay: Stay, items: Sequence[ReadinessItem], today: date
) -> tuple[str, str]:
    """(text, colour) of the traffic light: green all done, red gaps close to home-going."""
    if not items:
        return renderer.text("readiness_light_none"), DEFAULT
    missing = sum(1 for item in items if item.status == ReadinessStatus.NOT_READY)
    if missing == 0:
        return renderer.text("readiness_light_green"), GOOD
    soon = stay.home_going_date is not None and stay.home_going_date <= add_working_days(
        today, SOON_WORKING_DAYS
    )
    key, color = ("readiness_light_red", ATTENTION) if soon else ("readiness_light_yellow", WARNING)
    return renderer.text(key, missing=missing, total=len(items)), color


def home_going_when(stay: Stay, *, short: bool = False) -> str:
    """'fredag 27 november 2026 kl. 09:30' (or just the date when no time is set)."""
    assert stay.home_going_date is not None
    day = short_date(stay.home_going_date) if short else format_date(stay.home_going_date)
    if stay.home_going_time is None:
        return day
    return f"{day} kl. {format_clock(stay.home_going_time)}"


def home_going_text(renderer: Renderer, stay: Stay, *, short: bool = False) -> str:
    if stay.home_going_date is None:
        return renderer.text("stay_home_going_none")
    return renderer.text("stay_home_going", when=home_going_when(stay, short=short))


# --- the list ---


def stay_row(
    renderer: Renderer, stay: Stay, items: Sequence[ReadinessItem], today: date
) -> dict[str, Any]:
    followup, followup_color = followup_status(renderer, stay, today)
    light, light_color = readiness_light(renderer, stay, items, today)
    return {
        "stay_id": stay.id,
        "title": renderer.text("stay_row_title", code=stay.case_code, room=stay.room or ""),
        "day": renderer.text("stay_day", day=stay_day_number(stay.arrival_date, today)),
        "followup": followup,
        "followup_color": followup_color,
        "home_going": home_going_text(renderer, stay, short=True),
        "readiness": light,
        "readiness_color": light_color,
    }


# --- one stay ---


@dataclass(frozen=True, slots=True)
class StayPeople:
    unit_name: str
    handlaggare: str | None
    nurse: str | None


def stay_facts(
    renderer: Renderer, stay: Stay, people: StayPeople, today: date
) -> list[dict[str, str]]:
    followup, _ = followup_status(renderer, stay, today)
    acute = renderer.text(
        "stay_acute_yes" if stay.acute else "stay_acute_no",
        handover=stay.phone_handover_done,
    )
    facts = [
        ("stay_fact_unit", people.unit_name),
        ("stay_fact_arrival", format_date(stay.arrival_date)),
        (
            "stay_fact_decision_end",
            format_date(stay.decision_end_date) if stay.decision_end_date else "–",
        ),
        ("stay_fact_goal", stay.goal),
        ("stay_fact_acute", acute),
        ("stay_fact_handlaggare", people.handlaggare or "–"),
        ("stay_fact_nurse", people.nurse or "–"),
        ("stay_fact_followup", followup),
    ]
    return [{"title": renderer.text(key), "value": value} for key, value in facts]


def decision_facts(renderer: Renderer, stay: Stay) -> list[dict[str, str]]:
    """What has been decided, under the heading ``decision_heading``: empty while nothing is."""
    facts: list[tuple[str, str]] = []
    if stay.home_going_date:
        facts.append(("stay_fact_home_going", home_going_when(stay)))
    if stay.transport:
        transport = renderer.catalogue["transport"].get(stay.transport, stay.transport)
        facts.append(("stay_fact_transport", transport))
    if stay.home_help_meets is not None:
        facts.append(
            (
                "stay_fact_home_help_meets",
                renderer.text("stay_yes" if stay.home_help_meets else "stay_no"),
            )
        )
    if stay.provider_name or stay.provider_contact:
        provider = ", ".join(p for p in (stay.provider_name, stay.provider_contact) if p)
        facts.append(("stay_fact_provider", provider))
    if stay.sip_wanted is not None:
        facts.append(("stay_fact_sip", renderer.text("stay_yes" if stay.sip_wanted else "stay_no")))
    if stay.status == StayStatus.CLOSED and stay.close_reason:
        facts.append(("stay_fact_closed", labels(renderer, "close_reason")[stay.close_reason]))
    return [{"title": renderer.text(key), "value": value} for key, value in facts]


def decision_heading(renderer: Renderer, stay: Stay) -> str:
    """'Beslut: Hemgång', so the kind is not repeated as a fact under a 'Beslut' heading."""
    if not stay.decision_kind:
        return renderer.text("stay_fact_decision")
    kind = labels(renderer, "decision_kind")[stay.decision_kind]
    return renderer.text("stay_decision_heading", kind=kind)


def timeline(
    renderer: Renderer, stay: Stay, today: date, meetings_held: Sequence[date] = ()
) -> list[dict[str, str]]:
    """Arrival, follow-up, later meetings, decision end, home-going, departure: in date order,
    marked done. ``meetings_held``: the days the stay's meetings were held; the first is the
    follow-up that counts, later ones are listed after it and never take its place."""
    events: list[tuple[date, str, dict[str, Any]]] = [
        (stay.arrival_date, "timeline_arrival", {}),
    ]
    if stay.followup_held_on is not None:
        events.append((stay.followup_held_on, "timeline_followup_held", {}))
    else:
        deadline = {"date": short_date(stay.followup_deadline)}
        events.append((stay.followup_deadline, "timeline_followup_deadline", deadline))
    later = list(meetings_held)
    if stay.followup_held_on in later:
        later.remove(stay.followup_held_on)
    events.extend((day, "timeline_followup_later", {}) for day in later)
    if stay.decision_end_date is not None:
        events.append((stay.decision_end_date, "timeline_decision_end", {}))
    if stay.home_going_date is not None:
        events.append((stay.home_going_date, "timeline_home_going", {}))
    if stay.departure_date is not None:
        length = (stay.departure_date - stay.arrival_date).days
        events.append((stay.departure_date, "timeline_departure", {"days": length}))
    events.sort(key=lambda event: event[0])
    return [
        {
            "date": short_date(day),
            "text": renderer.text(key, **values),
            "mark": _mark(day, key, stay, today),
        }
        for day, key, values in events
    ]


def _mark(day: date, key: str, stay: Stay, today: date) -> str:
    if key == "timeline_followup_deadline" and day < today and stay.status == StayStatus.ACTIVE:
        return "⚠️"
    return "✓" if day <= today else "○"


def checklist_rows(renderer: Renderer, items: Sequence[ReadinessItem]) -> list[dict[str, str]]:
    names = labels(renderer, "readiness_item")
    statuses = labels(renderer, "readiness_status")
    return [
        {
            "kind": item.kind,
            "label": names.get(item.kind, item.kind),
            "role": renderer.role_name(item.responsible_role),
            "status": item.status,
            "status_text": f"{STATUS_ICONS[ReadinessStatus(item.status)]} {statuses[item.status]}",
            "color": STATUS_COLORS.get(ReadinessStatus(item.status), DEFAULT),
        }
        for item in sorted_items(items)
    ]


def checklist_summary(renderer: Renderer, items: Sequence[ReadinessItem]) -> str:
    done = sum(1 for item in items if item.status != ReadinessStatus.NOT_READY)
    return renderer.text("readiness_summary", done=done, total=len(items))


# --- hospital waits ---


def notified_text(notified_at: datetime) -> str:
    local = notified_at.astimezone(STOCKHOLM)
    return f"{short_date(local.date())} kl. {format_clock(local.time())}"


def kronor(amount: int) -> str:
    """'19 600 kr' with a non-breaking thin space, as Swedish figures are written."""
    return f"{amount:,}".replace(",", "\u00a0") + "\u00a0kr"


def payment_text(renderer: Renderer, payment: PaymentResponsibility) -> tuple[str, str]:
    first = short_date(payment.first_day)
    if payment.days == 0:
        return renderer.text("wait_payment_not_yet", date=first), DEFAULT
    if payment.amount is None:
        return renderer.text("wait_payment_unpriced", date=first, days=payment.days), ATTENTION
    return (
        renderer.text("wait_payment", date=first, days=payment.days, amount=kronor(payment.amount)),
        ATTENTION,
    )


def wait_row(
    renderer: Renderer,
    wait: HospitalWait,
    unit_code: str,
    payment: PaymentResponsibility,
    today: date,
) -> dict[str, Any]:
    text, color = payment_text(renderer, payment)
    notified_day = wait.notified_at.astimezone(STOCKHOLM).date()
    return {
        "wait_id": wait.id,
        "title": renderer.text("wait_row_title", code=wait.case_code, unit=unit_code),
        "notified": renderer.text(
            "wait_notified", when=notified_text(wait.notified_at), days=(today - notified_day).days
        ),
        "payment": text,
        "payment_color": color,
        "code": wait.case_code,
    }
