"""``ny vistelse``: a handläggare registers a stay, one question at a time, by card or by typing.

Unit (when the person has several), case code (a suggestion, unique per unit), room, arrival date
(default today), the SoL decision's end date, the goal, acute placement and phone handover, and the
responsible handläggare and nurse among the unit's staff; then a summary to save or cancel.
The waterfall's step order is stored with the dialog: never reorder it, add a new dialog id.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from botbuilder.dialogs import DialogTurnResult, WaterfallStepContext

from dialogs import stay_service as service
from dialogs.forms import Ask, FormDialog, FormSteps, asked_steps, edit_choice, parse_unit, question
from dialogs.parsing import YES_WORDS, InvalidInput, parse_date, yes_or_no
from dialogs.stay_cards import show_stay
from dialogs.turn import Turn
from notifications.formatting import format_date
from storage.domain.calendar import followup_deadline
from storage.domain.clock import local_today
from storage.models import Role, Staff, StayStatus
from storage.repos.staff import StaffRepository
from storage.repos.stays import StayRepository
from storage.repos.units import UnitRepository
from storage.repos.waits import WaitRepository

DIALOG_ID = "register_stay"
# issue 17, item 11 added the SoL order question: a new id for the new step order.
STEPS_ID = "register_stay.steps2"
NONE_WORDS = frozenset({"-", "–", "inget", "ingen", "inget rum", "ingen ännu", "saknas"})
SAVE_WORDS = frozenset({"spara", "ja", "ok", "klar"})
MAX_WAIT_BUTTONS = 3
# What the confirmation card offers to change: each question's step and its label's key.
EDITABLE = {
    "register_stay.unit": "stay_fact_unit",
    "register_stay.code": "stay_fact_code",
    "register_stay.room": "stay_fact_room",
    "register_stay.arrival": "stay_fact_arrival",
    "register_stay.end": "stay_fact_decision_end",
    "register_stay.sol_order": "stay_fact_sol_order",
    "register_stay.goal": "stay_fact_goal",
    "register_stay.acute": "stay_fact_acute",
    "register_stay.handover": "register_edit_handover",
    "register_stay.handlaggare": "stay_fact_handlaggare",
    "register_stay.nurse": "stay_fact_nurse",
}


def _yes_no(text: str) -> bool:
    answer = yes_or_no(text)
    if answer is None:
        raise InvalidInput("form_yes_no_invalid", {"text": text[:40]})
    return answer


def _staff_options(members: Sequence[Staff]) -> list[dict[str, Any]]:
    return [{"id": m.id, "name": m.name, "email": m.email} for m in members]


def choose_staff(text: str, options: Sequence[Mapping[str, Any]]) -> int:
    """A staff member by list number, card value, part of the name, or email."""
    cleaned = text.strip().lower()
    if cleaned.startswith("staff:") and cleaned[6:].isdigit():
        chosen = [o for o in options if o["id"] == int(cleaned[6:])]
    elif cleaned.isdigit() and 1 <= int(cleaned) <= len(options):
        chosen = [options[int(cleaned) - 1]]
    else:
        chosen = [
            o
            for o in options
            if cleaned and (cleaned in o["name"].lower() or cleaned == o["email"])
        ]
    if len(chosen) != 1:
        names = ", ".join(f"{i}. {o['name']}" for i, o in enumerate(options, start=1))
        raise InvalidInput("form_staff_unknown", {"text": text[:40], "names": names})
    return int(chosen[0]["id"])


# --- parsers: (turn, typed or submitted text, the question's context) -> JSON value ---


async def _parse_code(turn: Turn, text: str, context: Mapping[str, Any]) -> str:
    if text.strip().lower() in SAVE_WORDS | YES_WORDS:
        text = context["suggestion"]
    if context.get("prefix"):
        service.check_unit_pattern(text, context["prefix"])
    code = service.normalize_case_code(text)
    if await StayRepository(turn.session).case_code_taken(context["unit_id"], code):
        raise InvalidInput("stay_code_taken", {"code": code})
    return code


async def _parse_room(turn: Turn, text: str, context: Mapping[str, Any]) -> str | None:
    if text.strip().lower() in NONE_WORDS:
        return None
    return service.check_room(text)


async def _parse_arrival(turn: Turn, text: str, context: Mapping[str, Any]) -> str:
    today = local_today(turn.clock)
    return service.check_arrival(parse_date(text, today), today).isoformat()


async def _parse_end(turn: Turn, text: str, context: Mapping[str, Any]) -> str:
    today = local_today(turn.clock)
    arrival = date.fromisoformat(context["arrival"])
    return service.check_decision_end(parse_date(text, today), arrival, today).isoformat()


async def _parse_goal(turn: Turn, text: str, context: Mapping[str, Any]) -> str:
    return service.check_free_text(text, service.GOAL_MAX, required=True) or ""


async def _parse_yes_no(turn: Turn, text: str, context: Mapping[str, Any]) -> bool:
    return _yes_no(text)


async def _parse_staff(turn: Turn, text: str, context: Mapping[str, Any]) -> int | None:
    if context.get("optional") and text.strip().lower() in NONE_WORDS:
        return None
    return choose_staff(text, context["options"])


async def _parse_confirm(turn: Turn, text: str, context: Mapping[str, Any]) -> bool:
    if text.strip().lower().rstrip(".!") in SAVE_WORDS:
        return True
    raise InvalidInput("stay_confirm_invalid")


class RegisterStayDialog(FormDialog):
    def __init__(self) -> None:
        super().__init__(DIALOG_ID)
        self.add_dialog(Ask("register_stay.unit", parse_unit))
        self.add_dialog(Ask("register_stay.code", _parse_code))
        self.add_dialog(Ask("register_stay.room", _parse_room))
        self.add_dialog(Ask("register_stay.arrival", _parse_arrival))
        self.add_dialog(Ask("register_stay.end", _parse_end))
        self.add_dialog(Ask("register_stay.goal", _parse_goal))
        self.add_dialog(Ask("register_stay.yes_no", _parse_yes_no))
        self.add_dialog(Ask("register_stay.staff", _parse_staff))
        self.add_dialog(Ask("register_stay.confirm", _parse_confirm))
        self.add_dialog(
            FormSteps(
                STEPS_ID,
                [
                    self.unit_step,
                    self.code_step,
                    self.room_step,
                    self.arrival_step,
                    self.end_step,
                    self.sol_order_step,
                    self.goal_step,
                    self.acute_step,
                    self.handover_step,
                    self.handlaggare_step,
                    self.nurse_step,
                    self.confirm_step,
                    self.save_step,
                ],
            )
        )
        self.initial_dialog_id = STEPS_ID

    @staticmethod
    def _title(turn: Turn) -> str:
        return turn.renderer.text("register_title")

    async def unit_step(self, step: WaterfallStepContext) -> DialogTurnResult:
        turn = Turn.of(step.context)
        units = [
            u for u in await UnitRepository(turn.session).by_ids(turn.profile.unit_ids) if u.id
        ]
        if not units:
            await turn.say("stay_no_units")
            return await step.end_dialog()
        if len(units) == 1:
            return await step.next(units[0].id)
        options = [{"id": u.id, "code": u.code, "name": u.name} for u in units]
        ask = question(
            "register_stay.unit",
            title=self._title(turn),
            text=turn.renderer.text("register_ask_unit"),
            hint=turn.renderer.text("register_hint_unit", example=units[0].code),
            buttons=[{"title": f"{u.code} – {u.name}", "choice": u.code} for u in units[:5]],
            context={"units": options},
        )
        return await step.begin_dialog("register_stay.unit", ask)

    async def code_step(self, step: WaterfallStepContext) -> DialogTurnResult:
        turn = Turn.of(step.context)
        step.values["unit_id"] = step.result
        unit = (await UnitRepository(turn.session).by_ids([step.result]))[0]
        suggestion = await service.suggest_case_code(turn.session, unit)
        waits = await WaitRepository(turn.session).open_in_units([step.result])
        buttons = [
            {
                "title": turn.renderer.text("register_use_code", code=suggestion),
                "choice": suggestion,
            }
        ]
        buttons += [
            {
                "title": turn.renderer.text("register_use_wait", code=w.case_code),
                "choice": w.case_code,
            }
            for w in waits[:MAX_WAIT_BUTTONS]
        ]
        ask = question(
            "register_stay.code",
            title=self._title(turn),
            text=turn.renderer.text("register_ask_code", suggestion=suggestion, unit=unit.name),
            hint=turn.renderer.text("register_hint_code", suggestion=suggestion),
            inputs=[{"id": "answer", "type": "text", "value": suggestion, "max_length": 32}],
            submit=turn.renderer.text("form_next"),
            buttons=buttons,
            context={"unit_id": step.result, "suggestion": suggestion, "prefix": unit.code},
        )
        return await step.begin_dialog("register_stay.code", ask)

    async def room_step(self, step: WaterfallStepContext) -> DialogTurnResult:
        turn = Turn.of(step.context)
        step.values["case_code"] = step.result
        ask = question(
            "register_stay.room",
            title=self._title(turn),
            text=turn.renderer.text("register_ask_room", code=step.result),
            hint=turn.renderer.text("register_hint_room"),
            inputs=[{"id": "answer", "type": "text", "max_length": 16, "placeholder": "12"}],
            submit=turn.renderer.text("form_next"),
            buttons=[{"title": turn.renderer.text("register_no_room"), "choice": "-"}],
        )
        return await step.begin_dialog("register_stay.room", ask)

    async def arrival_step(self, step: WaterfallStepContext) -> DialogTurnResult:
        turn = Turn.of(step.context)
        step.values["room"] = step.result
        today = local_today(turn.clock)
        ask = question(
            "register_stay.arrival",
            title=self._title(turn),
            text=turn.renderer.text("register_ask_arrival", today=format_date(today)),
            hint=turn.renderer.text("register_hint_date"),
            inputs=[{"id": "answer", "type": "date", "value": today.isoformat()}],
            submit=turn.renderer.text("form_next"),
            buttons=[{"title": turn.renderer.text("form_today"), "choice": "idag"}],
        )
        return await step.begin_dialog("register_stay.arrival", ask)

    async def end_step(self, step: WaterfallStepContext) -> DialogTurnResult:
        turn = Turn.of(step.context)
        step.values["arrival_date"] = step.result
        ask = question(
            "register_stay.end",
            title=self._title(turn),
            text=turn.renderer.text("register_ask_end"),
            hint=turn.renderer.text("register_hint_date"),
            inputs=[{"id": "answer", "type": "date"}],
            submit=turn.renderer.text("form_next"),
            context={"arrival": step.result},
        )
        return await step.begin_dialog("register_stay.end", ask)

    async def sol_order_step(self, step: WaterfallStepContext) -> DialogTurnResult:
        turn = Turn.of(step.context)
        step.values["decision_end_date"] = step.result
        ask = self._yes_no_question(turn, "register_stay.sol_order", "register_ask_sol_order")
        return await step.begin_dialog("register_stay.yes_no", ask)

    async def goal_step(self, step: WaterfallStepContext) -> DialogTurnResult:
        turn = Turn.of(step.context)
        step.values["sol_order_received"] = step.result
        ask = question(
            "register_stay.goal",
            title=self._title(turn),
            text=turn.renderer.text("register_ask_goal"),
            hint=turn.renderer.text("register_hint_goal"),
            inputs=[{"id": "answer", "type": "text", "max_length": 500, "multiline": True}],
            submit=turn.renderer.text("form_next"),
            free_text=True,
        )
        return await step.begin_dialog("register_stay.goal", ask)

    async def acute_step(self, step: WaterfallStepContext) -> DialogTurnResult:
        turn = Turn.of(step.context)
        step.values["goal"] = step.result
        ask = self._yes_no_question(turn, "register_stay.acute", "register_ask_acute")
        return await step.begin_dialog("register_stay.yes_no", ask)

    async def handover_step(self, step: WaterfallStepContext) -> DialogTurnResult:
        turn = Turn.of(step.context)
        step.values["acute"] = step.result
        if not step.result:
            return await step.next(None)
        ask = self._yes_no_question(turn, "register_stay.handover", "register_ask_handover")
        return await step.begin_dialog("register_stay.yes_no", ask)

    def _yes_no_question(self, turn: Turn, step: str, text_key: str) -> dict[str, Any]:
        """A yes/no question; each has its own step name, so an old card cannot answer another."""
        return question(
            step,
            title=self._title(turn),
            text=turn.renderer.text(text_key),
            hint=turn.renderer.text("form_hint_yes_no"),
            buttons=[
                {"title": turn.renderer.text("stay_yes"), "choice": "ja"},
                {"title": turn.renderer.text("stay_no"), "choice": "nej"},
            ],
        )

    async def handlaggare_step(self, step: WaterfallStepContext) -> DialogTurnResult:
        turn = Turn.of(step.context)
        step.values["phone_handover_done"] = step.result
        members = await StaffRepository(turn.session).in_unit_with_role(
            step.values["unit_id"], Role.HANDLAGGARE
        )
        if len(members) <= 1:
            return await step.next(members[0].id if members else turn.profile.id)
        default = turn.profile.id if any(m.id == turn.profile.id for m in members) else None
        ask = self._staff_question(
            turn, "register_stay.handlaggare", "register_ask_handlaggare", members, default, False
        )
        return await step.begin_dialog("register_stay.staff", ask)

    async def nurse_step(self, step: WaterfallStepContext) -> DialogTurnResult:
        turn = Turn.of(step.context)
        step.values["handlaggare_id"] = step.result
        members = await StaffRepository(turn.session).in_unit_with_role(
            step.values["unit_id"], Role.SJUKSKOTERSKA
        )
        if not members:
            return await step.next(None)
        ask = self._staff_question(
            turn, "register_stay.nurse", "register_ask_nurse", members, None, True
        )
        return await step.begin_dialog("register_stay.staff", ask)

    def _staff_question(
        self,
        turn: Turn,
        step: str,
        text_key: str,
        members: Sequence[Staff],
        default: int | None,
        optional: bool,
    ) -> dict[str, Any]:
        options = _staff_options(members)
        choices = [{"title": m.name, "value": f"staff:{m.id}"} for m in members]
        numbered = ", ".join(f"{i}. {m.name}" for i, m in enumerate(members, start=1))
        buttons = (
            [{"title": turn.renderer.text("register_no_nurse"), "choice": "-"}] if optional else []
        )
        return question(
            step,
            title=self._title(turn),
            text=turn.renderer.text(text_key),
            hint=turn.renderer.text("register_hint_staff", names=numbered),
            inputs=[
                {
                    "id": "answer",
                    "type": "choices",
                    "choices": choices,
                    "value": f"staff:{default}" if default else choices[0]["value"],
                }
            ],
            submit=turn.renderer.text("form_next"),
            buttons=buttons,
            context={"options": options, "optional": optional},
        )

    async def confirm_step(self, step: WaterfallStepContext) -> DialogTurnResult:
        turn = Turn.of(step.context)
        step.values["nurse_id"] = step.result
        ask = question(
            "register_stay.confirm",
            title=self._title(turn),
            text=turn.renderer.text("register_ask_confirm"),
            hint=turn.renderer.text("register_hint_confirm"),
            facts=await self._summary(turn, step.values),
            inputs=[self._edit_choices(turn, step.values)],
            submit=turn.renderer.text("form_edit"),
            buttons=[{"title": turn.renderer.text("form_save"), "choice": "spara"}],
        )
        return await step.begin_dialog("register_stay.confirm", ask)

    @staticmethod
    def _edit_choices(turn: Turn, values: Mapping[str, Any]) -> dict[str, Any]:
        """A list of the questions asked, to go back to one of them with ``Ändra``."""
        choices = [
            {"title": turn.renderer.text(EDITABLE[name]), "value": edit_choice(name)}
            for name in asked_steps(values)
            if name in EDITABLE
        ]
        label = turn.renderer.text("form_edit_choose")
        return {"id": "answer", "type": "choices", "choices": choices, "label": label}

    async def _summary(self, turn: Turn, values: Mapping[str, Any]) -> list[dict[str, str]]:
        staff = StaffRepository(turn.session)
        unit = (await UnitRepository(turn.session).by_ids([values["unit_id"]]))[0]
        handlaggare = (
            await staff.by_id(values["handlaggare_id"]) if values["handlaggare_id"] else None
        )
        nurse = await staff.by_id(values["nurse_id"]) if values["nurse_id"] else None
        r = turn.renderer
        acute = r.text("stay_acute_yes" if values["acute"] else "stay_acute_no",
                       handover=values["phone_handover_done"])  # fmt: skip
        facts = [
            ("stay_fact_unit", unit.name),
            ("stay_fact_code", values["case_code"]),
            ("stay_fact_room", values["room"] or "–"),
            ("stay_fact_arrival", format_date(date.fromisoformat(values["arrival_date"]))),
            (
                "stay_fact_decision_end",
                format_date(date.fromisoformat(values["decision_end_date"])),
            ),
            (
                "stay_fact_sol_order",
                r.text("stay_yes" if values["sol_order_received"] else "stay_no"),
            ),
            ("stay_fact_goal", values["goal"]),
            ("stay_fact_acute", acute),
            ("stay_fact_handlaggare", handlaggare.name if handlaggare else "–"),
            ("stay_fact_nurse", nurse.name if nurse else "–"),
        ]
        return [{"title": r.text(key), "value": value} for key, value in facts]

    async def save_step(self, step: WaterfallStepContext) -> DialogTurnResult:
        turn = Turn.of(step.context)
        values = step.values
        new = service.NewStay(
            unit_id=values["unit_id"],
            case_code=values["case_code"],
            room=values["room"],
            arrival_date=date.fromisoformat(values["arrival_date"]),
            decision_end_date=date.fromisoformat(values["decision_end_date"]),
            goal=values["goal"],
            acute=bool(values["acute"]),
            phone_handover_done=values["phone_handover_done"],
            handlaggare_id=values["handlaggare_id"],
            nurse_id=values["nurse_id"],
            sol_order_received=bool(values["sol_order_received"]),
        )
        try:
            registered = await service.register_stay(
                turn.session, turn.profile, new, turn.clock.now()
            )
        except InvalidInput as invalid:
            await turn.say(invalid.key, **invalid.values)
            await turn.say("register_not_saved")
            return await step.end_dialog()
        stay = registered.stay
        if stay.status == StayStatus.PLANNED:
            await turn.say(
                "stay_registered_planned",
                code=stay.case_code,
                arrival=format_date(stay.arrival_date),
            )
        else:
            await turn.say(
                "stay_registered",
                code=stay.case_code,
                deadline=format_date(followup_deadline(stay.arrival_date)),
            )
        if registered.linked_wait is not None:
            await turn.say("stay_wait_linked", code=stay.case_code)
        await show_stay(turn, stay)
        return await step.end_dialog()


async def start_command(turn: Turn, _match: object) -> None:
    assert turn.dialog_context is not None
    await turn.dialog_context.begin_dialog(DIALOG_ID)
