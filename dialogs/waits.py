"""``utskrivningsklar``: people ready for discharge who wait in hospital for a short-term place.

A boendesamordnare or handläggare lists the open waits of their units with the payment
responsibility running for each, registers a new one (``utskrivningsklar ny``: case code, the date
and time of the notice, the expected unit) and closes one when the person arrives (linked to the
stay) or otherwise: ``utskrivningsklar ÄNG-050 kommit`` / ``utskrivningsklar ÄNG-050 annat``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from botbuilder.dialogs import DialogTurnResult, WaterfallStepContext

from dialogs import stay_service as service
from dialogs.forms import Ask, FormDialog, FormSteps, parse_unit, question
from dialogs.home_going import parse_date_and_time
from dialogs.parsing import InvalidInput
from dialogs.turn import Turn
from notifications import stay_views as views
from storage.domain.clock import STOCKHOLM, local_today
from storage.domain.payment import PaymentPolicy, payment_responsibility
from storage.models import HospitalWait
from storage.repos.audit import AuditRepository
from storage.repos.units import UnitRepository
from storage.repos.waits import WaitRepository

DIALOG_ID = "register_wait"
PAYMENT_POLICY_KEY = "korttid.payment_policy"  # Turn.extras: the configured PaymentPolicy
ARRIVED_WORDS = frozenset({"kommit", "har kommit", "ankommit", "anlänt", "kom"})
OTHER_WORDS = frozenset({"annat", "avslutad", "avsluta", "övrigt"})
_CLOSE = re.compile(r"^(?P<code>\S+)\s+(?P<outcome>har kommit|\S+)(?:\s+(?P<stay>\S+))?$", re.I)


def payment_policy(turn: Turn) -> PaymentPolicy:
    policy = turn.extras.get(PAYMENT_POLICY_KEY)
    return policy if isinstance(policy, PaymentPolicy) else PaymentPolicy()


async def waits_command(turn: Turn, match: re.Match[str]) -> None:
    rest = " ".join((match.groupdict().get("rest") or "").split())
    if not rest:
        await show_waits(turn)
        return
    if rest.lower() in {"ny", "registrera", "lägg till"}:
        await _begin_register(turn)
        return
    found = _CLOSE.match(rest)
    outcome = found.group("outcome").lower() if found else ""
    if found is None or outcome not in ARRIVED_WORDS | OTHER_WORDS:
        await turn.say("wait_usage")
        return
    wait = await _open_wait_by_code(turn, found.group("code"))
    if wait is not None:
        await _close(turn, wait, outcome in ARRIVED_WORDS, found.group("stay"))


async def wait_new_action(turn: Turn, _value: Mapping[str, Any]) -> None:
    await _begin_register(turn)


async def wait_close_action(turn: Turn, value: Mapping[str, Any]) -> None:
    try:
        wait = await service.wait_for(turn.session, turn.profile, value.get("wait_id"))
    except service.NotPermitted as refused:
        await turn.say(refused.key, **refused.values)
        return
    stay_code = str(value.get("stay_code") or "").strip() or None
    await _close(turn, wait, value.get("outcome") == "arrived", stay_code)


async def _begin_register(turn: Turn) -> None:
    if not service.may_handle_waits(turn.profile) or not turn.profile.unit_ids:
        await turn.say("wait_not_allowed")
        return
    assert turn.dialog_context is not None
    await turn.dialog_context.begin_dialog(DIALOG_ID)


async def _open_wait_by_code(turn: Turn, code: str) -> HospitalWait | None:
    waits = WaitRepository(turn.session)
    for wait in await waits.open_in_units(turn.profile.unit_ids):
        if wait.case_code == code.upper():
            return wait
    await turn.say("wait_not_found", code=code.upper()[:40])
    return None


async def _close(turn: Turn, wait: HospitalWait, arrived: bool, stay_code: str | None) -> None:
    try:
        stay = await service.close_wait(
            turn.session, turn.profile, wait, arrived, stay_code, turn.clock.now()
        )
    except InvalidInput as invalid:
        await turn.say(invalid.key, **invalid.values)
        return
    payment = payment_responsibility(
        wait.notified_at,
        payment_policy(turn),
        left_hospital_on=wait.closed_at.astimezone(STOCKHOLM).date() if wait.closed_at else None,
        today=local_today(turn.clock),
    )
    text, _color = views.payment_text(turn.renderer, payment)
    key = "wait_closed_arrived" if stay is not None else "wait_closed_other"
    await turn.say(key, code=wait.case_code, stay=stay.case_code if stay else "", payment=text)


async def show_waits(turn: Turn) -> None:
    if not service.may_handle_waits(turn.profile):
        await turn.say("wait_not_allowed")
        return
    units = {u.id: u for u in await UnitRepository(turn.session).by_ids(turn.profile.unit_ids)}
    waits = await WaitRepository(turn.session).open_in_units(turn.profile.unit_ids)
    today = local_today(turn.clock)
    policy = payment_policy(turn)
    rows = []
    for wait in waits:
        payment = payment_responsibility(
            wait.notified_at, policy, left_hospital_on=None, today=today
        )
        unit = units.get(wait.expected_unit_id)
        rows.append(views.wait_row(turn.renderer, wait, unit.code if unit else "–", payment, today))
    await AuditRepository(turn.session).record(
        "wait.list", turn.profile.id, detail={"wait_ids": [w.id for w in waits]}
    )
    r = turn.renderer
    await turn.show_card(
        "stay_waits",
        title=r.text("waits_title"),
        subtitle=r.text(
            "waits_policy",
            grace=policy.grace_days,
            cutoff=policy.noon_cutoff,
            version=policy.version,
        ),
        empty=None if rows else r.text("waits_empty"),
        rows=rows,
        hint=r.text("waits_hint"),
    )


# --- registering a wait ---


async def _parse_code(turn: Turn, text: str, context: Mapping[str, Any]) -> str:
    return service.normalize_case_code(text)


async def _parse_notice(turn: Turn, text: str, context: Mapping[str, Any]) -> str:
    """The date and time of the notice, not in the future."""
    if not text.strip():
        raise InvalidInput("wait_notice_missing")
    day, at = parse_date_and_time(text, local_today(turn.clock))
    if at is None:
        raise InvalidInput("wait_time_missing")
    notified = datetime.combine(day, at, STOCKHOLM).astimezone(UTC)
    if notified > turn.clock.now():
        raise InvalidInput("wait_notice_in_future")
    return notified.isoformat()


class RegisterWaitDialog(FormDialog):
    def __init__(self) -> None:
        super().__init__(DIALOG_ID)
        self.add_dialog(Ask("register_wait.code", _parse_code))
        self.add_dialog(Ask("register_wait.notice", _parse_notice))
        self.add_dialog(Ask("register_wait.unit", parse_unit))
        self.add_dialog(
            FormSteps(
                "register_wait.steps",
                [self.code_step, self.notice_step, self.unit_step, self.save_step],
            )
        )
        self.initial_dialog_id = "register_wait.steps"

    async def code_step(self, step: WaterfallStepContext) -> DialogTurnResult:
        turn = Turn.of(step.context)
        r = turn.renderer
        ask = question(
            "register_wait.code",
            title=r.text("wait_title"),
            text=r.text("wait_ask_code"),
            hint=r.text("wait_hint_code"),
            inputs=[{"id": "answer", "type": "text", "max_length": 32, "placeholder": "ÄNG-050"}],
            submit=r.text("form_next"),
        )
        return await step.begin_dialog("register_wait.code", ask)

    async def notice_step(self, step: WaterfallStepContext) -> DialogTurnResult:
        turn = Turn.of(step.context)
        step.values["case_code"] = step.result
        r = turn.renderer
        today = local_today(turn.clock)
        ask = question(
            "register_wait.notice",
            title=r.text("wait_title"),
            text=r.text("wait_ask_notice", code=step.result),
            hint=r.text("wait_hint_notice"),
            inputs=[
                {
                    "id": "date",
                    "type": "date",
                    "label": r.text("wait_label_date"),
                    "value": today.isoformat(),
                },
                {"id": "time", "type": "time", "label": r.text("wait_label_time")},
            ],
            submit=r.text("form_next"),
        )
        return await step.begin_dialog("register_wait.notice", ask)

    async def unit_step(self, step: WaterfallStepContext) -> DialogTurnResult:
        turn = Turn.of(step.context)
        step.values["notified_at"] = step.result
        units = list(await UnitRepository(turn.session).by_ids(turn.profile.unit_ids))
        if len(units) == 1:
            return await step.next(units[0].id)
        r = turn.renderer
        ask = question(
            "register_wait.unit",
            title=r.text("wait_title"),
            text=r.text("wait_ask_unit"),
            hint=r.text("register_hint_unit", example=units[0].code),
            buttons=[{"title": f"{u.code} – {u.name}", "choice": u.code} for u in units[:5]],
            context={"units": [{"id": u.id, "code": u.code, "name": u.name} for u in units]},
        )
        return await step.begin_dialog("register_wait.unit", ask)

    async def save_step(self, step: WaterfallStepContext) -> DialogTurnResult:
        turn = Turn.of(step.context)
        values = step.values
        try:
            wait = await service.register_wait(
                turn.session,
                turn.profile,
                values["case_code"],
                datetime.fromisoformat(values["notified_at"]),
                int(step.result),
                turn.clock.now(),
            )
        except InvalidInput as invalid:
            await turn.say(invalid.key, **invalid.values)
            await turn.say("wait_not_saved")
            return await step.end_dialog()
        payment = payment_responsibility(
            wait.notified_at,
            payment_policy(turn),
            left_hospital_on=None,
            today=local_today(turn.clock),
        )
        await turn.say(
            "wait_registered",
            code=wait.case_code,
            first=views.short_date(payment.first_day),
        )
        await show_waits(turn)
        return await step.end_dialog()
