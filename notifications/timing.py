"""When Korttid may speak: working days (Swedish calendar), 07:00–18:00 Europe/Stockholm.

Every instant here is aware; conversions go through ``zoneinfo`` so the daylight-saving change
moves 07:00 local between 05:00 and 06:00 UTC without anyone noticing.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from storage.domain.calendar import is_working_day, next_working_day_on_or_after
from storage.domain.clock import STOCKHOLM

MORNING = time(7, 0)
EVENING = time(18, 0)


def local_date(instant: datetime) -> date:
    return instant.astimezone(STOCKHOLM).date()


def at_local(day: date, moment: time) -> datetime:
    """The UTC instant of a Stockholm wall-clock time on a day."""
    return datetime.combine(day, moment, tzinfo=STOCKHOLM).astimezone(UTC)


def morning_of(day: date) -> datetime:
    return at_local(day, MORNING)


def start_of(day: date) -> datetime:
    """Local midnight at the start of ``day``."""
    return at_local(day, time(0, 0))


def is_sending_time(instant: datetime) -> bool:
    """Working day and 07:00 <= local time < 18:00."""
    local = instant.astimezone(STOCKHOLM)
    return is_working_day(local.date()) and MORNING <= local.time() < EVENING


def next_sending_start(instant: datetime) -> datetime:
    """``instant`` itself when Korttid may speak then, else the next working morning."""
    if is_sending_time(instant):
        return instant.astimezone(UTC)
    day = local_date(instant)
    if is_working_day(day) and instant.astimezone(STOCKHOLM).time() < MORNING:
        return morning_of(day)
    return morning_of(next_working_day_on_or_after(day + timedelta(days=1)))
