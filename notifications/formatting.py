"""Dates and times the way Swedish staff read them."""

from __future__ import annotations

from datetime import date, time

SWEDISH_MONTHS = (
    "januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti", "september",
    "oktober", "november", "december",
)  # fmt: skip
SWEDISH_WEEKDAYS = ("måndag", "tisdag", "onsdag", "torsdag", "fredag", "lördag", "söndag")


def format_date(value: date) -> str:
    """'fredag 4 december 2026', as Swedish staff read dates."""
    weekday, month = SWEDISH_WEEKDAYS[value.weekday()], SWEDISH_MONTHS[value.month - 1]
    return f"{weekday} {value.day} {month} {value.year}"


def first_name(full_name: str) -> str:
    """How colleagues say a staff member's name in a sentence: "Ring Karin"."""
    return full_name.split(" ", 1)[0] if full_name.strip() else full_name


def format_time(value: time) -> str:
    """``09:30``: the value form, for payloads, stored answers and ``Input.Time`` (never shown
    as text; people read ``format_clock``)."""
    return value.strftime("%H:%M")


def format_clock(value: time | str) -> str:
    """``09.30``, as Swedish text writes a time ("kl. 09.30"); also the templates' ``clock``
    filter, so it takes a time or its ``HH:MM`` value form. Any other text is left as it is."""
    if isinstance(value, time):
        return value.strftime("%H.%M")
    try:
        return time.fromisoformat(value).strftime("%H.%M")
    except ValueError:
        return value
