"""Typed values in Swedish: dates and times as staff write them.

Each parser raises ``InvalidInput`` with a catalogue key and values for the Swedish message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from typing import Any

from notifications.formatting import format_date

MONTHS = {
    "jan": 1, "januari": 1, "feb": 2, "februari": 2, "mar": 3, "mars": 3, "apr": 4, "april": 4,
    "maj": 5, "jun": 6, "juni": 6, "jul": 7, "juli": 7, "aug": 8, "augusti": 8,
    "sep": 9, "sept": 9, "september": 9, "okt": 10, "oktober": 10, "nov": 11, "november": 11,
    "dec": 12, "december": 12,
}  # fmt: skip
WEEKDAYS = {
    "måndag": 0, "tisdag": 1, "onsdag": 2, "torsdag": 3, "fredag": 4, "lördag": 5, "söndag": 6,
}  # fmt: skip
RELATIVE = {
    "igår": -1,
    "i går": -1,
    "idag": 0,
    "i dag": 0,
    "imorgon": 1,
    "i morgon": 1,
    "övermorgon": 2,
    "i övermorgon": 2,
}

_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_NUMERIC = re.compile(r"^(\d{1,2})/(\d{1,2})(?:[/-](\d{2}|\d{4}))?$")
_NAMED = re.compile(r"^(\d{1,2})\s*([a-zåäö]+)\.?(?:\s+(\d{4}))?$")
_WEEKDAY = re.compile(r"^(?:på\s+|nästa\s+)?([a-zåäö]+)$")
_TIME = re.compile(r"^(?:kl\.?\s*)?(\d{1,2})(?:[:.](\d{2}))?$")

# A day/month without a year that lies further back than this means next year's date.
_ROLL_OVER_DAYS = 60


@dataclass
class InvalidInput(ValueError):
    key: str
    values: dict[str, Any] = field(default_factory=dict)


def parse_date(text: str, today: date) -> date:
    cleaned = " ".join(text.strip().lower().split())
    if cleaned in RELATIVE:
        return today + timedelta(days=RELATIVE[cleaned])
    try:
        found = _from_patterns(cleaned, today)
    except ValueError:
        found = None
    if found is None:
        raise InvalidInput("date_invalid", {"text": text.strip()[:40]})
    return found


def _from_patterns(cleaned: str, today: date) -> date | None:
    if match := _ISO.match(cleaned):
        return date(int(match[1]), int(match[2]), int(match[3]))
    if match := _NUMERIC.match(cleaned):
        return _with_year(int(match[1]), int(match[2]), match[3], today)
    if (match := _NAMED.match(cleaned)) and match[2] in MONTHS:
        return _with_year(int(match[1]), MONTHS[match[2]], match[3], today)
    if (match := _WEEKDAY.match(cleaned)) and match[1] in WEEKDAYS:
        ahead = (WEEKDAYS[match[1]] - today.weekday()) % 7 or 7
        return today + timedelta(days=ahead)
    return None


def _with_year(day: int, month: int, year: str | None, today: date) -> date:
    if year:
        return date(int(year) + (2000 if len(year) == 2 else 0), month, day)
    candidate = date(today.year, month, day)
    if (today - candidate).days > _ROLL_OVER_DAYS:
        candidate = date(today.year + 1, month, day)
    return candidate


def parse_future_date(text: str, today: date) -> date:
    """A date that is today or later."""
    value = parse_date(text, today)
    if value < today:
        raise InvalidInput("date_in_past", {"date": format_date(value)})
    return value


def parse_time(text: str) -> time:
    match = _TIME.match(text.strip().lower())
    if match:
        hour, minute = int(match[1]), int(match[2] or 0)
        if hour <= 23 and minute <= 59:
            return time(hour, minute)
    raise InvalidInput("time_invalid", {"text": text.strip()[:20]})
