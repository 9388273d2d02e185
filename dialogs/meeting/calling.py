"""``kalla KOD``: the handläggare calls the follow-up meeting (kallelse), moves it or cancels it.

One question at a time, each a small card that also takes a typed answer: the date (a working
day, not in the past; after the day-7 deadline with a warning), the time, the form, an optional
place or Teams link, and whom to call. Every called person is sent one invitation; a change
sends each one update, a removal or a cancellation one cancellation
(``notifications.meeting_calls``).
``kallelse KOD`` shows the handläggare's status card, which refreshes in place (Action.Execute).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date, time
from typing import Any

from botbuilder.dialogs import DialogTurnResult, WaterfallDialog, WaterfallStepContext

from dialogs.forms import Ask, FormDialog, question
from dialogs.meeting import calls
from dialogs.parsing import InvalidInput, parse_date, parse_time
from dialogs.stay_cards import decider_or_refuse, stay_for_action, stay_for_code
from dialogs.turn import Turn
from notifications.formatting import format_date, format_time
from notifications.meeting_calls import is_teams_link, withdraw_unsent_notices
from storage.domain.calendar import is_working_day
from storage.domain.clock import local_today
from storage.models import CallStatus, MeetingCall, MeetingForm, Stay
from storage.repos.meeting_calls import MeetingCallRepository
from storage.repos.stays import StayRepository

DIALOG_ID = "meeting_call"
STATUS_TEMPLATE = "meeting_call_status"
STATUS_VERB = "call_status"
PLACE_LIMIT = 300
WITHOUT_LICENSED = "utan legitimerad"
NO_PLACE = frozenset({"ingen", "inget", "-", "nej", "ingen plats", "hoppa över"})
FORM_WORDS = {
    "på enheten": MeetingForm.ON_SITE, "enheten": MeetingForm.ON_SITE,
    "på plats": MeetingForm.ON_SITE, "plats": MeetingForm.ON_SITE, "on_site": MeetingForm.ON_SITE,
    "teams": MeetingForm.TEAMS, "teams-möte": MeetingForm.TEAMS, "teamsmöte": MeetingForm.TEAMS,
    "telefon": MeetingForm.PHONE, "telefonmöte": MeetingForm.PHONE, "phone": MeetingForm.PHONE,
}  # fmt: skip
_TIME_PREFIX = re.compile(r"^(?:klockan|kl\.?)\s*", re.IGNORECASE)
_LINKISH = re.compile(r"^(?:https?://|www\.|teams\.)", re.IGNORECASE)


# --- entry points ------------------------------------------------------------------------------


async def call_command(turn: Turn, match: re.Match[str]) -> None:
    stay = await stay_for_code(turn, match.groupdict().get("code"), "call_usage")
    if stay is None or not await decider_or_refuse(turn, stay, "meeting_call"):
        return
    if match.groupdict().get("cancel"):
        await cancel_call(turn, stay)
        return
    await _begin(turn, stay)


async def call_action(turn: Turn, value: Mapping[str, Any]) -> None:
    """The stay card's and the follow-up nudge's "Kalla till möte" button."""
    stay = await stay_for_action(turn, value, "meeting_call")
    if stay is None or not await decider_or_refuse(turn, stay, "meeting_call"):
        return
    await _begin(turn, stay)


async def change_action(turn: Turn, value: Mapping[str, Any]) -> None:
    """ "Ändra" on the status card: the same questions, answered with what stands."""
    found = await _own_call(turn, value)
    if found is not None:
        await _begin(turn, found[1])


async def cancel_action(turn: Turn, value: Mapping[str, Any]) -> None:
    found = await _own_call(turn, value)
    if found is not None:
        await cancel_call(turn, found[1])


async def status_command(turn: Turn, match: re.Match[str]) -> None:
    stay = await stay_for_code(turn, match.groupdict().get("code"), "call_status_usage")
    if stay is None or not await decider_or_refuse(turn, stay, "meeting_call"):
        return
    assert stay.id is not None
    call = await MeetingCallRepository(turn.session).called_for_stay(stay.id)
    if call is None:
        await turn.say("call_none", code=stay.case_code)
        return
    await show_status(turn, call, stay)


async def show_action(turn: Turn, value: Mapping[str, Any]) -> None:
    found = await _own_call(turn, value, open_only=False)
    if found is not None:
        await show_status(turn, *found)


async def status_invoke(turn: Turn, value: Mapping[str, Any]) -> dict[str, Any] | None:
    """Action.Execute ``call_status``: the status card as it stands now, to replace the old one."""
    call = await _call_from(turn, value)
    stay = await StayRepository(turn.session).by_id(call.stay_id) if call else None
    if call is None or stay is None or not calls.may_call(turn.profile, stay):
        await turn.audit(
            "meeting_call.access_refused",
            stay_id=stay.id if stay else None,
            detail={"call_id": str(value.get("call_id"))[:20], "verb": STATUS_VERB},
        )
        return None
    return await _status_card(turn, call, stay)


async def show_status(turn: Turn, call: MeetingCall, stay: Stay) -> None:
    await turn.show_card(STATUS_TEMPLATE, **await _status_values(turn, call, stay))


async def _status_card(turn: Turn, call: MeetingCall, stay: Stay) -> dict[str, Any]:
    return turn.renderer.card(STATUS_TEMPLATE, **await _status_values(turn, call, stay))


async def _status_values(turn: Turn, call: MeetingCall, stay: Stay) -> dict[str, Any]:
    sender = turn.context.activity.from_property
    viewer = str(sender.id) if sender is not None and sender.id else None
    return await calls.status_card(turn.session, turn.renderer, call, stay, viewer)


async def _call_from(turn: Turn, value: Mapping[str, Any]) -> MeetingCall | None:
    try:
        return await MeetingCallRepository(turn.session).by_id(int(value.get("call_id") or 0))
    except (TypeError, ValueError):
        return None


async def _own_call(
    turn: Turn, value: Mapping[str, Any], *, open_only: bool = True
) -> tuple[MeetingCall, Stay] | None:
    """The call a button names, when this handläggare may handle it; else say why not."""
    call = await _call_from(turn, value)
    stay = await StayRepository(turn.session).by_id(call.stay_id) if call else None
    if call is None or stay is None or not calls.may_call(turn.profile, stay):
        await turn.say("stay_refused")
        await turn.audit(
            "meeting_call.access_refused",
            stay_id=stay.id if stay else None,
            detail={"call_id": str(value.get("call_id"))[:20]},
        )
        return None
    if open_only and call.status != CallStatus.CALLED:
        await turn.say(f"call_already_{call.status}", code=stay.case_code)
        return None
    return call, stay


async def _begin(turn: Turn, stay: Stay) -> None:
    assert turn.dialog_context is not None
    await turn.dialog_context.begin_dialog(DIALOG_ID, {"stay_id": stay.id})


# --- cancelling --------------------------------------------------------------------------------


async def cancel_call(turn: Turn, stay: Stay) -> None:
    assert stay.id is not None
    repo = MeetingCallRepository(turn.session)
    call = await repo.called_for_stay(stay.id)
    if call is None:
        await turn.say("call_none", code=stay.case_code)
        return
    call.status = CallStatus.CANCELLED
    call.version += 1
    await repo.save(call)
    await withdraw_unsent_notices(turn.session, stay.id)
    participants = await repo.participants(_call_id(call))
    sent = await calls.queue_notices(
        turn.session, turn.renderer, call, stay, participants, "cancel", turn.clock.now()
    )
    await StayRepository(turn.session).save(stay)  # the follow-up nudges read the booking
    await turn.audit("meeting_call.cancel", stay_id=stay.id, detail={"call_id": call.id})
    await turn.say("call_cancelled", code=stay.case_code, count=sent)


def _call_id(call: MeetingCall) -> int:
    assert call.id is not None
    return call.id


# --- the questions -----------------------------------------------------------------------------


async def _parse_date(turn: Turn, text: str, context: Mapping[str, Any]) -> str:
    if not text.strip():
        raise InvalidInput("call_date_missing")
    today = local_today(turn.clock)
    day = parse_date(text, today)
    if day < today:
        raise InvalidInput("call_date_past", {"date": format_date(day)})
    if not is_working_day(day):
        raise InvalidInput("call_date_not_working_day", {"date": format_date(day)})
    return day.isoformat()


async def _parse_time(turn: Turn, text: str, context: Mapping[str, Any]) -> str:
    return format_time(parse_time(_TIME_PREFIX.sub("", text.strip())))


async def _parse_form(turn: Turn, text: str, context: Mapping[str, Any]) -> str:
    form = FORM_WORDS.get(" ".join(text.lower().split()).rstrip("."))
    if form is None:
        raise InvalidInput("call_form_unknown", {"text": text.strip()[:40]})
    return form.value


async def _parse_place(turn: Turn, text: str, context: Mapping[str, Any]) -> str:
    cleaned = " ".join(text.split())
    if cleaned.lower() in NO_PLACE or not cleaned:
        return ""
    if len(cleaned) > PLACE_LIMIT:
        raise InvalidInput("call_place_too_long", {"max": PLACE_LIMIT})
    if _LINKISH.match(cleaned) and not is_teams_link(cleaned):
        raise InvalidInput("call_link_invalid")
    return cleaned


async def _parse_participants(turn: Turn, text: str, context: Mapping[str, Any]) -> dict[str, Any]:
    """Card values ("s12,s15"), list numbers ("1 3"), or "alla"; "utan legitimerad" confirms."""
    listed: list[Mapping[str, Any]] = context["candidates"]
    lowered = text.lower()
    without = WITHOUT_LICENSED in lowered
    words = [w for w in re.split(r"[,\s]+|\boch\b", lowered.replace(WITHOUT_LICENSED, " ")) if w]
    words = [w for w in words if w not in ("personal",)]
    chosen: list[Mapping[str, Any]] = []
    for word in words:
        found = _candidate(listed, word)
        if found is None:
            raise InvalidInput("call_participant_unknown", {"text": word[:20]})
        chosen += [c for c in found if c not in chosen]
    if not chosen:
        raise InvalidInput("call_participants_missing")
    if not calls.has_licensed([c["role"] for c in chosen]) and not without:
        raise InvalidInput("call_needs_licensed")
    licensed = calls.has_licensed([c["role"] for c in chosen])
    return {"ids": [c["id"] for c in chosen], "without_licensed": without and not licensed}


def _candidate(listed: Sequence[Mapping[str, Any]], word: str) -> list[Mapping[str, Any]] | None:
    if word == "alla":
        return list(listed)
    if word.startswith("s") and word[1:].isdigit():
        return [c for c in listed if c["id"] == int(word[1:])] or None
    if word.isdigit() and 1 <= int(word) <= len(listed):
        return [listed[int(word) - 1]]
    return None


class CallMeetingDialog(FormDialog):
    cancelled_key = "call_form_cancelled"

    def __init__(self) -> None:
        super().__init__(DIALOG_ID)
        for name, parse in (
            ("date", _parse_date),
            ("time", _parse_time),
            ("form", _parse_form),
            ("place", _parse_place),
            ("participants", _parse_participants),
        ):
            self.add_dialog(Ask(f"{DIALOG_ID}.{name}", parse))
        steps = [
            self.date_step,
            self.time_step,
            self.form_step,
            self.place_step,
            self.participants_step,
            self.apply_step,
        ]
        self.add_dialog(WaterfallDialog(f"{DIALOG_ID}.steps", steps))
        self.initial_dialog_id = f"{DIALOG_ID}.steps"

    async def _context(self, step: WaterfallStepContext) -> tuple[Turn, Stay, MeetingCall | None]:
        turn = Turn.of(step.context)
        stay = await StayRepository(turn.session).by_id(int(step.options["stay_id"]))
        assert stay is not None and stay.id is not None
        call = await MeetingCallRepository(turn.session).called_for_stay(stay.id)
        return turn, stay, call

    def _ask(self, turn: Turn, stay: Stay, name: str, number: int, **card: Any) -> dict[str, Any]:
        r = turn.renderer
        return question(
            f"{DIALOG_ID}.{name}",
            title=r.text("call_title", code=stay.case_code),
            progress=r.text("call_progress", number=number, total=5),
            **card,
        )

    async def date_step(self, step: WaterfallStepContext) -> DialogTurnResult:
        turn, stay, call = await self._context(step)
        r = turn.renderer
        deadline = format_date(stay.followup_deadline)
        ask = self._ask(
            turn,
            stay,
            "date",
            1,
            text=r.text("call_ask_date", deadline=deadline),
            hint=r.text("call_hint_date"),
            inputs=[
                {
                    "id": "date",
                    "type": "date",
                    "label": r.text("call_label_date"),
                    "value": call.meeting_date.isoformat() if call else None,
                }
            ],
            submit=r.text("form_next"),
        )
        return await step.begin_dialog(f"{DIALOG_ID}.date", ask)

    async def time_step(self, step: WaterfallStepContext) -> DialogTurnResult:
        step.values["date"] = step.result
        turn, stay, call = await self._context(step)
        r = turn.renderer
        day = date.fromisoformat(step.result)
        if day > stay.followup_deadline and stay.followup_held_on is None:
            await turn.say("call_late_warning", deadline=format_date(stay.followup_deadline))
        ask = self._ask(
            turn,
            stay,
            "time",
            2,
            text=r.text("call_ask_time", date=format_date(day)),
            hint=r.text("call_hint_time"),
            inputs=[
                {
                    "id": "time",
                    "type": "time",
                    "label": r.text("call_label_time"),
                    "value": format_time(call.meeting_time) if call else None,
                }
            ],
            submit=r.text("form_next"),
        )
        return await step.begin_dialog(f"{DIALOG_ID}.time", ask)

    async def form_step(self, step: WaterfallStepContext) -> DialogTurnResult:
        step.values["time"] = step.result
        turn, stay, _call = await self._context(step)
        r = turn.renderer
        forms = r.catalogue["meeting_forms"]
        ask = self._ask(
            turn,
            stay,
            "form",
            3,
            text=r.text("call_ask_form"),
            hint=r.text("call_hint_form"),
            buttons=[{"title": str(forms[form]), "choice": form.value} for form in MeetingForm],
        )
        return await step.begin_dialog(f"{DIALOG_ID}.form", ask)

    async def place_step(self, step: WaterfallStepContext) -> DialogTurnResult:
        step.values["form"] = step.result
        turn, stay, call = await self._context(step)
        r = turn.renderer
        teams = step.result == MeetingForm.TEAMS
        ask = self._ask(
            turn,
            stay,
            "place",
            4,
            text=r.text("call_ask_link" if teams else "call_ask_place"),
            hint=r.text("call_hint_place"),
            inputs=[
                {
                    "id": "place",
                    "type": "text",
                    "label": r.text("call_label_link" if teams else "call_label_place"),
                    "value": call.place if call else None,
                    "max_length": PLACE_LIMIT,
                }
            ],
            submit=r.text("form_next"),
            buttons=[{"title": r.text("call_no_place"), "choice": "ingen"}],
        )
        return await step.begin_dialog(f"{DIALOG_ID}.place", ask)

    async def participants_step(self, step: WaterfallStepContext) -> DialogTurnResult:
        step.values["place"] = step.result
        turn, stay, call = await self._context(step)
        r = turn.renderer
        listed = await calls.candidates(turn.session, stay)
        if not listed:
            await turn.say("call_no_candidates", code=stay.case_code)
            return await step.end_dialog()
        chosen = await self._preselected(turn, call, listed)
        entries = [
            {"id": c.staff_id, "role": c.role, "title": calls.who(r, c.name, c.role)}
            for c in listed
        ]
        numbered = "\n".join(f"{n}. {e['title']}" for n, e in enumerate(entries, start=1))
        choices = [{"title": e["title"], "value": f"s{e['id']}"} for e in entries]
        choices.append({"title": r.text("call_without_licensed_choice"), "value": WITHOUT_LICENSED})
        ask = self._ask(
            turn,
            stay,
            "participants",
            5,
            text=r.text("call_ask_participants", numbered=numbered),
            hint=r.text("call_hint_participants"),
            inputs=[
                {
                    "id": "participants",
                    "type": "choices",
                    "multi": True,
                    "label": r.text("call_label_participants"),
                    "value": ",".join(f"s{i}" for i in chosen),
                    "choices": choices,
                }
            ],
            submit=r.text("call_send"),
            context={"candidates": [{"id": e["id"], "role": e["role"]} for e in entries]},
        )
        return await step.begin_dialog(f"{DIALOG_ID}.participants", ask)

    async def _preselected(
        self, turn: Turn, call: MeetingCall | None, listed: Sequence[calls.Candidate]
    ) -> list[int]:
        if call is None:
            return [c.staff_id for c in listed if c.proposed]
        rows = await MeetingCallRepository(turn.session).participants(_call_id(call))
        return [row.staff_id for row in rows]

    async def apply_step(self, step: WaterfallStepContext) -> DialogTurnResult:
        turn, stay, call = await self._context(step)
        answers = {**step.values, "participants": step.result}
        listed = {c.staff_id: c for c in await calls.candidates(turn.session, stay)}
        wanted = [(i, listed[i].role) for i in step.result["ids"] if i in listed]
        if call is None:
            await _create(turn, stay, answers, wanted)
        else:
            await _change(turn, stay, call, answers, wanted)
        return await step.end_dialog()


def _apply_answers(call: MeetingCall, answers: Mapping[str, Any]) -> list[str]:
    """Write the answers onto the call; returns the names of the fields that changed."""
    new = {
        "meeting_date": date.fromisoformat(answers["date"]),
        "meeting_time": time.fromisoformat(answers["time"]),
        "form": answers["form"],
        "place": answers["place"] or None,
    }
    changed = [name for name, value in new.items() if getattr(call, name) != value]
    for name, value in new.items():
        setattr(call, name, value)
    call.without_licensed = bool(answers["participants"]["without_licensed"])
    return changed


async def _create(
    turn: Turn, stay: Stay, answers: Mapping[str, Any], wanted: Sequence[tuple[int, str]]
) -> None:
    assert stay.id is not None
    repo = MeetingCallRepository(turn.session)
    call = MeetingCall(
        stay_id=stay.id,
        called_by_id=turn.profile.id,
        meeting_date=date.fromisoformat(answers["date"]),
        meeting_time=time.fromisoformat(answers["time"]),
        form=answers["form"],
    )
    _apply_answers(call, answers)
    await repo.save(call)
    await repo.set_participants(_call_id(call), wanted)
    participants = await repo.participants(_call_id(call))
    now = turn.clock.now()
    sent = await calls.queue_notices(
        turn.session, turn.renderer, call, stay, participants, "invite", now
    )
    await _after_saving(turn, stay, call, "meeting_call.create", sent, _detail(call, wanted))


async def _change(
    turn: Turn,
    stay: Stay,
    call: MeetingCall,
    answers: Mapping[str, Any],
    wanted: Sequence[tuple[int, str]],
) -> None:
    assert stay.id is not None
    repo = MeetingCallRepository(turn.session)
    changed = _apply_answers(call, answers)
    call.version += 1
    await repo.save(call)
    added, removed = await repo.set_participants(_call_id(call), wanted)
    await withdraw_unsent_notices(turn.session, stay.id)
    rows = await repo.participants(_call_id(call), active_only=False)
    labels = turn.renderer.catalogue["call_changes"]
    changes = [str(labels[name]) for name in changed]
    now = turn.clock.now()
    r, session = turn.renderer, turn.session
    sent = await calls.queue_notices(
        session, r, call, stay, [p for p in rows if p.staff_id in added], "invite", now
    )
    sent += await calls.queue_notices(
        session, r, call, stay, [p for p in rows if p.staff_id in removed], "cancel", now
    )
    if changes:
        kept = [p for p in rows if p.active and p.staff_id not in added]
        sent += await calls.queue_notices(session, r, call, stay, kept, "update", now, changes)
    detail = {**_detail(call, wanted), "changed": changed, "added": added, "removed": removed}
    await _after_saving(turn, stay, call, "meeting_call.change", sent, detail)


def _detail(call: MeetingCall, wanted: Sequence[tuple[int, str]]) -> dict[str, Any]:
    return {
        "call_id": call.id,
        "version": call.version,
        "date": call.meeting_date.isoformat(),
        "time": format_time(call.meeting_time),
        "form": call.form,
        "participants": [staff_id for staff_id, _role in wanted],
        "without_licensed": call.without_licensed,
    }


async def _after_saving(
    turn: Turn, stay: Stay, call: MeetingCall, action: str, sent: int, detail: dict[str, Any]
) -> None:
    await StayRepository(turn.session).save(stay)  # the follow-up nudges read the booking
    await turn.audit(action, stay_id=stay.id, detail=detail)
    when = {"date": format_date(call.meeting_date), "time": format_time(call.meeting_time)}
    key = "call_sent" if action.endswith("create") else "call_changed"
    await turn.say(key, code=stay.case_code, count=sent, **when)
    if calls.is_late(call, stay):
        await turn.say("call_late_warning", deadline=format_date(stay.followup_deadline))
    if call.without_licensed:
        await turn.say("call_without_licensed_recorded")
    await show_status(turn, call, stay)
