"""Seeing stays and keeping the readiness checklist: ``mina vistelser``, ``vistelse KOD``,
``checklista KOD``, ``klar läkemedel KOD``, and the buttons on those cards.

In Teams the checklist's buttons are ``Action.Execute``: the invoke is answered with the refreshed
card, so it updates in place. Other clients fall back to ``Action.Submit``, answered by updating the
card's message (``replyToId``) or, failing that, by sending the refreshed card.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from botbuilder.core import CardFactory, MessageFactory

from dialogs import stay_service as service
from dialogs.parsing import InvalidInput
from dialogs.turn import Turn
from notifications import stay_views as views
from notifications.formatting import format_date
from storage.domain.calendar import stay_day_number
from storage.domain.clock import local_today
from storage.models import DecisionKind, ReadinessStatus, Role, Stay, StayStatus
from storage.repos.audit import AuditRepository
from storage.repos.staff import StaffRepository
from storage.repos.stays import StayRepository
from storage.repos.units import UnitRepository

LIST_LIMIT = 20
PLANNED_LIMIT = 10  # below the ongoing ones; both at their limits keep the card under 28 KB
READINESS_VERB = "readiness_set"
STATUS_ORDER = (ReadinessStatus.READY, ReadinessStatus.NOT_READY, ReadinessStatus.NOT_APPLICABLE)

# What staff type for a status and an item (like the month names in dialogs/parsing.py).
STATUS_WORDS = {
    "klar": ReadinessStatus.READY, "klart": ReadinessStatus.READY,
    "inte klar": ReadinessStatus.NOT_READY, "ej klar": ReadinessStatus.NOT_READY,
    "inte klart": ReadinessStatus.NOT_READY, "ej klart": ReadinessStatus.NOT_READY,
    "ej aktuellt": ReadinessStatus.NOT_APPLICABLE, "ej aktuell": ReadinessStatus.NOT_APPLICABLE,
    "inte aktuellt": ReadinessStatus.NOT_APPLICABLE, "inte aktuell": ReadinessStatus.NOT_APPLICABLE,
}  # fmt: skip
ITEM_WORDS = {
    "hjälpmedel": "assistive_devices", "hjalpmedel": "assistive_devices",
    "läkemedel": "medication", "lakemedel": "medication", "medicin": "medication",
    "mediciner": "medication",
    "vårdplan": "care_plan", "vardplan": "care_plan", "vårdplanen": "care_plan",
    "hemtjänst": "home_help", "hemtjanst": "home_help",
    "larm": "alarm", "trygghetslarm": "alarm",
    "nycklar": "keys", "nyckel": "keys", "nyckelhantering": "keys",
    "transport": "transport", "transporten": "transport",
    "bostadsanpassning": "home_modification",
    "slutanteckning": "closing_note", "slutanteckningen": "closing_note",
    "anteckning": "closing_note",
    "sip": "sip_called", "sip kallad": "sip_called",
    "hälsocentral": "care_home_notice", "hälsocentralen": "care_home_notice",
    "halsocentral": "care_home_notice",
}  # fmt: skip
STATUS_PATTERN = r"klart?|(?:inte|ej)\s+klart?|(?:inte|ej)\s+aktuellt?"


# --- the list ---


async def stays_command(turn: Turn, match: re.Match[str]) -> None:
    """``mina vistelser`` (``alla`` for the whole unit), or ``vistelse KOD`` for one stay."""
    found = match.groupdict()
    arg = (found.get("arg") or "").strip()
    if arg and arg.lower() != "alla":
        stay = await stay_for_code(turn, arg, "stay_usage")
        if stay is not None:
            await show_stay(turn, stay)
        return
    await show_stay_list(turn, show_all=bool(found.get("everyone") or arg))


async def my_stays_action(turn: Turn, value: Mapping[str, Any]) -> None:
    # The button is only on readers' cards, but a card can be replayed: same rule as "vistelser".
    if not turn.profile.has_role(*service.VIEW_ROLES):
        roles = ", ".join(turn.renderer.role_name(r).lower() for r in sorted(service.VIEW_ROLES))
        await turn.say("not_allowed", roles=roles)
        return
    await show_stay_list(turn, show_all=bool(value.get("all")))


async def show_stay_list(turn: Turn, show_all: bool) -> None:
    units = await UnitRepository(turn.session).by_ids(service.visible_unit_ids(turn.profile))
    unit_ids = [u.id for u in units if u.id is not None]
    stays_repo = StayRepository(turn.session)
    is_handlaggare = turn.profile.has_role(Role.HANDLAGGARE)
    mine_only = is_handlaggare and not show_all
    if mine_only:
        stays = await stays_repo.active_for_handlaggare(turn.profile.id, unit_ids)
        planned = await stays_repo.active_for_handlaggare(
            turn.profile.id, unit_ids, StayStatus.PLANNED
        )
    else:
        stays = await stays_repo.active_in_units(unit_ids)
        planned = await stays_repo.active_in_units(unit_ids, StayStatus.PLANNED)
    shown = list(stays[:LIST_LIMIT])
    planned_shown = list(planned[:PLANNED_LIMIT])
    items = await stays_repo.items_for(s.id for s in shown if s.id is not None)
    today = local_today(turn.clock)
    r = turn.renderer
    await AuditRepository(turn.session).record(
        "stays.list",
        turn.profile.id,
        detail={"stay_ids": [s.id for s in shown + planned_shown], "all": not mine_only},
    )
    await turn.show_card(
        "stay_list",
        title=r.text(
            "stays_title_mine" if mine_only else "stays_title_unit",
            units=", ".join(u.code for u in units),
        ),
        subtitle=r.text("stays_subtitle", count=len(stays)),
        empty=None if stays else r.text("stays_empty_mine" if mine_only else "stays_empty_unit"),
        rows=[views.stay_row(r, s, items.get(s.id or 0, []), today) for s in shown],
        more=r.text("stays_more", shown=len(shown), total=len(stays))
        if len(stays) > len(shown)
        else None,
        toggle=_toggle(turn, mine_only) if is_handlaggare else None,
        planned_heading=r.text("stays_planned_heading"),
        planned=[_planned_row(turn, stay) for stay in planned_shown],
        planned_more=r.text("stays_more", shown=len(planned_shown), total=len(planned))
        if len(planned) > len(planned_shown)
        else None,
    )


def _planned_row(turn: Turn, stay: Stay) -> dict[str, Any]:
    """Issue 17: a stay registered before arrival, in the list's own "Planerade" section."""
    r = turn.renderer
    return {
        "stay_id": stay.id,
        "title": r.text("stay_row_title", code=stay.case_code, room=stay.room or ""),
        "arrival": r.text("stays_planned_row", arrival=format_date(stay.arrival_date)),
    }


