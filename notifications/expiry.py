"""How long a message may wait for a recipient who has not opened Korttid yet.

A message that waited past the moment it was worth sending is marked expired, never sent late
and confusingly: a home-going notice after the home-going day, a digest after the next one.
Rule nudges (follow-up reminders, readiness) are also withdrawn by the tick as soon as their
facts say they are no longer due (the meeting was held, the stay closed); their expiry only
bounds how long one can wait. Kinds this module does not know wait ``DEFAULT_WAIT``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from notifications.digest import DIGEST_KIND
from notifications.timing import start_of

DEFAULT_WAIT = timedelta(days=7)
DIGEST_WAIT = timedelta(days=7)  # the next digest says it better
HOME_GOING_PREFIX = "home_going_"


def expiry_of(kind: str, due_at: datetime, payload: Mapping[str, Any]) -> datetime:
    """The instant after which a waiting message of this kind is no longer worth sending."""
    if kind.startswith(HOME_GOING_PREFIX):
        day = _payload_date(payload)
        if day is not None:
            return start_of(day + timedelta(days=1))  # until the home-going day is over
    if kind == DIGEST_KIND:
        return due_at + DIGEST_WAIT
    return due_at + DEFAULT_WAIT


def _payload_date(payload: Mapping[str, Any]) -> date | None:
    value = payload.get("date")
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None
