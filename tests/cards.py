"""Adaptive Card checks shared by the tests: the official 1.5 schema and Teams' size limit."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

import jsonschema

# Teams rejects a message above about 28 KB; a card must leave room for the activity around it.
MAX_CARD_BYTES = 28 * 1024


@cache
def _validator() -> jsonschema.protocols.Validator:
    schema_file = resources.files("adaptive_cards") / "schemas" / "schema-1.5.json"
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    validator_class = jsonschema.validators.validator_for(schema)
    return validator_class(schema)  # type: ignore[no-any-return]


def assert_valid_card(card: dict[str, Any]) -> None:
    """Valid against the Adaptive Card 1.5 schema and small enough for Teams."""
    errors = sorted(_validator().iter_errors(card), key=lambda error: list(error.path))
    assert not errors, "; ".join(
        f"{'/'.join(map(str, e.path))}: {e.message[:200]}" for e in errors[:5]
    )
    size = len(json.dumps(card, ensure_ascii=False).encode("utf-8"))
    assert size < MAX_CARD_BYTES, f"card is {size} bytes"
    assert card.get("version") == "1.5"