def _toggle(turn: Turn, mine_only: bool) -> dict[str, Any]:
    key = "stays_toggle_all" if mine_only else "stays_toggle_mine"
    return {"title": turn.renderer.text(key), "all": mine_only}


# --- one stay ---


async def open_stay_action(turn: Turn, value: Mapping[str, Any]) -> None:
    stay = await stay_for_action(turn, value, "open_stay")
    if stay is not None:
        await show_stay(turn, stay)


async def show_stay(turn: Turn, stay: Stay) -> None:
    await service.audit_read(turn.session, turn.profile, stay)
    await turn.show_card("stay_card", **await stay_card_values(turn, stay))


async def stay_card_values(turn: Turn, stay: Stay) -> dict[str, Any]:
    assert stay.id is not None
    r = turn.renderer
    today = local_today(turn.clock)
    unit = (await UnitRepository(turn.session).by_ids([stay.unit_id]))[0]
    names = await _names(turn, stay)
    people = views.StayPeople(unit.name, names.get("handlaggare"), names.get("nurse"))
    items = await StayRepository(turn.session).items(stay.id)
    active = stay.status == StayStatus.ACTIVE
    if stay.status == StayStatus.PLANNED:
        status = r.text("stay_status_planned", arrival=format_date(stay.arrival_date))
    elif stay.status == StayStatus.CANCELLED:
        status = r.text("stay_status_cancelled", arrival=format_date(stay.arrival_date))
    elif active:
        status = r.text("stay_status_active", day=stay_day_number(stay.arrival_date, today))
    else:
        status = r.text("stay_status_closed", days=service.length_of_stay(stay) or 0)
    return {
        "stay_id": stay.id,
        "title": r.text("stay_card_title", code=stay.case_code, room=stay.room or ""),
        "status": status,
        "facts": views.stay_facts(r, stay, people, today),
        "decision": views.decision_facts(r, stay),
        "decision_heading": views.decision_heading(r, stay),
        "decided": bool(stay.decision_kind),
        "timeline": views.timeline(
            r, stay, today, await service.meetings_held(turn.session, stay.id)
        ),
        "checklist": views.checklist_rows(r, items),
        "checklist_summary": views.checklist_summary(r, items)
        if items
        else r.text("readiness_not_started"),
        "buttons": _stay_buttons(turn, stay, active),
    }


async def _names(turn: Turn, stay: Stay) -> dict[str, str]:
    staff = StaffRepository(turn.session)
    found: dict[str, str] = {}
    for role, staff_id in (("handlaggare", stay.handlaggare_id), ("nurse", stay.nurse_id)):
        member = await staff.by_id(staff_id) if staff_id else None
        if member is not None:
            found[role] = member.name
    return found


