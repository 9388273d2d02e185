"""The conversation state's JSON: jsonpickle's format, written and read fast for what it usually is.

The state of a Korttid conversation is a dialog stack (``DialogState`` holding ``DialogInstance``
objects) around plain JSON values. jsonpickle stores any Python object, but introspects every
value to do so: a few hundred microseconds for a state of a few hundred bytes, on every turn.
These two functions write and read jsonpickle's format themselves for that usual shape, and hand
anything else to jsonpickle, so a row written either way reads back either way.
"""

from __future__ import annotations

import json
import math
from typing import Any

import jsonpickle
from botbuilder.dialogs import DialogInstance, DialogState

_TAG = "py/object"
_CLASSES: dict[type, str] = {
    DialogState: "botbuilder.dialogs.dialog_state.DialogState",
    DialogInstance: "botbuilder.dialogs.dialog_instance.DialogInstance",
}
_BY_NAME = {name: cls for cls, name in _CLASSES.items()}


class _NotPlain(Exception):
    """The value holds something only jsonpickle knows how to write or read."""


def encode_state(value: Any) -> str:
    try:
        return json.dumps(_flatten(value), ensure_ascii=False, separators=(", ", ": "))
    except _NotPlain:
        return str(jsonpickle.encode(value, make_refs=False))


def decode_state(data: str) -> Any:
    try:
        return _restore(json.loads(data))
    except _NotPlain:
        return jsonpickle.decode(data)


def _flatten(value: Any) -> Any:
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is float:
        if not math.isfinite(value):
            raise _NotPlain  # jsonpickle has its own spelling for these
        return value
    if kind is list:
        return [_flatten(item) for item in value]
    if kind is dict:
        return _flatten_dict(value)
    name = _CLASSES.get(kind)
    if name is None:
        raise _NotPlain
    return {_TAG: name, **_flatten_dict(vars(value))}


def _flatten_dict(value: dict[Any, Any]) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, item in value.items():
        if type(key) is not str or key.startswith("py/"):
            raise _NotPlain
        flat[key] = _flatten(item)
    return flat


def _restore(value: Any) -> Any:
    if isinstance(value, list):
        return [_restore(item) for item in value]
    if not isinstance(value, dict):
        return value
    if any(key.startswith("py/") and key != _TAG for key in value):
        raise _NotPlain  # tuples, sets, references: jsonpickle's
    items = {key: _restore(item) for key, item in value.items() if key != _TAG}
    if _TAG not in value:
        return items
    cls = _BY_NAME.get(value[_TAG])
    if cls is None:
        raise _NotPlain  # another class: jsonpickle's
    instance: Any = object.__new__(cls)
    instance.__dict__.update(items)
    return instance
