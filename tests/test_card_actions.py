"""Every button on every card reaches a handler: no card offers an action the bot ignores."""

from __future__ import annotations

import re

from dialogs.router import ACTION_HANDLERS
from notifications.render import TEMPLATES

_ACTION = re.compile(r'"action":\s*"([a-z_]+)"')


def test_every_card_action_has_a_handler() -> None:
    offered: dict[str, set[str]] = {}
    for template in TEMPLATES.glob("*.json.j2"):
        for action in _ACTION.findall(template.read_text(encoding="utf-8")):
            offered.setdefault(action, set()).add(template.name)
    assert offered, "no card actions found: the pattern no longer matches the templates"
    missing = {a: sorted(t) for a, t in offered.items() if a not in ACTION_HANDLERS}
    assert missing == {}, f"card actions without a handler: {missing}"
