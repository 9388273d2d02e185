"""The decision of a follow-up meeting: which facts each kind needs, and checking typed values.

A card sends every field at once and a typed answer one field at a time; both go through
``parse_field``, so the same Swedish explanation follows the same mistake either way. Parsed values
are kept JSON-ready (ISO dates, ``HH:MM``, booleans) in the meeting row until the meeting is held.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, time
from typing import Any

from dialogs.parsing import InvalidInput, parse_date, parse_future_date, parse_time, yes_or_no
from notifications.formatting import format_date, format_time
from storage.domain.pnr import contains_personal_number
from storage.models import DecisionKind

_SIP = ("coordination_needed", "health_care_only", "sip_wanted")
FIELDS: dict[str, tuple[str, ...]] = {
    DecisionKind.HOME_GOING: (
        "date",
        "time",
        "transport",
        "home_help_meets",
        "provider_name",
        "provider_contact",
        *_SIP,
    ),
    DecisionKind.EXTENSION: ("end_date", "reason", *_SIP),
    DecisionKind.CARE_HOME_WAIT: _SIP,
    DecisionKind.OTHER: ("text", *_SIP),
}
# Asked only when a need for coordination remains (seed 003): whether it is health care alone
# (then the nurse calls the SIP, under HSL) and whether a SIP is wanted.
IF_COORDINATION = frozenset({"health_care_only", "sip_wanted"})
OPTIONAL = frozenset({"provider_name", "provider_contact"})
TEXT_LIMITS = {"provider_name": 120, "provider_contact": 120, "reason": 500, "text": 500}
YES_NO_FIELDS = frozenset(
    {"home_help_meets", "coordination_needed", "health_care_only", "sip_wanted"}
)
TRANSPORTS = ("own", "relatives", "fardtjanst", "sjukresa")
MORNING_ENDS = time(12, 0)

# What staff type, mapped to identifiers (like the month names in dialogs/parsing.py).
KIND_WORDS = {
    "hemgång": DecisionKind.HOME_GOING, "hemgang": DecisionKind.HOME_GOING,
    "hem": DecisionKind.HOME_GOING,
    "förlängning": DecisionKind.EXTENSION, "forlangning": DecisionKind.EXTENSION,
    "förläng": DecisionKind.EXTENSION, "förlänga": DecisionKind.EXTENSION,
    "väntplats": DecisionKind.CARE_HOME_WAIT, "vantplats": DecisionKind.CARE_HOME_WAIT,
    "säbo": DecisionKind.CARE_HOME_WAIT, "särskilt boende": DecisionKind.CARE_HOME_WAIT,
    "väntplats på särskilt boende": DecisionKind.CARE_HOME_WAIT,
    "annat": DecisionKind.OTHER, "övrigt": DecisionKind.OTHER,
}  # fmt: skip
TRANSPORT_WORDS = {
    "egen": "own", "egen transport": "own", "själv": "own", "own": "own",
    "närstående": "relatives", "narstaende": "relatives", "anhörig": "relatives",
    "anhöriga": "relatives", "närstående kör": "relatives", "relatives": "relatives",
    "färdtjänst": "fardtjanst", "fardtjanst": "fardtjanst",
    "sjukresa": "sjukresa", "sjuktransport": "sjukresa", "ambulans": "sjukresa",
}  # fmt: skip
# Words that may mean färdtjänst or not: asked, never guessed (issue 17).
ASK_TRANSPORT_WORDS = frozenset({"taxi", "taxin", "med taxi"})
TOGGLE_ON, TOGGLE_OFF = frozenset({"true"}), frozenset({"false"})  # a card's Input.Toggle
_EMAIL = re.compile(r"[^@\s,;]+@[^@\s,;]+\.[A-Za-z]{2,}")
_PHONE = re.compile(r"\+?[0-9][0-9 \-()]*[0-9]")
NONE_WORDS = frozenset({"-", "–", "ingen", "inget", "saknas", "finns inte"})


@dataclass(frozen=True, slots=True)
class DecisionContext:
    """What checking a value needs: today, the stay's decided end date, the fields' labels."""

    today: date
    decision_end_date: date | None
    labels: Mapping[str, str]


def parse_kind(text: str) -> str | None:
    return KIND_WORDS.get(_clean(text))


def fields_for(kind: str) -> tuple[str, ...]:
    return FIELDS[kind]


def asked_fields(kind: str, values: Mapping[str, Any]) -> tuple[str, ...]:
    """The kind's fields that apply given the answers so far: no SIP questions without a
    remaining need for coordination."""
    if values.get("coordination_needed") is False:
        return tuple(name for name in FIELDS[kind] if name not in IF_COORDINATION)
    return FIELDS[kind]


def next_missing(kind: str, values: Mapping[str, Any]) -> str | None:
    """The first field of the kind that has no answer yet (an optional field left empty counts)."""
    return next((name for name in asked_fields(kind, values) if name not in values), None)


def without_coordination(values: Mapping[str, Any]) -> dict[str, Any]:
    """The answers as stored: no coordination need means no SIP, by nobody."""
    if values.get("coordination_needed") is False:
        return {**values, "health_care_only": False, "sip_wanted": False}
    return dict(values)


def is_optional(name: str, known: Mapping[str, Any]) -> bool:
    """The provider and its contact may be left empty, unless home help meets the person: then
    the coordinator needs them (seed 001: "kontaktuppgifter till utförare")."""
    return name in OPTIONAL and known.get("home_help_meets") is not True


def parse_field(
    name: str, raw: str, context: DecisionContext, known: Mapping[str, Any] | None = None
) -> Any:
    """Check one answer, given the answers ``known`` before it; raises ``InvalidInput`` with a
    catalogue key the person can act on."""
    text = raw.strip()
    if not text or (name in OPTIONAL and text.lower() in NONE_WORDS):
        if is_optional(name, known or {}):
            return None
        key = "meeting_provider_required" if name in OPTIONAL else "meeting_field_missing"
        raise InvalidInput(key, {"field": context.labels[name]})
    if name == "date":
        return _home_going_date(text, context).isoformat()
    if name == "end_date":
        return _new_end_date(text, context).isoformat()
    if name == "time":
        return format_time(parse_time(text))
    if name == "transport":
        return _transport(text)
    if name in YES_NO_FIELDS:
        return _yes_no(text)
    if name == "provider_contact":
        return _contact(_short_text(name, text, context))
    return _short_text(name, text, context)


def parse_form(
    kind: str, submitted: Mapping[str, Any], context: DecisionContext
) -> tuple[dict[str, Any], list[InvalidInput]]:
    """Every field of a card at once: the values that passed, and what to fix."""
    values: dict[str, Any] = {}
    errors: list[InvalidInput] = []
    for name in FIELDS[kind]:
        if name not in asked_fields(kind, values):
            continue
        try:
            values[name] = parse_field(name, str(submitted.get(name) or ""), context, values)
        except InvalidInput as error:
            errors.append(error)
    return without_coordination(values), errors


_HELD_ON_PREFIX = re.compile(r"^(?:mötet\s+)?(?:hölls|holls|hållet|hållen)\s+", re.IGNORECASE)


def parse_held_on(text: str, arrival: date, today: date) -> date:
    """The day a meeting was held ("i dag", "2/12", "hölls 2/12"): never in the future, never
    before the stay's arrival."""
    value = parse_date(_HELD_ON_PREFIX.sub("", text.strip()), today)
    if value > today:
        raise InvalidInput("meeting_held_on_future", {"date": format_date(value)})
    if value < arrival:
        raise InvalidInput(
            "meeting_held_on_before_arrival",
            {"date": format_date(value), "arrival": format_date(arrival)},
        )
    return value