def _stay_buttons(turn: Turn, stay: Stay, active: bool) -> list[dict[str, Any]]:
    r = turn.renderer
    data = {"stay_id": stay.id}
    buttons = [
        {"title": r.text("stay_button_checklist"), "data": {"action": "open_checklist", **data}}
    ]
    if active and service.may_decide(turn.profile, stay):
        buttons.insert(
            0, {"title": _meeting_title(turn, stay), "data": {"action": "meeting_start", **data}}
        )
        if stay.followup_held_on is None:  # issue 15: call the team to the meeting
            call = {"title": r.text("stay_button_call"), "data": {"action": "call_start", **data}}
            buttons.insert(1, call)
        buttons.append(
            {"title": r.text("stay_button_home_going"), "data": {"action": "home_going", **data}}
        )
        buttons.append(
            {"title": r.text("stay_button_close"), "data": {"action": "close_stay", **data}}
        )
    if stay.status == StayStatus.PLANNED and service.may_decide(turn.profile, stay):
        cancel = {"action": "cancel_planned", **data}
        buttons.append({"title": r.text("stay_button_cancel_planned"), "data": cancel})
    return _arrival_buttons(turn, stay, data) + buttons


def _arrival_buttons(turn: Turn, stay: Stay, data: dict[str, Any]) -> list[dict[str, Any]]:
    """Issue 17, item 11: a planned stay's arrival on its day, an acute stay's phone handover
    (the actions of ``dialogs.arrival``)."""
    if not turn.profile.has_role(Role.HANDLAGGARE, Role.SJUKSKOTERSKA):
        return []
    r = turn.renderer
    if stay.status == StayStatus.PLANNED and stay.arrival_date <= local_today(turn.clock):
        return [
            {"title": r.text("stay_button_arrived"), "data": {"action": "stay_arrived", **data}}
        ]
    if stay.status == StayStatus.ACTIVE and stay.acute and not stay.phone_handover_done:
        action = {"action": "phone_handover", **data}
        return [{"title": r.text("stay_button_handover"), "data": action}]
    return []


def _meeting_title(turn: Turn, stay: Stay) -> str:
    """'Starta uppföljning' before the first meeting; after one was held, a new one, and why."""
    if stay.followup_held_on is None:
        return turn.renderer.text("stay_button_meeting")
    if stay.decision_kind == DecisionKind.EXTENSION:
        return turn.renderer.text("stay_button_meeting_after_extension")
    return turn.renderer.text("stay_button_meeting_again")


# --- the checklist ---


async def checklist_command(turn: Turn, match: re.Match[str]) -> None:
    if match.groupdict().get("status"):
        await mark_readiness(turn, match)
        return
    stay = await stay_for_code(turn, match.groupdict().get("code"), "checklist_usage")
    if stay is not None:
        await show_checklist(turn, stay)


async def checklist_action(turn: Turn, value: Mapping[str, Any]) -> None:
    stay = await stay_for_action(turn, value, "open_checklist")
    if stay is not None:
        await show_checklist(turn, stay)


async def show_checklist(turn: Turn, stay: Stay) -> None:
    await service.audit_read(turn.session, turn.profile, stay, "readiness.read")
    await turn.show_card("stay_checklist", **await checklist_values(turn, stay))


async def checklist_values(
    turn: Turn, stay: Stay, notice: tuple[str, str] | None = None
) -> dict[str, Any]:
    assert stay.id is not None
    active = stay.status == StayStatus.ACTIVE
    if active:
        items = await service.ensure_checklist(turn.session, stay)
    else:
        items = list(await StayRepository(turn.session).items(stay.id))
    r = turn.renderer
    statuses = views.labels(r, "readiness_status")
    by_kind = {item.kind: item for item in items}
    rows: list[dict[str, Any]] = []
    for row in views.checklist_rows(r, items):
        item = by_kind[row["kind"]]
        editable = active and service.may_change_item(turn.profile, stay, item)
        actions = [
            {"title": statuses[status], "status": status}
            for status in STATUS_ORDER
            if editable and status != item.status
        ]
        rows.append({**row, "actions": actions})
    return {
        "stay_id": stay.id,
        "verb": READINESS_VERB,
        "title": r.text("checklist_title", code=stay.case_code),
        "subtitle": views.home_going_text(r, stay),
        "summary": views.checklist_summary(r, items),
        "notice": {"text": notice[0], "color": notice[1]} if notice else None,
        "rows": rows,
        "hint": r.text("checklist_hint", code=stay.case_code) if active else None,
    }


