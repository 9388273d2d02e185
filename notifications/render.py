"""Rendering: Adaptive Card templates (``*.json.j2``) and the Swedish message catalogue."""

from __future__ import annotations

import json
import tomllib
from functools import cached_property
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from notifications.formatting import format_clock
from storage.domain.pnr import contains_personal_number, redact_personal_numbers

TEMPLATES = Path(__file__).parent / "templates"
CATALOGUE = Path(__file__).parent / "texts.sv.toml"
CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"


class Card(dict[str, Any]):
    """A rendered Adaptive Card. Nothing changes a card once rendered, so copies share it: the
    SDK deep-copies every activity it sends, a step card's whole tree each time."""

    def __deepcopy__(self, memo: dict[int, Any]) -> Card:
        return self


class Renderer:
    """One Jinja2 environment for cards and texts; every card value goes through ``|tojson``."""

    def __init__(self, templates: Path = TEMPLATES, catalogue: Path = CATALOGUE) -> None:
        self.env = Environment(
            loader=FileSystemLoader(templates),
            undefined=StrictUndefined,
            autoescape=False,
            keep_trailing_newline=False,
        )
        self.env.policies["json.dumps_kwargs"] = {"ensure_ascii": False, "sort_keys": False}
        self.env.filters["tojson"] = _json_value
        with catalogue.open("rb") as handle:
            self.catalogue: dict[str, Any] = tomllib.load(handle)
        self.env.filters["clock"] = format_clock  # a time shown to people: "09.30"
        self.env.globals["t"] = self.text
        self.env.globals["role_name"] = self.role_name
        self.env.globals["catalogue"] = self.catalogue

    @cached_property
    def _text_templates(self) -> dict[str, Any]:
        return {
            key: self.env.from_string(value) for key, value in self.catalogue["messages"].items()
        }

    def text(self, key: str, **context: Any) -> str:
        # Messages echo what people typed ("I did not understand …"): an identity number never
        # goes back into the chat, even when a path forgot to refuse it first.
        return redact_personal_numbers(str(self._text_templates[key].render(**context)))

    def role_name(self, role: str) -> str:
        return str(self.catalogue["roles"].get(role, role))

    def command_text(self, command_id: str) -> dict[str, str]:
        return dict(self.catalogue["commands"][command_id])

    def card(self, template: str, /, **context: Any) -> Card:
        """Render ``templates/<name>.json.j2`` to an Adaptive Card dict."""
        rendered = self.env.get_template(f"{template}.json.j2").render(**context)
        card = json.loads(rendered)
        if _may_hold_personal_number(rendered):
            card = _redacted(card)
        return Card(card)


def _json_value(value: Any) -> str:
    """A card value as JSON. Jinja's own ``tojson`` also HTML-escapes < > & ' (for a value in a
    web page's script), which a JSON card does not need: the parsed card is the same, and each
    of a card's seventy-odd values costs one call instead of five."""
    return json.dumps(value, ensure_ascii=False)


def _may_hold_personal_number(rendered: str) -> bool:
    """Whether the card needs the full walk: seldom, so most cards skip it.

    JSON writes whitespace in strings as escapes (``\\n``, ``\\u001f``), which would hide a
    number split by one from a search of the text; any escape at all sends the card to the walk.
    """
    return "\\" in rendered or contains_personal_number(rendered)


def _redacted(node: Any) -> Any:
    """A card may show back what was typed (a refused form): never with an identity number."""
    if isinstance(node, str):
        return redact_personal_numbers(node)
    if isinstance(node, dict):
        return {key: _redacted(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_redacted(value) for value in node]
    return node
