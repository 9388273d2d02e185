"""Every button on every card reaches a handler: no card offers an action the bot ignores."""

from __future__ import annotations

import re

from dialogs.meeting import shared
from dialogs.router import ACTION_HANDLERS, INVOKE_HANDLERS
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


_VERB = re.compile(r'"verb":\s*"([a-z_]+)"')


def test_every_card_verb_has_a_handler() -> None:
    """An Action.Execute verb is answered by an invoke handler, or run like a meeting submit."""
    offered = {
        verb
        for template in TEMPLATES.glob("*.json.j2")
        for verb in _VERB.findall(template.read_text(encoding="utf-8"))
    }
    assert shared.TAKEOVER_VERB in offered  # the pattern still matches the templates
    assert offered - set(INVOKE_HANDLERS) - shared.PRESS_VERBS == set()
    assert shared.PRESS_VERBS - set(ACTION_HANDLERS) == set()  # run as that action's submit