async def readiness_card(turn: Turn, data: Mapping[str, Any]) -> dict[str, Any] | None:
    """Apply a checklist button and return the refreshed card; None when the stay is refused."""
    try:
        stay = await service.stay_from_card(
            turn.session, turn.profile, data.get("stay_id"), "readiness_set"
        )
    except service.NotPermitted:
        return None
    kind, status = str(data.get("kind") or ""), str(data.get("status") or "")
    try:
        change = await service.set_readiness(
            turn.session, turn.profile, stay, kind, status, turn.clock.now()
        )
    except InvalidInput as refused:
        return await _checklist_card(turn, stay, (_message(turn, refused), views.ATTENTION))
    label = views.labels(turn.renderer, "readiness_item").get(kind, kind)
    status_text = views.labels(turn.renderer, "readiness_status")[status]
    key = "readiness_changed" if change.changed else "readiness_unchanged"
    notice = turn.renderer.text(key, item=label, status=status_text.lower())
    return await _checklist_card(
        turn, stay, (notice, views.GOOD if change.changed else views.DEFAULT)
    )


async def _checklist_card(turn: Turn, stay: Stay, notice: tuple[str, str]) -> dict[str, Any]:
    return turn.renderer.card("stay_checklist", **await checklist_values(turn, stay, notice))


async def readiness_submit(turn: Turn, value: Mapping[str, Any]) -> None:
    """The Action.Submit fallback: update the card's message in place when we know it."""
    card = await readiness_card(turn, value)
    if card is None:
        await turn.say("stay_refused")
        return
    activity = MessageFactory.attachment(CardFactory.adaptive_card(card))
    reply_to = turn.context.activity.reply_to_id
    if reply_to:
        activity.id = reply_to
        await turn.context.update_activity(activity)
    else:
        await turn.context.send_activity(activity)


async def mark_ready_action(turn: Turn, value: Mapping[str, Any]) -> None:
    """The "Klart" button on a readiness nudge: mark the item ready and say so."""
    stay = await stay_for_action(turn, value, "mark_ready")
    if stay is not None:
        await _set_and_tell(turn, stay, str(value.get("item") or ""), ReadinessStatus.READY)


async def mark_readiness(turn: Turn, match: re.Match[str]) -> None:
    """``klar läkemedel ÄNG-042``, ``inte klar ...``, ``ej aktuellt ...``."""
    status = STATUS_WORDS.get(" ".join(match.group("status").lower().split()))
    kind = ITEM_WORDS.get(" ".join(match.group("item").lower().split()))
    if status is None or kind is None:
        await turn.say("readiness_item_unknown", text=match.group("item")[:40])
        return
    stay = await stay_for_code(turn, match.group("item_code"), "readiness_usage")
    if stay is not None:
        await _set_and_tell(turn, stay, kind, status)


async def _set_and_tell(turn: Turn, stay: Stay, kind: str, status: str) -> None:
    try:
        change = await service.set_readiness(
            turn.session, turn.profile, stay, kind, status, turn.clock.now()
        )
    except InvalidInput as refused:
        await turn.say_text(_message(turn, refused))
        return
    items = await StayRepository(turn.session).items(stay.id or 0)
    missing = sum(1 for item in items if item.status == ReadinessStatus.NOT_READY)
    label = views.labels(turn.renderer, "readiness_item").get(kind, kind)
    status_text = views.labels(turn.renderer, "readiness_status")[status].lower()
    key = "readiness_changed_text" if change.changed else "readiness_unchanged"
    await turn.say(key, item=label, status=status_text, code=stay.case_code, missing=missing)


def _message(turn: Turn, invalid: InvalidInput) -> str:
    return turn.renderer.text(invalid.key, **invalid.values)


# --- finding the stay a command or button names ---


async def stay_for_code(turn: Turn, code: str | None, usage_key: str) -> Stay | None:
    """The stay a typed code names, or None after saying what was wrong."""
    if not code:
        await turn.say(usage_key, example=await _example_code(turn))
        return None
    stay = await service.stay_by_code(turn.session, turn.profile, code)
    if stay is None:
        await turn.say("stay_not_found", code=code.upper()[:40])
    return stay


async def stay_for_action(turn: Turn, value: Mapping[str, Any], action: str) -> Stay | None:
    """The stay a button names, or None after telling the person it was refused."""
    try:
        return await service.stay_from_card(
            turn.session, turn.profile, value.get("stay_id"), action
        )
    except service.NotPermitted:
        await turn.say("stay_refused")
        return None


async def _example_code(turn: Turn) -> str:
    stays = await StayRepository(turn.session).active_in_units(
        service.visible_unit_ids(turn.profile)
    )
    return stays[0].case_code if stays else "ÄNG-042"


async def decider_or_refuse(turn: Turn, stay: Stay, what: str) -> bool:
    """Only a handläggare of the unit records decisions; others are told so, and it is audited."""
    if service.may_decide(turn.profile, stay):
        return True
    await AuditRepository(turn.session).record(
        "stay.decision_refused",
        turn.profile.id,
        stay_id=stay.id,
        unit_id=stay.unit_id,
        detail={"case_code": stay.case_code, "what": what},
    )
    await turn.say("stay_decision_not_allowed")
    return False
