"""``avsluta KOD`` on a planned stay, or the stay card's "Avbryt planerad vistelse" (issue 17).

The person never came: after a confirmation the stay is recorded as cancelled, which no indicator
counts. Nothing is sent when a stay is registered as planned; a meeting already called for it
is cancelled, so the called staff are told.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botbuilder.dialogs import DialogTurnResult, WaterfallStepContext

from dialogs import stay_service as service
from dialogs.forms import Ask, FormDialog, FormSteps, question
from dialogs.meeting.calling import cancel_call
from dialogs.parsing import InvalidInput, yes_or_no
from dialogs.stay_cards import decider_or_refuse, stay_for_action
from dialogs.turn import Turn
from notifications.formatting import format_date
from storage.models import Stay, StayStatus
from storage.repos.meeting_calls import MeetingCallRepository
from storage.repos.stays import StayRepository

DIALOG_ID = "cancel_planned"
ACTION = "cancel_planned"
CONFIRM_WORDS = frozenset({"avbryt vistelsen", "ok"})
KEEP_WORDS = frozenset({"behåll", "behall"})


async def cancel_action(turn: Turn, value: Mapping[str, Any]) -> None:
    stay = await stay_for_action(turn, value, ACTION)
    if stay is None or not await decider_or_refuse(turn, stay, "cancel_planned"):
        return
    await begin(turn, stay)


async def begin(turn: Turn, stay: Stay) -> None:
    """Ask to confirm (the caller has checked that the person may decide for the stay)."""
    if stay.status != StayStatus.PLANNED:
        await turn.say("cancel_planned_not_planned", code=stay.case_code)
        return
    assert turn.dialog_context is not None
    await turn.dialog_context.begin_dialog(DIALOG_ID, {"stay_id": stay.id})


async def _parse_confirm(turn: Turn, text: str, context: Mapping[str, Any]) -> bool:
    answer = yes_or_no(text, yes=CONFIRM_WORDS, no=KEEP_WORDS)
    if answer is None:
        raise InvalidInput("cancel_planned_confirm_invalid")
    return answer


class CancelPlannedDialog(FormDialog):
    def __init__(self) -> None:
        super().__init__(DIALOG_ID)
        self.add_dialog(Ask("cancel_planned.confirm", _parse_confirm))
        self.add_dialog(FormSteps("cancel_planned.steps", [self.confirm_step, self.apply_step]))
        self.initial_dialog_id = "cancel_planned.steps"

    async def confirm_step(self, step: WaterfallStepContext) -> DialogTurnResult:
        turn = Turn.of(step.context)
        step.values["stay_id"] = step.options["stay_id"]
        stay = await _stay(turn, step.values["stay_id"])
        r = turn.renderer
        ask = question(
            "cancel_planned.confirm",
            title=r.text("cancel_planned_title", code=stay.case_code),
            text=r.text(
                "cancel_planned_ask", code=stay.case_code, arrival=format_date(stay.arrival_date)
            ),
            hint=r.text("cancel_planned_hint"),
            buttons=[
                {"title": r.text("stay_button_cancel_planned"), "choice": "ja"},
                {"title": r.text("cancel_planned_keep"), "choice": "nej"},
            ],
        )
        return await step.begin_dialog("cancel_planned.confirm", ask)

    async def apply_step(self, step: WaterfallStepContext) -> DialogTurnResult:
        turn = Turn.of(step.context)
        stay = await _stay(turn, step.values["stay_id"])
        if not step.result:
            await turn.say("cancel_planned_kept", code=stay.case_code)
            return await step.end_dialog()
        try:
            await service.cancel_planned_stay(turn.session, turn.profile, stay)
        except InvalidInput as invalid:
            await turn.say(invalid.key, **invalid.values)
            return await step.end_dialog()
        await turn.say("cancel_planned_done", code=stay.case_code)
        assert stay.id is not None
        if await MeetingCallRepository(turn.session).called_for_stay(stay.id) is not None:
            await cancel_call(turn, stay)
        return await step.end_dialog()


async def _stay(turn: Turn, stay_id: int) -> Stay:
    stay = await StayRepository(turn.session).by_id(stay_id)
    assert stay is not None
    return stay
