"""``avsluta KOD``: a handläggare closes a stay with its reason and the actual departure date.

Reason (went home, care home, back to hospital, died, other), departure date (default today, not in
the future, not before arrival), then a confirmation that shows the final length of stay.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from botbuilder.dialogs import DialogTurnResult, WaterfallStepContext

from dialogs import cancel_planned
from dialogs import stay_service as service
from dialogs.forms import Ask, FormDialog, FormSteps, question
from dialogs.parsing import InvalidInput, parse_date, yes_or_no
from dialogs.stay_cards import decider_or_refuse, stay_for_action, stay_for_code
from dialogs.turn import Turn
from notifications import stay_views as views
from notifications.formatting import format_date
from storage.domain.clock import local_today
from storage.models import CloseReason, Stay, StayStatus
from storage.repos.stays import StayRepository

DIALOG_ID = "close_stay"
REASONS = tuple(CloseReason)
REASON_WORDS = {
    "hem": CloseReason.WENT_HOME, "gick hem": CloseReason.WENT_HOME,
    "hemgång": CloseReason.WENT_HOME, "hemgang": CloseReason.WENT_HOME,
    "säbo": CloseReason.CARE_HOME, "sabo": CloseReason.CARE_HOME,
    "särskilt boende": CloseReason.CARE_HOME, "boende": CloseReason.CARE_HOME,
    "sjukhus": CloseReason.HOSPITAL, "sjukhuset": CloseReason.HOSPITAL,
    "tillbaka till sjukhus": CloseReason.HOSPITAL, "slutenvård": CloseReason.HOSPITAL,
    "avliden": CloseReason.DIED, "avled": CloseReason.DIED, "död": CloseReason.DIED,
    "annat": CloseReason.OTHER, "övrigt": CloseReason.OTHER,
}  # fmt: skip
CONFIRM_WORDS = frozenset({"avsluta", "spara", "ok"})


async def close_command(turn: Turn, match: re.Match[str]) -> None:
    stay = await stay_for_code(turn, match.groupdict().get("code"), "close_usage")
    await _begin(turn, stay)


async def close_action(turn: Turn, value: Mapping[str, Any]) -> None:
    await _begin(turn, await stay_for_action(turn, value, "close_stay"))


async def _begin(turn: Turn, stay: Stay | None) -> None:
    if stay is None or not await decider_or_refuse(turn, stay, "close"):
        return
    if stay.status == StayStatus.PLANNED:  # it never started: cancelled, not closed
        await cancel_planned.begin(turn, stay)
        return
    if stay.status != StayStatus.ACTIVE:
        await turn.say("stay_closed", code=stay.case_code)
        return
    assert turn.dialog_context is not None
    await turn.dialog_context.begin_dialog(DIALOG_ID, {"stay_id": stay.id})


async def _parse_reason(turn: Turn, text: str, context: Mapping[str, Any]) -> str:
    cleaned = " ".join(text.lower().split()).rstrip(".!")
    if cleaned in set(CloseReason):
        return cleaned
    if cleaned.isdigit() and 1 <= int(cleaned) <= len(REASONS):
        return REASONS[int(cleaned) - 1].value
    reason = REASON_WORDS.get(cleaned)
    if reason is None:
        raise InvalidInput("close_reason_invalid", {"text": text[:40]})
    return reason.value


async def _parse_departure(turn: Turn, text: str, context: Mapping[str, Any]) -> str:
    stay = await StayRepository(turn.session).by_id(int(context["stay_id"]))
    assert stay is not None
    today = local_today(turn.clock)
    return service.check_departure(stay, parse_date(text, today), today).isoformat()


async def _parse_confirm(turn: Turn, text: str, context: Mapping[str, Any]) -> bool:
    if yes_or_no(text, yes=CONFIRM_WORDS):  # a no is not an answer: "avbryt" leaves the form
        return True
    raise InvalidInput("close_confirm_invalid")


class CloseStayDialog(FormDialog):
    def __init__(self) -> None:
        super().__init__(DIALOG_ID)
        self.add_dialog(Ask("close_stay.reason", _parse_reason))
        self.add_dialog(Ask("close_stay.departure", _parse_departure))
        self.add_dialog(Ask("close_stay.confirm", _parse_confirm))
        self.add_dialog(
            FormSteps(
                "close_stay.steps",
                [self.reason_step, self.departure_step, self.confirm_step, self.apply_step],
            )
        )
        self.initial_dialog_id = "close_stay.steps"

    async def _stay(self, turn: Turn, step: WaterfallStepContext) -> Stay:
        stay = await StayRepository(turn.session).by_id(step.values["stay_id"])
        assert stay is not None
        return stay

    async def reason_step(self, step: WaterfallStepContext) -> DialogTurnResult:
        turn = Turn.of(step.context)
        step.values["stay_id"] = step.options["stay_id"]
        stay = await self._stay(turn, step)
        r = turn.renderer
        names = views.labels(r, "close_reason")
        ask = question(
            "close_stay.reason",
            title=r.text("close_title", code=stay.case_code),
            text=r.text("close_ask_reason"),
            hint=r.text("close_hint_reason"),
            buttons=[{"title": names[reason], "choice": reason.value} for reason in REASONS],
        )
        return await step.begin_dialog("close_stay.reason", ask)

    async def departure_step(self, step: WaterfallStepContext) -> DialogTurnResult:
        turn = Turn.of(step.context)
        step.values["reason"] = step.result
        stay = await self._stay(turn, step)
        r = turn.renderer
        today = local_today(turn.clock)
        ask = question(
            "close_stay.departure",
            title=r.text("close_title", code=stay.case_code),
            text=r.text("close_ask_departure", arrival=format_date(stay.arrival_date)),
            hint=r.text("register_hint_date"),
            inputs=[{"id": "answer", "type": "date", "value": today.isoformat()}],
            submit=r.text("form_next"),
            buttons=[{"title": r.text("form_today"), "choice": "idag"}],
            context={"stay_id": stay.id},
        )
        return await step.begin_dialog("close_stay.departure", ask)

    async def confirm_step(self, step: WaterfallStepContext) -> DialogTurnResult:
        turn = Turn.of(step.context)
        step.values["departure"] = step.result
        stay = await self._stay(turn, step)
        r = turn.renderer
        departure = date.fromisoformat(step.result)
        facts = [
            (r.text("stay_fact_closed"), views.labels(r, "close_reason")[step.values["reason"]]),
            (r.text("stay_fact_arrival"), format_date(stay.arrival_date)),
            (r.text("stay_fact_departure"), format_date(departure)),
            (
                r.text("stay_fact_length"),
                r.text("stay_days", days=(departure - stay.arrival_date).days),
            ),
        ]
        ask = question(
            "close_stay.confirm",
            title=r.text("close_title", code=stay.case_code),
            text=r.text("close_ask_confirm"),
            hint=r.text("close_hint_confirm"),
            facts=[{"title": title, "value": value} for title, value in facts],
            buttons=[{"title": r.text("close_button"), "choice": "avsluta"}],
        )
        return await step.begin_dialog("close_stay.confirm", ask)

    async def apply_step(self, step: WaterfallStepContext) -> DialogTurnResult:
        turn = Turn.of(step.context)
        stay = await self._stay(turn, step)
        departure = date.fromisoformat(step.values["departure"])
        try:
            closed = await service.close_stay(
                turn.session, turn.profile, stay, step.values["reason"], departure, turn.clock.now()
            )
        except InvalidInput as invalid:
            await turn.say(invalid.key, **invalid.values)
            return await step.end_dialog()
        reason = views.labels(turn.renderer, "close_reason")[step.values["reason"]]
        await turn.say(
            "stay_closed_ok", code=stay.case_code, reason=reason.lower(), days=closed.length_days
        )
        if closed.notices:
            await turn.say("close_home_going_cancelled", count=closed.notices)
        if closed.care_home_told:
            await turn.say("close_care_home_told")
        return await step.end_dialog()
