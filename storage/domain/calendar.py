"""Swedish working days and the day-7 follow-up deadline (DOMAIN.md)."""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import holidays

FOLLOWUP_DAYS = 7


@lru_cache(maxsize=64)
def _swedish_holidays(year: int) -> frozenset[date]:
    # Public holidays and the three de facto ones, midsommarafton, julafton and nyårsafton, when
    # offices are closed like on a Sunday. The package lists every Sunday too; only dates matter.
    swedish = holidays.country_holidays(
        "SE", years=year, language="en_US", categories=("public", "de_facto")
    )
    return frozenset(swedish.keys())


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _swedish_holidays(day.year)


def last_working_day_on_or_before(day: date) -> date:
    while not is_working_day(day):
        day -= timedelta(days=1)
    return day


def next_working_day_on_or_after(day: date) -> date:
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def add_working_days(day: date, count: int) -> date:
    """Move ``count`` working days forward (negative: backward), skipping weekends and holidays."""
    step = 1 if count >= 0 else -1
    remaining = abs(count)
    while remaining:
        day += timedelta(days=step)
        if is_working_day(day):
            remaining -= 1
    return day


def followup_deadline(arrival: date) -> date:
    """Arrival + 7 calendar days; on a non-working day, the last working day before it."""
    return last_working_day_on_or_before(arrival + timedelta(days=FOLLOWUP_DAYS))


def stay_day_number(arrival: date, today: date) -> int:
    """Day 1 is the arrival day."""
    return (today - arrival).days + 1
