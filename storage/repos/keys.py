"""Primary keys that come from outside (a card's payload) are checked before they reach SQL."""

from __future__ import annotations

# Ids are 32-bit integer columns (PostgreSQL ``integer``); a card can carry any number.
MAX_ID = 2**31 - 1


def is_possible_id(value: int) -> bool:
    """False for an id no row can have: asking the database would fail, not find nothing."""
    return 0 < value <= MAX_ID
