"""``hemgång KOD``: a handläggare sets, changes or cancels the home-going.

It asks the same questions as the follow-up meeting's decision (``dialogs.meeting.decision``,
one form for both paths): date, time, transport, whether home help meets the person, the
provider and its contact (required when home help meets), coordination and SIP. ``hemgång
ÄNG-042`` (or the stay card's button) shows that form, which also takes typed answers one at a
time. ``hemgång ÄNG-042 3/12 9:30`` checks the date at once; it is saved at once when the stay
already has every other answer, else the form asks for the rest. ``hemgång ÄNG-042 ställ in``
cancels. Each change tells the coordinators in the same transaction.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping
from datetime import date, time
from typing import Any

from botbuilder.core import TurnContext
from botbuilder.dialogs import (
    Dialog,
    DialogContext,
    DialogInstance,
    DialogTurnResult,
    WaterfallDialog,
    WaterfallStepContext,
)
from botbuilder.schema import ActivityTypes

from dialogs import stay_service as service
from dialogs.commands import normalize
from dialogs.forms import BACK_WORDS, Ask, FormDialog
from dialogs.meeting.decision import (
    DecisionContext,
    next_missing,
    parse_field,
    parse_form,
    without_coordination,
)
from dialogs.meeting.views import (
    DECISION_TEMPLATE,
    StayFormView,
    field_question,
    home_going_form,
)
from dialogs.parsing import InvalidInput, parse_date, parse_time
from dialogs.reach import reach_of, waiting_lines
from dialogs.stay_cards import decider_or_refuse, stay_for_action, stay_for_code
from dialogs.turn import Turn
from notifications import stay_views as views
from notifications.formatting import format_time
from notifications.given import afternoon_note_given
from storage.domain.clock import local_today
from storage.domain.pnr import contains_personal_number
from storage.models import DecisionKind, Role, Stay
from storage.repos.staff import StaffRepository
from storage.repos.stays import StayRepository

DIALOG_ID = "home_going"
FORM_ID = "home_going.form"
CANCEL_WORDS = frozenset(
    {"ställ in", "ställ in hemgången", "stall in", "avboka", "ta bort", "ingen hemgång"}
)
_TIME_PREFIX = re.compile(r"\s*(?:kl|klockan)\.?$", re.IGNORECASE)
_YEAR = re.compile(r"20\d\d")


def parse_date_and_time(text: str, today: date) -> tuple[date, time | None]:
    """'3/12 9:30', 'imorgon kl 10', 'på fredag': the date, and the time when one is given."""
    cleaned = " ".join(text.split())
    head, _, last = cleaned.rpartition(" ")
    if head and _YEAR.fullmatch(last):  # "3 dec 2026": a year, where "0930" would be a time
        with contextlib.suppress(InvalidInput):
            return parse_date(cleaned, today), None
    if head:
        try:
            at = parse_time(last)
        except InvalidInput:
            at = None
        if at is not None:
            with contextlib.suppress(InvalidInput):  # "tisdag v 12": the week, not a time
                return parse_date(_TIME_PREFIX.sub("", head), today), at
    return parse_date(cleaned, today), None


def wants_cancel(text: str) -> bool:
    return " ".join(text.lower().split()).rstrip(".!") in CANCEL_WORDS


async def home_going_command(turn: Turn, match: re.Match[str]) -> None:
    stay = await stay_for_code(turn, match.groupdict().get("code"), "home_going_usage")
    if stay is None or not await decider_or_refuse(turn, stay, "home_going"):
        return
    rest = (match.groupdict().get("rest") or "").strip()
    if rest:
        await _apply_typed(turn, stay, rest)
        return
    await _begin_form(turn, stay, {})


async def home_going_action(turn: Turn, value: Mapping[str, Any]) -> None:
    stay = await stay_for_action(turn, value, "home_going")
    if stay is None or not await decider_or_refuse(turn, stay, "home_going"):
        return
    await _begin_form(turn, stay, {})


async def _begin_form(turn: Turn, stay: Stay, typed: Mapping[str, Any]) -> None:
    assert turn.dialog_context is not None
    await turn.dialog_context.begin_dialog(DIALOG_ID, {"stay_id": stay.id, "typed": dict(typed)})


async def _apply_typed(turn: Turn, stay: Stay, text: str) -> None:
    try:
        if wants_cancel(text):
            await cancel(turn, stay)
            return
        today = local_today(turn.clock)
        day, at = parse_date_and_time(text, today)
        service.check_home_going_date(stay, day, today)
        if service.details_known(stay):
            await apply(turn, stay, day, at, None)
            return
    except InvalidInput as invalid:
        await turn.say(invalid.key, **invalid.values)
        return
    typed = {"date": day.isoformat(), **({"time": format_time(at)} if at else {})}
    await _begin_form(turn, stay, typed)


async def apply(
    turn: Turn, stay: Stay, day: date, at: time | None, details: service.HomeGoingDetails | None
) -> None:
    """Set or change, then tell the person what happened and who was told."""
    outcome = await service.set_home_going(
        turn.session, turn.profile, stay, day, at, turn.clock.now(), details
    )
    r = turn.renderer
    await turn.say(
        "home_going_saved",
        code=stay.case_code,
        change=r.catalogue["home_going_change"][outcome.change],
        when=views.home_going_when(stay),
    )
    if outcome.afternoon and at is not None:
        await turn.say("home_going_afternoon_note", time=format_time(at))
        await afternoon_note_given(turn.session, stay, turn.profile.id, turn.clock.now())
    if outcome.closing_note_reset:
        await turn.say("home_going_closing_note_reset")
    await _tell_coordinators(turn, stay, outcome.notices)


async def cancel(turn: Turn, stay: Stay) -> None:
    notices = await service.cancel_home_going(turn.session, turn.profile, stay, turn.clock.now())
    await turn.say("home_going_cancelled", code=stay.case_code)
    await _tell_coordinators(turn, stay, notices)


async def _tell_coordinators(turn: Turn, stay: Stay, notices: int) -> None:
    """Who gets the notice now, and whom it waits for (they have not opened Korttid yet)."""
    if not notices:
        await turn.say("home_going_no_coordinator")
        return
    coordinators = await StaffRepository(turn.session).in_unit_with_role(
        stay.unit_id, Role.KOORDINATOR
    )
    reach = await reach_of(turn.session, coordinators)
    lines = waiting_lines(turn.renderer, reach)
    if reach.reached:
        lines.insert(0, turn.renderer.text("home_going_told", count=len(reach.reached)))
    await turn.say_text("\n\n".join(lines))


def _known_values(stay: Stay) -> dict[str, Any]:
    """The stay's current answers, JSON-ready like the decision form's values."""
    known: dict[str, Any] = {
        "date": stay.home_going_date.isoformat() if stay.home_going_date else None,
        "time": format_time(stay.home_going_time) if stay.home_going_time else None,
        "transport": stay.transport,
        "home_help_meets": stay.home_help_meets,
        "provider_name": stay.provider_name,
        "provider_contact": stay.provider_contact,
        "coordination_needed": stay.coordination_needed,
        "health_care_only": stay.health_care_only,
        "sip_wanted": stay.sip_wanted,
    }
    return {name: value for name, value in known.items() if value is not None}


class HomeGoingForm(Ask):
    """The meeting's home-going questions as one card, or typed one at a time; ends with
    ``{"values": ...}`` (checked by ``parse_form`` / ``parse_field``) or ``{"cancel": True}``."""

    def __init__(self) -> None:
        super().__init__(FORM_ID, _parse_typed)

    async def begin_dialog(
        self, dialog_context: DialogContext, options: object = None
    ) -> DialogTurnResult:
        assert isinstance(options, dict)
        turn = Turn.of(dialog_context.context)
        stay = await _stay(turn, int(options["stay_id"]))
        typed: dict[str, Any] = dict(options.get("typed") or {})
        asking = next_missing(DecisionKind.HOME_GOING, typed)
        state = dialog_context.active_dialog.state
        state["question"] = {
            "card": {"step": FORM_ID},
            "context": {"stay_id": stay.id, "values": typed, "asking": asking},
            "free_text": False,
        }
        state["asked_at"] = turn.clock.now().isoformat()
        view = _view(turn, stay)
        await turn.show_card(DECISION_TEMPLATE, **_form(view, {**_known_values(stay), **typed}))
        if typed and asking is not None:
            await turn.say_text(field_question(view, asking))
        return Dialog.end_of_turn

    async def continue_dialog(self, dialog_context: DialogContext) -> DialogTurnResult:
        context = dialog_context.context
        if context.activity.type != ActivityTypes.message:
            return Dialog.end_of_turn
        turn = Turn.of(context)
        question = dialog_context.active_dialog.state["question"]
        value = context.activity.value
        given = value.values() if isinstance(value, Mapping) else [context.activity.text]
        if any(contains_personal_number(str(part or "")) for part in given):
            await turn.say("personal_number_refused")  # never echoed, stored or logged
            return Dialog.end_of_turn
        if isinstance(value, Mapping):
            if value.get("step") != FORM_ID:
                await turn.say("form_stale_card")
                return Dialog.end_of_turn
            if wants_cancel(str(value.get("choice") or "")):
                return await dialog_context.end_dialog({"cancel": True})
            return await self._on_card(dialog_context, turn, question, value)
        text = normalize(context.activity.text or "")
        if wants_cancel(text):
            return await dialog_context.end_dialog({"cancel": True})
        return await self._on_typed(dialog_context, turn, question, text)

    async def _on_card(
        self,
        dialog_context: DialogContext,
        turn: Turn,
        question: dict[str, Any],
        submitted: Mapping[str, Any],
    ) -> DialogTurnResult:
        stay = await _stay(turn, int(question["context"]["stay_id"]))
        view = _view(turn, stay)
        values, errors = parse_form(DecisionKind.HOME_GOING, submitted, _context(view))
        if errors:
            lines = "\n".join(f"- {turn.renderer.text(e.key, **e.values)}" for e in errors)
            await turn.say_text(turn.renderer.text("meeting_decision_not_saved") + "\n\n" + lines)
            known = {**_known_values(stay), **question["context"]["values"]}
            await turn.show_card(DECISION_TEMPLATE, **_form(view, known, submitted))
            return Dialog.end_of_turn
        return await dialog_context.end_dialog({"values": values})

    async def _on_typed(
        self, dialog_context: DialogContext, turn: Turn, question: dict[str, Any], text: str
    ) -> DialogTurnResult:
        stay = await _stay(turn, int(question["context"]["stay_id"]))
        view = _view(turn, stay)
        values: dict[str, Any] = dict(question["context"]["values"])
        if text.lower().rstrip(".!") in BACK_WORDS:
            return await self._back(turn, question, view, values)
        asking = _asking(question["context"])
        try:
            values |= _answer(view, asking, text, values)
        except InvalidInput as error:
            await turn.say_text(turn.renderer.text(error.key, **error.values))
            await turn.say_text(field_question(view, asking))
            return Dialog.end_of_turn
        missing = next_missing(DecisionKind.HOME_GOING, values)
        if missing is None:
            return await dialog_context.end_dialog({"values": without_coordination(values)})
        question["context"] = {**question["context"], "values": values, "asking": missing}
        await turn.say_text(field_question(view, missing))
        return Dialog.end_of_turn

    async def _back(
        self, turn: Turn, question: dict[str, Any], view: StayFormView, values: dict[str, Any]
    ) -> DialogTurnResult:
        """``tillbaka``: forget the last typed answer and ask its question again."""
        if not values:
            await turn.say("form_first_question")
            return Dialog.end_of_turn
        previous = list(values)[-1]
        values.pop(previous)
        question["context"] = {**question["context"], "values": values, "asking": previous}
        await turn.say_text(field_question(view, previous))
        return Dialog.end_of_turn

    async def reprompt_dialog(self, context: TurnContext, instance: DialogInstance) -> None:
        turn = Turn.of(context)
        question = instance.state["question"]
        stay = await _stay(turn, int(question["context"]["stay_id"]))
        known = {**_known_values(stay), **question["context"]["values"]}
        await turn.show_card(DECISION_TEMPLATE, **_form(_view(turn, stay), known))


async def _parse_typed(turn: Turn, text: str, context: Mapping[str, Any]) -> Any:
    """Whether typed text answers the question being asked (``Ask.accepts``)."""
    stay = await _stay(turn, int(context["stay_id"]))
    return _answer(_view(turn, stay), _asking(context), text, context["values"])


def _answer(view: StayFormView, name: str, text: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """The values one typed answer gives: "3/12 9:30" answers the date and the time at once."""
    if name == "date" and "time" not in values:
        day, at = parse_date_and_time(text, view.today)
        found = {"date": parse_field("date", day.isoformat(), _context(view), values)}
        return found | ({"time": format_time(at)} if at else {})
    return {name: parse_field(name, text, _context(view), values)}


def _asking(context: Mapping[str, Any]) -> str:
    asking = context["asking"] or next_missing(DecisionKind.HOME_GOING, context["values"])
    assert asking is not None
    return str(asking)


def _context(view: StayFormView) -> DecisionContext:
    labels: Mapping[str, str] = view.catalogue("meeting_fields")
    return DecisionContext(view.today, view.stay.decision_end_date, labels)


def _view(turn: Turn, stay: Stay) -> StayFormView:
    return StayFormView(turn.renderer, stay, local_today(turn.clock))


def _form(
    view: StayFormView, known: Mapping[str, Any], submitted: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    return home_going_form(view, FORM_ID, known, submitted)


async def _stay(turn: Turn, stay_id: int) -> Stay:
    stay = await StayRepository(turn.session).by_id(stay_id)
    assert stay is not None
    return stay


async def _parse_answer(turn: Turn, text: str, context: Mapping[str, Any]) -> dict[str, Any]:
    """The earlier date-and-time question (``home_going.when``), kept so a question saved by the
    previous release is still answered: its date and time then prefill the form."""
    if wants_cancel(text):
        return {"cancel": True}
    stay = await _stay(turn, int(context["stay_id"]))
    if not text.strip():
        raise InvalidInput("home_going_date_missing")
    day, at = parse_date_and_time(text, local_today(turn.clock))
    service.check_home_going_date(stay, day, local_today(turn.clock))
    return {"date": day.isoformat(), "time": format_time(at) if at else None}


class HomeGoingDialog(FormDialog):
    def __init__(self) -> None:
        super().__init__(DIALOG_ID)
        self.add_dialog(Ask("home_going.when", _parse_answer))
        self.add_dialog(HomeGoingForm())
        # Step order is stored by index: step 0 once asked "home_going.when", whose answer
        # reaches step 1; both kept so a dialog saved by the previous release resumes.
        self.add_dialog(
            WaterfallDialog(
                "home_going.steps", [self.form_step, self.legacy_answer_step, self.apply_step]
            )
        )
        self.initial_dialog_id = "home_going.steps"

    async def form_step(self, step: WaterfallStepContext) -> DialogTurnResult:
        step.values["stay_id"] = step.options["stay_id"]
        typed = step.options.get("typed") or {}
        return await step.begin_dialog(FORM_ID, {"stay_id": step.values["stay_id"], "typed": typed})

    async def legacy_answer_step(self, step: WaterfallStepContext) -> DialogTurnResult:
        answer: Mapping[str, Any] = step.result
        if "date" in answer:  # the old question's answer: ask the rest with the new form
            typed = {k: v for k, v in answer.items() if v is not None}
            return await step.begin_dialog(
                FORM_ID, {"stay_id": step.values["stay_id"], "typed": typed}
            )
        return await step.next(answer)

    async def apply_step(self, step: WaterfallStepContext) -> DialogTurnResult:
        turn = Turn.of(step.context)
        stay = await _stay(turn, step.values["stay_id"])
        answer: Mapping[str, Any] = step.result
        try:
            if answer.get("cancel"):
                await cancel(turn, stay)
            else:
                values = answer["values"]
                at = time.fromisoformat(values["time"]) if values.get("time") else None
                details = service.HomeGoingDetails.of(values)
                await apply(turn, stay, date.fromisoformat(values["date"]), at, details)
        except InvalidInput as invalid:
            await turn.say(invalid.key, **invalid.values)
        return await step.end_dialog()