def is_afternoon(value: str | None) -> bool:
    """A home-going after 12:00: accepted, with a note that mornings are preferred."""
    return value is not None and time.fromisoformat(value) > MORNING_ENDS


def _home_going_date(text: str, context: DecisionContext) -> date:
    value = parse_future_date(text, context.today)
    end = context.decision_end_date
    if end is not None and value > end:
        raise InvalidInput(
            "meeting_home_going_after_end", {"date": format_date(value), "end": format_date(end)}
        )
    return value


def _new_end_date(text: str, context: DecisionContext) -> date:
    """After the decided end date, and after today: an extension gives the stay days ahead."""
    value = parse_future_date(text, context.today)
    if value <= context.today:
        raise InvalidInput("meeting_end_date_not_after_today", {"date": format_date(value)})
    end = context.decision_end_date
    if end is not None and value <= end:
        raise InvalidInput(
            "meeting_end_date_not_later", {"date": format_date(value), "end": format_date(end)}
        )
    return value


def _transport(text: str) -> str:
    found = TRANSPORT_WORDS.get(_clean(text))
    if _clean(text) in ASK_TRANSPORT_WORDS:
        raise InvalidInput("meeting_transport_taxi")
    if found is None:
        raise InvalidInput("meeting_transport_invalid", {"text": text[:40]})
    return found


def _contact(text: str) -> str:
    """A telephone number (7 to 15 digits) or an e-mail address the coordinator can use."""
    if _EMAIL.fullmatch(text) or (_PHONE.fullmatch(text) and 7 <= _digits(text) <= 15):
        return text
    raise InvalidInput("meeting_contact_invalid", {"text": text[:40]})


def _digits(text: str) -> int:
    return sum(char.isdigit() for char in text)


def _yes_no(text: str) -> bool:
    answer = yes_or_no(text, yes=TOGGLE_ON, no=TOGGLE_OFF)
    if answer is None:
        raise InvalidInput("meeting_yes_no_invalid", {"text": text[:40]})
    return answer


def _short_text(name: str, text: str, context: DecisionContext) -> str:
    if contains_personal_number(text):
        raise InvalidInput("personal_number_refused")
    limit = TEXT_LIMITS[name]
    if len(text) > limit:
        raise InvalidInput(
            "meeting_text_too_long",
            {"field": context.labels[name], "max": limit, "length": len(text)},
        )
    return text


def _clean(text: str) -> str:
    return " ".join(text.strip().lower().rstrip(".!").split())
