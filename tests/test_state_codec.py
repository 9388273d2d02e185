"""The state codec writes jsonpickle's format and reads both its own and jsonpickle's."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import jsonpickle
import pytest
from botbuilder.dialogs import DialogInstance, DialogState

from bot.state_codec import decode_state, encode_state


def _meeting_state() -> dict[str, Any]:
    agenda = DialogInstance("followup_meeting_v1.agenda", {"meeting_id": 7})
    inner = DialogState([agenda])
    outer = DialogInstance("followup_meeting_v1", {"meeting_id": 7, "dialogs": inner})
    return {"DialogState": DialogState([outer])}


def _waterfall_state() -> dict[str, Any]:
    step = DialogInstance(
        "register_stay",
        {
            "options": {"unit": "ÄNG", "note": "Rullator – ny"},
            "values": {"instanceId": "5b1c", "arrival": "2026-11-17", "rooms": [1, 2.5, None]},
            "stepIndex": 3,
            "flags": {"confirmed": False, "typed": True},
        },
    )
    return {"DialogState": DialogState([step]), "other": []}


@dataclass
class Foreign:
    name: str


def _unusual_states() -> list[Any]:
    return [
        {"DialogState": DialogState([DialogInstance("x", {"pair": (1, 2)})])},
        {"DialogState": DialogState([DialogInstance("x", {"set": {1, 2}})])},
        {"DialogState": DialogState([DialogInstance("x", {"object": Foreign("a")})])},
        {"DialogState": DialogState([DialogInstance("x", {"py/tricky": "key"})])},
        {"value": float("nan")},
    ]


def _plain(value: Any) -> Any:
    """A comparable picture of a state: objects become their class and attributes."""
    if isinstance(value, DialogState | DialogInstance | Foreign):
        return (type(value).__name__, _plain(vars(value)))
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set):
        return (type(value).__name__, [_plain(item) for item in value])
    if isinstance(value, float) and value != value:
        return "nan"
    return value


@pytest.mark.parametrize("state", [_meeting_state(), _waterfall_state()])
def test_usual_states_are_written_as_jsonpickle_writes_them(state: dict[str, Any]) -> None:
    assert json.loads(encode_state(state)) == json.loads(jsonpickle.encode(state, make_refs=False))


@pytest.mark.parametrize("state", [_meeting_state(), _waterfall_state(), *_unusual_states()])
def test_every_state_reads_back_whichever_wrote_it(state: Any) -> None:
    ours = encode_state(state)
    theirs = jsonpickle.encode(state, make_refs=False)
    assert _plain(decode_state(ours)) == _plain(state)
    assert _plain(decode_state(theirs)) == _plain(state)
    assert _plain(jsonpickle.decode(ours)) == _plain(state)


def test_a_restored_dialog_stack_is_the_sdks_own_objects() -> None:
    restored = decode_state(encode_state(_meeting_state()))["DialogState"]
    assert isinstance(restored, DialogState)
    (outer,) = restored.dialog_stack
    assert isinstance(outer, DialogInstance) and outer.id == "followup_meeting_v1"
    assert isinstance(outer.state["dialogs"], DialogState)
    assert outer.state["dialogs"].dialog_stack[0].state == {"meeting_id": 7}
