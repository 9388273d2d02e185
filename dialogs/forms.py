"""Questions answered by card or by typing, for the stay dialogs.

``Ask`` shows one small card (``stay_ask.json.j2``) and waits. The answer is a pressed button's
``choice``, the card's inputs, or typed text; it goes through the step's parser, and a wrong answer
gets the parser's Swedish message while the question stays open. Only plain JSON values are kept in
the dialog state, so a stored question survives a restart.

``FormDialog`` ends itself, and hands the activity back to the router (result ``REROUTE``), when the
person presses a button of another card, types another command at a question that is not free
text, or comes back after the question has gone stale. ``avbryt`` cancels.

``tillbaka`` asks the previous question again, and a confirmation card's ``ändra:<step>`` choice
goes back to that question; either way the answers given after it are kept: each later question
whose kept answer still holds (parsed again, against what changed) is passed without being shown,
until one needs an answer (at the latest the confirmation). ``FormSteps`` (the form's waterfall)
keeps the trail of questions asked and their typed answers in its values, JSON only.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from botbuilder.core import TurnContext
from botbuilder.dialogs import (
    ComponentDialog,
    Dialog,
    DialogContext,
    DialogInstance,
    DialogReason,
    DialogTurnResult,
    DialogTurnStatus,
    WaterfallDialog,
    WaterfallStepContext,
)
from botbuilder.schema import Activity, ActivityTypes

from dialogs.commands import match_command, normalize
from dialogs.parsing import InvalidInput
from dialogs.turn import Turn
from storage.domain.pnr import contains_personal_number

REROUTE = "korttid.reroute"
CANCEL_WORDS = frozenset({"avbryt", "avbryt.", "cancel"})
BACK_WORDS = frozenset({"tillbaka", "bakåt", "ändra förra", "gå tillbaka"})
EDIT_PREFIX = "ändra:"
# Keys in the form waterfall's values: the step about to run, the questions asked, their answers,
# the question gone back to (shown again although it has a kept answer).
_INCOMING, _TRAIL, _ANSWERS, _REASK = "_incoming", "_trail", "_answers", "_reask"
STALE_AFTER = timedelta(hours=4)  # an unanswered question older than this is dropped

# Every key the card template reads, so a question only names what it sets.
INPUT_DEFAULTS: dict[str, Any] = {
    "label": None,
    "value": None,
    "placeholder": None,
    "max_length": 100,
    "multiline": False,
    "choices": [],
    "multi": False,  # a choice set where several may be ticked (issue 15: whom to call)
}

Parser = Callable[[Turn, str, Mapping[str, Any]], Awaitable[Any]]


def question(
    step: str,
    *,
    title: str,
    text: str,
    hint: str | None = None,
    progress: str | None = None,
    inputs: list[dict[str, Any]] | None = None,
    submit: str | None = None,
    buttons: list[dict[str, str]] | None = None,
    facts: list[dict[str, str]] | None = None,
    context: Mapping[str, Any] | None = None,
    free_text: bool = False,
) -> dict[str, Any]:
    """The options of one ``Ask``: card values (all JSON) and what the parser needs to know."""
    return {
        "card": {
            "step": step,
            "title": title,
            "text": text,
            "hint": hint,
            "progress": progress,
            "inputs": [INPUT_DEFAULTS | field for field in inputs or []],
            "submit": submit,
            "buttons": buttons or [],
            "facts": facts or [],
            "back": False,  # set when the question is asked inside a form with an earlier one
        },
        "context": dict(context or {}),
        "free_text": free_text,
    }


def answer_of(activity: Activity, card: Mapping[str, Any]) -> str | None:
    """The answer in a card submit or typed text; None for a submit from another question."""
    value = activity.value
    if isinstance(value, Mapping):
        if value.get("step") != card["step"]:
            return None
        if value.get("choice"):
            return str(value["choice"])
        parts = [str(value.get(field["id"]) or "").strip() for field in card["inputs"]]
        return " ".join(part for part in parts if part)
    return normalize(activity.text or "")


class Ask(Dialog):  # type: ignore[misc]
    """One question; ends with the parsed value."""

    def __init__(self, dialog_id: str, parse: Parser) -> None:
        super().__init__(dialog_id)
        self._parse = parse

    async def begin_dialog(
        self, dialog_context: DialogContext, options: object = None
    ) -> DialogTurnResult:
        assert isinstance(options, dict)
        turn = Turn.of(dialog_context.context)
        state = dialog_context.active_dialog.state
        state["question"] = options
        state["asked_at"] = turn.clock.now().isoformat()
        kept = _record_asked(dialog_context, options["card"]["step"])
        options["card"]["back"] = len((_form_values(dialog_context) or {}).get(_TRAIL, [])) > 1
        if kept is not None:
            with contextlib.suppress(InvalidInput):
                value = await self._parse(turn, kept, options["context"])
                return await dialog_context.end_dialog(value)
        await turn.show_card("stay_ask", **options["card"])
        return Dialog.end_of_turn

    async def continue_dialog(self, dialog_context: DialogContext) -> DialogTurnResult:
        context = dialog_context.context
        if context.activity.type != ActivityTypes.message:
            return Dialog.end_of_turn
        turn = Turn.of(context)
        options = dialog_context.active_dialog.state["question"]
        answer = answer_of(context.activity, options["card"])
        if answer is None:
            await turn.say("form_stale_card")
            return Dialog.end_of_turn
        if contains_personal_number(answer):
            await turn.say("personal_number_refused")
            return Dialog.end_of_turn
        try:
            value = await self._parse(turn, answer, options["context"])
        except InvalidInput as invalid:
            await turn.say(invalid.key, **invalid.values)
            return Dialog.end_of_turn
        _record_answer(dialog_context, options["card"]["step"], answer)
        return await dialog_context.end_dialog(value)

    async def accepts(self, turn: Turn, text: str, options: Mapping[str, Any]) -> bool:
        """Whether typed text is a valid answer here (then it is not taken as a command)."""
        try:
            await self._parse(turn, text, options["context"])
        except InvalidInput:
            return False
        return True

    async def reprompt_dialog(self, context: TurnContext, instance: DialogInstance) -> None:
        await Turn.of(context).show_card("stay_ask", **instance.state["question"]["card"])


def _form_values(dialog_context: DialogContext) -> dict[str, Any] | None:
    """The values of the ``FormSteps`` right under the open ``Ask``, if the form has one."""
    if len(dialog_context.stack) < 2:  # the Ask on top, the waterfall below
        return None
    values = dialog_context.stack[1].state.get(WaterfallDialog.PersistedValues)
    return values if isinstance(values, dict) and _INCOMING in values else None


def _record_asked(dialog_context: DialogContext, step: str) -> str | None:
    """Note the question in the trail; the answer kept from an earlier pass, if any."""
    values = _form_values(dialog_context)
    if values is None:
        return None
    values.setdefault(_TRAIL, []).append([*values[_INCOMING], step])
    if values.pop(_REASK, None) == step:
        return None
    kept = values.setdefault(_ANSWERS, {}).get(step)
    return kept if isinstance(kept, str) else None


def _record_answer(dialog_context: DialogContext, step: str, answer: str) -> None:
    values = _form_values(dialog_context)
    if values is not None:
        values.setdefault(_ANSWERS, {})[step] = answer


def asked_steps(values: Mapping[str, Any]) -> list[str]:
    """The steps of the questions asked so far in a ``FormSteps``, oldest first."""
    return [str(entry[2]) for entry in values.get(_TRAIL, [])]


def edit_choice(step: str) -> str:
    """The answer that takes a form back to the question ``step`` (a confirmation card's list)."""
    return f"{EDIT_PREFIX}{step}"


class FormSteps(WaterfallDialog):  # type: ignore[misc]
    """The form's waterfall: notes which step runs with which result, for going back."""

    async def on_step(self, step_context: WaterfallStepContext) -> DialogTurnResult:
        step_context.values[_INCOMING] = [step_context.index, step_context.result]
        result: DialogTurnResult = await super().on_step(step_context)
        return result


class FormDialog(ComponentDialog):  # type: ignore[misc]
    """A multi-step form of ``Ask`` questions that steps aside for other commands."""

    cancelled_key = "form_cancelled"

    async def on_continue_dialog(self, inner_dc: DialogContext) -> DialogTurnResult:
        activity = inner_dc.context.activity
        if activity.type == ActivityTypes.message:
            turn = Turn.of(inner_dc.context)
            if _is_cancel(activity):
                await inner_dc.cancel_all_dialogs()
                await turn.say(self.cancelled_key)
                return DialogTurnResult(DialogTurnStatus.Complete)
            target = _going_back_to(inner_dc)
            if target is not None:
                return await self._go_back(inner_dc, turn, target)
            reason = await self._steps_aside(inner_dc, turn)
            if reason is not None:
                await inner_dc.cancel_all_dialogs()
                await turn.say(reason)
                return DialogTurnResult(DialogTurnStatus.Complete, REROUTE)
        result: DialogTurnResult = await super().on_continue_dialog(inner_dc)
        return result

    async def _steps_aside(self, inner_dc: DialogContext, turn: Turn) -> str | None:
        """Why the form gives way to this activity (a catalogue key), or None to answer it."""
        activity = inner_dc.context.activity
        value = activity.value
        if isinstance(value, Mapping) and isinstance(value.get("action"), str):
            return "form_left"  # a button of another card
        active = inner_dc.active_dialog
        state = _question_state(inner_dc)
        if active is None or state is None:
            return None
        if _is_stale(state, turn.clock.now()):
            return "form_expired"
        typed = not isinstance(value, Mapping)
        if not typed or state["question"].get("free_text"):
            return None
        text = normalize(activity.text or "")
        if match_command(text) is None:
            return None
        # A word that answers the question ("avsluta" to confirm closing) is an answer.
        ask = await self.find_dialog(active.id)
        if isinstance(ask, Ask) and await ask.accepts(turn, text, state["question"]):
            return None
        return "form_left"

    async def _go_back(self, inner_dc: DialogContext, turn: Turn, target: str) -> DialogTurnResult:
        """Ask the question ``target`` again (``""``: the one before the open question)."""
        values = _form_values(inner_dc) or {}
        trail: list[list[Any]] = values.get(_TRAIL, [])
        previous = [entry[2] for entry in trail[:-1]]
        if not previous or (target and target not in previous):
            await turn.say("form_edit_unknown" if target else "form_first_question")
            return Dialog.end_of_turn
        position = previous.index(target) if target else len(previous) - 1
        index, incoming, step = trail[position]
        del trail[position:]
        values[_REASK] = step
        inner_dc.stack.pop(0)  # the open Ask: nothing of it is kept
        waterfall = await self.find_dialog(self.initial_dialog_id)
        assert isinstance(waterfall, FormSteps)
        result: DialogTurnResult = await waterfall.run_step(
            inner_dc, index, DialogReason.NextCalled, incoming
        )
        return result


def _going_back_to(inner_dc: DialogContext) -> str | None:
    """``""`` for ``tillbaka``, a question's step for ``ändra:<step>``, else None."""
    state = _question_state(inner_dc)
    if state is None or _form_values(inner_dc) is None:
        return None
    answer = (answer_of(inner_dc.context.activity, state["question"]["card"]) or "").lower()
    if answer.rstrip(".!") in BACK_WORDS:
        return ""
    return answer[len(EDIT_PREFIX) :] if answer.startswith(EDIT_PREFIX) else None


def _question_state(inner_dc: DialogContext) -> Mapping[str, Any] | None:
    """The state of the open ``Ask``: it is on top of the form's stack while a question waits."""
    active = inner_dc.active_dialog
    state = active.state if active is not None else None
    return state if isinstance(state, Mapping) and "question" in state else None


def question_expired(instance: DialogInstance, now: datetime) -> bool:
    """Whether the form ``instance`` waits on a question older than ``STALE_AFTER``: its next
    answer is refused (``form_expired``), so the question is not worth asking again."""
    inner = instance.state.get(ComponentDialog.persisted_dialog_state)
    stack = getattr(inner, "dialog_stack", None) or []
    state = stack[0].state if stack else None
    return isinstance(state, Mapping) and _is_stale(state, now)


def _is_stale(state: Mapping[str, Any], now: datetime) -> bool:
    asked = state.get("asked_at")
    return isinstance(asked, str) and now - datetime.fromisoformat(asked) > STALE_AFTER


def _is_cancel(activity: Activity) -> bool:
    value = activity.value
    if isinstance(value, Mapping):
        return str(value.get("choice") or "").lower() in CANCEL_WORDS
    return normalize(activity.text or "").lower() in CANCEL_WORDS


async def parse_unit(turn: Turn, text: str, context: Mapping[str, Any]) -> int:
    """A unit chosen by its number in the list, its short code or its name."""
    cleaned = text.strip().upper()
    units: list[Mapping[str, Any]] = context["units"]
    if cleaned.isdigit() and 1 <= int(cleaned) <= len(units):
        return int(units[int(cleaned) - 1]["id"])
    found = [u for u in units if cleaned in (u["code"], u["name"].upper())]
    if len(found) != 1:
        codes = ", ".join(u["code"] for u in units)
        raise InvalidInput("form_unit_unknown", {"text": text[:40], "units": codes})
    return int(found[0]["id"])
