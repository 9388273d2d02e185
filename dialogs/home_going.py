"""``hemgång KOD``: a handläggare sets, changes or cancels the home-going date and time.

``hemgång ÄNG-042 3/12 9:30`` and ``hemgång ÄNG-042 ställ in`` do it at once; ``hemgång ÄNG-042``
(or the stay card's button) asks with a card that also takes a typed answer. The dates follow the
meeting's rule (not in the past, not after the stay's decided end date); a time after 12:00 is
accepted with a gentle note. Each change tells the coordinators in the same transaction.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping
from datetime import date, time
from typing import Any

from botbuilder.dialogs import DialogTurnResult, WaterfallStepContext

from dialogs import stay_service as service
from dialogs.forms import Ask, FormDialog, FormSteps, question
from dialogs.parsing import InvalidInput, parse_date, parse_time
from dialogs.stay_cards import decider_or_refuse, stay_for_action, stay_for_code
from dialogs.turn import Turn
from notifications import stay_views as views
from notifications.formatting import format_date, format_time
from storage.domain.clock import local_today
from storage.models import Stay
from storage.repos.stays import StayRepository

DIALOG_ID = "home_going"
CANCEL_WORDS = frozenset(
    {"ställ in", "ställ in hemgången", "stall in", "avboka", "ta bort", "ingen hemgång"}
)
_TIME_PREFIX = re.compile(r"\s*(?:kl|klockan)\.?$", re.IGNORECASE)


def parse_date_and_time(text: str, today: date) -> tuple[date, time | None]:
    """'3/12 9:30', 'imorgon kl 10', 'på fredag': the date, and the time when one is given."""
    cleaned = " ".join(text.split())
    head, _, last = cleaned.rpartition(" ")
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
    assert turn.dialog_context is not None
    await turn.dialog_context.begin_dialog(DIALOG_ID, {"stay_id": stay.id})


async def home_going_action(turn: Turn, value: Mapping[str, Any]) -> None:
    stay = await stay_for_action(turn, value, "home_going")
    if stay is None or not await decider_or_refuse(turn, stay, "home_going"):
        return
    assert turn.dialog_context is not None
    await turn.dialog_context.begin_dialog(DIALOG_ID, {"stay_id": stay.id})


async def _apply_typed(turn: Turn, stay: Stay, text: str) -> None:
    try:
        if wants_cancel(text):
            await cancel(turn, stay)
        else:
            day, at = parse_date_and_time(text, local_today(turn.clock))
            await apply(turn, stay, day, at)
    except InvalidInput as invalid:
        await turn.say(invalid.key, **invalid.values)


async def apply(turn: Turn, stay: Stay, day: date, at: time | None) -> None:
    """Set or change, then tell the person what happened and who was told."""
    outcome = await service.set_home_going(
        turn.session, turn.profile, stay, day, at, turn.clock.now()
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
    if outcome.closing_note_reset:
        await turn.say("home_going_closing_note_reset")
    await _tell_coordinators(turn, outcome.notices)


async def cancel(turn: Turn, stay: Stay) -> None:
    notices = await service.cancel_home_going(turn.session, turn.profile, stay, turn.clock.now())
    await turn.say("home_going_cancelled", code=stay.case_code)
    await _tell_coordinators(turn, notices)


async def _tell_coordinators(turn: Turn, notices: int) -> None:
    await turn.say("home_going_told" if notices else "home_going_no_coordinator", count=notices)


async def _parse_answer(turn: Turn, text: str, context: Mapping[str, Any]) -> dict[str, Any]:
    """The card's date and time (or typed text): checked now, so a mistake is asked again."""
    if wants_cancel(text):
        return {"cancel": True}
    stay = await StayRepository(turn.session).by_id(int(context["stay_id"]))
    assert stay is not None
    if not text.strip():
        raise InvalidInput("home_going_date_missing")
    day, at = parse_date_and_time(text, local_today(turn.clock))
    service.check_home_going_date(stay, day, local_today(turn.clock))
    return {"date": day.isoformat(), "time": format_time(at) if at else None}


class HomeGoingDialog(FormDialog):
    def __init__(self) -> None:
        super().__init__(DIALOG_ID)
        self.add_dialog(Ask("home_going.when", _parse_answer))
        self.add_dialog(FormSteps("home_going.steps", [self.ask_step, self.apply_step]))
        self.initial_dialog_id = "home_going.steps"

    async def ask_step(self, step: WaterfallStepContext) -> DialogTurnResult:
        turn = Turn.of(step.context)
        step.values["stay_id"] = step.options["stay_id"]
        stay = await StayRepository(turn.session).by_id(step.values["stay_id"])
        assert stay is not None
        r = turn.renderer
        end = format_date(stay.decision_end_date) if stay.decision_end_date else None
        buttons = []
        if stay.home_going_date is not None:
            buttons.append({"title": r.text("home_going_button_cancel"), "choice": "ställ in"})
        ask = question(
            "home_going.when",
            title=r.text("home_going_title", code=stay.case_code),
            text=r.text("home_going_ask", current=views.home_going_text(r, stay), end=end),
            hint=r.text("home_going_hint", code=stay.case_code),
            inputs=[
                {
                    "id": "date",
                    "type": "date",
                    "label": r.text("home_going_label_date"),
                    "value": stay.home_going_date.isoformat() if stay.home_going_date else None,
                },
                {
                    "id": "time",
                    "type": "time",
                    "label": r.text("home_going_label_time"),
                    "value": format_time(stay.home_going_time) if stay.home_going_time else None,
                },
            ],
            submit=r.text("form_save"),
            buttons=buttons,
            context={"stay_id": stay.id},
        )
        return await step.begin_dialog("home_going.when", ask)

    async def apply_step(self, step: WaterfallStepContext) -> DialogTurnResult:
        turn = Turn.of(step.context)
        stay = await StayRepository(turn.session).by_id(step.values["stay_id"])
        assert stay is not None
        answer: Mapping[str, Any] = step.result
        try:
            if answer.get("cancel"):
                await cancel(turn, stay)
            else:
                at = time.fromisoformat(answer["time"]) if answer.get("time") else None
                await apply(turn, stay, date.fromisoformat(answer["date"]), at)
        except InvalidInput as invalid:
            await turn.say(invalid.key, **invalid.values)
        return await step.end_dialog()
