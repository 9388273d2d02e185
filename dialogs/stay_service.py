"""Shared stay logic: who may see and change what, and the changes themselves.

The stay dialogs, the follow-up meeting and the CLI all call these. Each function takes the
caller's session and flushes; the turn (or the command) commits once. Every read and write of a
stay is an audit event. A rule that says no raises ``InvalidInput`` (or ``NotPermitted``) with a
catalogue key, so the caller can tell the person what is wrong and what to do instead.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from dialogs.parsing import InvalidInput, check_not_past
from notifications.formatting import format_date
from notifications.notices import (
    HomeGoingChange,
    queue_care_home_task,
    queue_home_going_notice,
    queue_stay_decision_notice,
)
from storage.domain.calendar import followup_deadline
from storage.domain.clock import STOCKHOLM
from storage.domain.pnr import contains_personal_number
from storage.domain.readiness import CARE_HOME_TASK, checklist_for_stay
from storage.models import (
    CloseReason,
    DecisionEventKind,
    DecisionKind,
    HospitalWait,
    ReadinessItem,
    ReadinessKind,
    ReadinessStatus,
    Role,
    Stay,
    StayStatus,
    Unit,
    WaitStatus,
)
from storage.repos.audit import AuditRepository
from storage.repos.decisions import DecisionRepository
from storage.repos.meetings import MeetingRepository
from storage.repos.staff import StaffProfile
from storage.repos.stays import StayRepository
from storage.repos.waits import WaitRepository

# Everyone who works with stays may read them; an administrator keeps the registry, not the
# cases, and an enhetschef sees figures, not people (DOMAIN.md, issue 9).
VIEW_ROLES = frozenset(
    {
        Role.HANDLAGGARE,
        Role.SJUKSKOTERSKA,
        Role.REHAB,
        Role.OMSORGSPERSONAL,
        Role.KOORDINATOR,
        Role.BOENDESAMORDNARE,
    }
)
WAIT_ROLES = frozenset({Role.BOENDESAMORDNARE, Role.HANDLAGGARE})
AFTERNOON_FROM = time(12, 0)  # later than this: accepted, with a note that mornings are preferred
GOAL_MAX = 500
ROOM_MAX = 16
CASE_CODE_MAX = 32
ARRIVAL_MAX_AGE_DAYS = 365
PLANNED_MAX_DAYS = 90  # a stay may be registered this long before its planned arrival
_CASE_CODE = re.compile(r"^[A-ZÅÄÖ0-9]+(?:-[A-ZÅÄÖ0-9]+)*$")


class NotPermitted(InvalidInput):
    """The person may not do this; the key names a message that says who may."""


# --- who may do what ---


def may_see(profile: StaffProfile, stay: Stay) -> bool:
    return stay.unit_id in profile.unit_ids and profile.has_role(*VIEW_ROLES)


def may_decide(profile: StaffProfile, stay: Stay) -> bool:
    """Only a handläggare of the stay's unit records decisions (home-going, closing)."""
    return stay.unit_id in profile.unit_ids and profile.has_role(Role.HANDLAGGARE)


def may_change_item(profile: StaffProfile, stay: Stay, item: ReadinessItem) -> bool:
    """A readiness item is changed by someone of the unit who holds its responsible role."""
    return stay.unit_id in profile.unit_ids and item.responsible_role in profile.roles


def may_register_in(profile: StaffProfile, unit_id: int) -> bool:
    return unit_id in profile.unit_ids and profile.has_role(Role.HANDLAGGARE)


def may_handle_waits(profile: StaffProfile) -> bool:
    return profile.has_role(*WAIT_ROLES)


def visible_unit_ids(profile: StaffProfile) -> frozenset[int]:
    return profile.unit_ids if profile.has_role(*VIEW_ROLES) else frozenset()


# --- finding a stay ---


async def stay_by_code(session: AsyncSession, profile: StaffProfile, code: str) -> Stay | None:
    """The stay with this case code on the person's units; others' stays are not found."""
    return await StayRepository(session).by_case_code(code, visible_unit_ids(profile))


async def stay_from_card(
    session: AsyncSession, profile: StaffProfile, raw_stay_id: Any, action: str
) -> Stay:
    """The stay a card button names, after checking the person may see it.

    A card's payload comes from the client and can be altered: a stay of another unit (or one that
    does not exist) is refused, and the attempt is audited.
    """
    stay = None
    if isinstance(raw_stay_id, int | str) and str(raw_stay_id).isdigit():
        stay = await StayRepository(session).by_id(int(raw_stay_id))
    if stay is None or not may_see(profile, stay):
        await AuditRepository(session).record(
            "stay.access_refused",
            profile.id,
            stay_id=stay.id if stay else None,
            unit_id=stay.unit_id if stay else None,
            detail={"action": action[:40], "stay_id": str(raw_stay_id)[:20]},
        )
        raise NotPermitted("stay_refused")
    return stay


async def audit_read(
    session: AsyncSession, profile: StaffProfile, stay: Stay, what: str = "stay.read"
) -> None:
    await AuditRepository(session).record(
        what,
        profile.id,
        stay_id=stay.id,
        unit_id=stay.unit_id,
        detail={"case_code": stay.case_code},
    )


# --- values a person types (also used by the CSV import) ---


def normalize_case_code(text: str) -> str:
    if contains_personal_number(text):
        raise InvalidInput("personal_number_refused")
    code = " ".join(text.split()).upper()
    if not code or len(code) > CASE_CODE_MAX or not _CASE_CODE.match(code):
        raise InvalidInput("stay_code_invalid", {"text": text.strip()[:40]})
    return code


def check_unit_pattern(text: str, prefix: str) -> None:
    """``14`` or ``äng14`` at a unit whose codes are ``ÄNG-NNN``: ask "Menar du ÄNG-014?"."""
    cleaned = "".join(text.split()).upper()
    match = re.fullmatch(rf"(?:{re.escape(prefix)}-?)?0*(\d{{1,4}})", cleaned)
    if match and cleaned != f"{prefix}-{match[1]:0>3}":
        raise InvalidInput(
            "stay_code_guess", {"text": text.strip()[:40], "code": f"{prefix}-{int(match[1]):03d}"}
        )


def check_free_text(text: str, limit: int, *, required: bool) -> str | None:
    """Short free text: scanned for identity numbers (never stored), limited in length."""
    cleaned = " ".join(text.split())
    if contains_personal_number(cleaned):
        raise InvalidInput("personal_number_refused")
    if not cleaned:
        if required:
            raise InvalidInput("stay_text_required")
        return None
    if len(cleaned) > limit:
        raise InvalidInput("stay_text_too_long", {"max": limit, "length": len(cleaned)})
    return cleaned


def check_room(text: str) -> str | None:
    """A room is a short label with a number ("5", "12 B"): never a name, and never a command."""
    room = check_free_text(text, ROOM_MAX, required=False)
    if room is not None and not any(char.isdigit() for char in room):
        raise InvalidInput("stay_room_invalid", {"text": room})
    return room


def check_arrival(arrival: date, today: date) -> date:
    """Today or earlier (the person has come), or a planned arrival not too far ahead."""
    if arrival > today + timedelta(days=PLANNED_MAX_DAYS):
        raise InvalidInput(
            "stay_arrival_in_future", {"date": format_date(arrival), "days": PLANNED_MAX_DAYS}
        )
    if (today - arrival).days > ARRIVAL_MAX_AGE_DAYS:
        raise InvalidInput("stay_arrival_too_old", {"date": format_date(arrival)})
    return arrival


def check_decision_end(end: date, arrival: date, today: date) -> date:
    if end < arrival:
        raise InvalidInput(
            "stay_end_before_arrival", {"date": format_date(end), "arrival": format_date(arrival)}
        )
    if end < today:
        raise InvalidInput("stay_end_in_past", {"date": format_date(end)})
    return end


def check_home_going_date(stay: Stay, day: date, today: date) -> date:
    """The meeting's rule: not in the past, not after the stay's decided end date."""
    check_not_past(day, today)
    end = stay.decision_end_date
    if end is not None and day > end:
        raise InvalidInput(
            "home_going_after_end", {"date": format_date(day), "end": format_date(end)}
        )
    return day


def is_afternoon(at: time | None) -> bool:
    return at is not None and at > AFTERNOON_FROM


def local_day(now: datetime) -> date:
    return now.astimezone(STOCKHOLM).date()


# --- registering a stay ---


@dataclass(frozen=True, slots=True)
class NewStay:
    unit_id: int
    case_code: str
    room: str | None
    arrival_date: date
    decision_end_date: date
    goal: str
    acute: bool
    phone_handover_done: bool | None
    handlaggare_id: int | None
    nurse_id: int | None
    sol_order_received: bool | None = None


@dataclass(frozen=True, slots=True)
class Registered:
    stay: Stay
    linked_wait: HospitalWait | None


async def suggest_case_code(session: AsyncSession, unit: Unit) -> str:
    """``UNIT-NNN``: one more than the highest number used by the unit's stays and waits."""
    assert unit.id is not None
    prefix = f"{unit.code}-"
    codes = list(await StayRepository(session).case_codes_with_prefix(unit.id, prefix))
    codes += [w.case_code for w in await WaitRepository(session).open_in_units([unit.id])]
    pattern = re.compile(rf"^{re.escape(prefix)}(\d+)$")
    numbers = [int(m[1]) for code in codes if (m := pattern.match(code))]
    return f"{prefix}{max(numbers, default=0) + 1:03d}"


async def register_stay(
    session: AsyncSession, actor: StaffProfile | None, new: NewStay, now: datetime
) -> Registered:
    """Insert a stay after checking every rule; an open hospital wait with its code is closed.

    ``actor`` is None for the operator's CSV import, which has no person behind it.
    """
    if actor is not None and not may_register_in(actor, new.unit_id):
        raise NotPermitted("stay_register_not_allowed")
    today = local_day(now)
    code = normalize_case_code(new.case_code)
    stays = StayRepository(session)
    if await stays.case_code_taken(new.unit_id, code):
        raise InvalidInput("stay_code_taken", {"code": code})
    goal = check_free_text(new.goal, GOAL_MAX, required=True)
    room = check_room(new.room or "")
    check_arrival(new.arrival_date, today)
    check_decision_end(new.decision_end_date, new.arrival_date, today)
    stay = Stay(
        unit_id=new.unit_id,
        case_code=code,
        room=room,
        arrival_date=new.arrival_date,
        decision_end_date=new.decision_end_date,
        goal=goal or "",
        acute=new.acute,
        phone_handover_done=new.phone_handover_done if new.acute else None,
        handlaggare_id=new.handlaggare_id,
        nurse_id=new.nurse_id,
        sol_order_received=new.sol_order_received,
        status=StayStatus.PLANNED if new.arrival_date > today else StayStatus.ACTIVE,
        followup_deadline=new.arrival_date,  # the repository derives the real deadline
    )
    await stays.add(stay)
    planned = stay.status == StayStatus.PLANNED
    linked = None if planned else await _close_wait_on_arrival(session, stay, now)
    await AuditRepository(session).record(
        "stay.register",
        actor.id if actor else None,
        stay_id=stay.id,
        unit_id=stay.unit_id,
        detail={
            "case_code": code,
            "acute": stay.acute,
            "source": "bot" if actor else "import",
            "hospital_wait_id": linked.id if linked else None,
            "planned": planned,
        },
    )
    return Registered(stay, linked)


async def confirm_arrival(
    session: AsyncSession, actor: StaffProfile, stay: Stay, now: datetime
) -> HospitalWait | None:
    """``ankommit``: a planned stay becomes active on the day the person really comes.

    The arrival date becomes that day, so the day-7 deadline runs from the real arrival.
    Refused before the planned day and for a stay that is not planned.
    """
    today = local_day(now)
    if stay.status != StayStatus.PLANNED:
        raise InvalidInput("arrival_not_planned", {"code": stay.case_code})
    if today < stay.arrival_date:
        raise InvalidInput(
            "arrival_too_early", {"code": stay.case_code, "date": format_date(stay.arrival_date)}
        )
    planned_on = stay.arrival_date
    stay.arrival_date = today
    stay.status = StayStatus.ACTIVE
    stay.followup_deadline = followup_deadline(today)
    await StayRepository(session).save(stay)
    linked = await _close_wait_on_arrival(session, stay, now)
    await AuditRepository(session).record(
        "stay.arrival",
        actor.id,
        stay_id=stay.id,
        unit_id=stay.unit_id,
        detail={"planned_on": planned_on.isoformat(), "arrived_on": today.isoformat()},
    )
    return linked


async def cancel_planned_stay(session: AsyncSession, actor: StaffProfile, stay: Stay) -> None:
    """``avsluta`` on a planned stay: the person never came, so it never started.

    It keeps its record (audited, with the planned day) but counts in no indicator: it has no
    departure, and the status is neither active nor closed.
    """
    _require_decider(actor, stay)
    if stay.status != StayStatus.PLANNED:
        raise InvalidInput("cancel_planned_not_planned", {"code": stay.case_code})
    stay.status = StayStatus.CANCELLED
    await StayRepository(session).save(stay)
    await AuditRepository(session).record(
        "stay.cancel_planned",
        actor.id,
        stay_id=stay.id,
        unit_id=stay.unit_id,
        detail={"case_code": stay.case_code, "planned_on": stay.arrival_date.isoformat()},
    )


async def record_handover(session: AsyncSession, actor: StaffProfile, stay: Stay) -> None:
    """The phone handover of an acute placement is done (seed 000): the nurse's nudge stops."""
    if stay.status == StayStatus.CLOSED:
        raise InvalidInput("stay_closed", {"code": stay.case_code})
    if not stay.acute:
        raise InvalidInput("handover_not_acute", {"code": stay.case_code})
    stay.phone_handover_done = True
    await StayRepository(session).save(stay)
    await AuditRepository(session).record(
        "stay.phone_handover", actor.id, stay_id=stay.id, unit_id=stay.unit_id, detail={}
    )


async def _close_wait_on_arrival(
    session: AsyncSession, stay: Stay, now: datetime
) -> HospitalWait | None:
    waits = WaitRepository(session)
    wait = await waits.open_by_case_code(stay.case_code, stay.unit_id)
    if wait is None:
        return None
    await waits.close(wait, WaitStatus.ARRIVED, arrival_instant(stay, now), stay.id)
    return wait


def arrival_instant(stay: Stay, now: datetime) -> datetime:
    """When the person left hospital: now if they arrive today, else the start of arrival day."""
    if stay.arrival_date >= local_day(now):
        return now
    return datetime.combine(stay.arrival_date, time(0), STOCKHOLM).astimezone(UTC)


# --- readiness ---


async def ensure_checklist(session: AsyncSession, stay: Stay) -> list[ReadinessItem]:
    """The checklist exists from the first look at it: home-going is planned from day one."""
    assert stay.id is not None
    stays = StayRepository(session)
    await stays.ensure_items(stay.id, checklist_for_stay(stay))
    return list(await stays.items(stay.id))


@dataclass(frozen=True, slots=True)
class ItemChange:
    item: ReadinessItem
    changed: bool
    previous: str


async def set_readiness(
    session: AsyncSession, actor: StaffProfile, stay: Stay, kind: str, status: str, now: datetime
) -> ItemChange:
    """Mark one item ready / not ready / not applicable, if the person holds its role."""
    _require_active(stay)
    if status not in set(ReadinessStatus):
        raise InvalidInput("readiness_status_invalid", {"text": status[:20]})
    items = {item.kind: item for item in await ensure_checklist(session, stay)}
    item = items.get(kind)
    if item is None:
        raise InvalidInput("readiness_item_missing", {"code": stay.case_code})
    audit = AuditRepository(session)
    if not may_change_item(actor, stay, item):
        await audit.record(
            "readiness.refused",
            actor.id,
            stay_id=stay.id,
            unit_id=stay.unit_id,
            detail={"case_code": stay.case_code, "kind": kind},
        )
        raise NotPermitted("readiness_not_yours", {"role": item.responsible_role, "kind": kind})
    previous = item.status
    if previous == status:
        return ItemChange(item, False, previous)
    await StayRepository(session).save_item(item, status, actor.id, now)
    await audit.record(
        "readiness.update",
        actor.id,
        stay_id=stay.id,
        unit_id=stay.unit_id,
        detail={"case_code": stay.case_code, "kind": kind, "status": status, "previous": previous},
    )
    return ItemChange(item, True, previous)


# --- home-going ---


@dataclass(frozen=True, slots=True)
class HomeGoingDetails:
    """What the coordinator hears besides the date (seed 001): the meeting's questions."""

    transport: str
    home_help_meets: bool
    provider_name: str | None
    provider_contact: str | None
    coordination_needed: bool
    health_care_only: bool
    sip_wanted: bool

    @classmethod
    def of(cls, values: Mapping[str, Any]) -> HomeGoingDetails:
        """From the checked answers of the decision form (``dialogs.meeting.decision``)."""
        return cls(
            transport=str(values["transport"]),
            home_help_meets=bool(values["home_help_meets"]),
            provider_name=values.get("provider_name"),
            provider_contact=values.get("provider_contact"),
            coordination_needed=bool(values["coordination_needed"]),
            health_care_only=bool(values.get("health_care_only")),
            sip_wanted=bool(values.get("sip_wanted")),
        )


def details_known(stay: Stay) -> bool:
    """Whether the stay already has every answer the coordinator needs besides the date, so a
    typed new date can keep them."""
    answered = None not in (
        stay.transport,
        stay.home_help_meets,
        stay.coordination_needed,
        stay.sip_wanted,
    )
    return answered and (not stay.home_help_meets or bool(stay.provider_contact))


def _write_details(stay: Stay, details: HomeGoingDetails) -> None:
    stay.transport = details.transport
    stay.home_help_meets = details.home_help_meets
    stay.provider_name = details.provider_name
    stay.provider_contact = details.provider_contact
    stay.coordination_needed = details.coordination_needed
    stay.health_care_only = details.health_care_only
    stay.sip_wanted = details.sip_wanted


def _details_of(stay: Stay) -> tuple[object, ...]:
    return (
        stay.transport,
        stay.home_help_meets,
        stay.provider_name,
        stay.provider_contact,
        stay.coordination_needed,
        stay.health_care_only,
        stay.sip_wanted,
    )


@dataclass(frozen=True, slots=True)
class HomeGoingOutcome:
    change: HomeGoingChange
    notices: int
    afternoon: bool
    closing_note_reset: bool


async def set_home_going(
    session: AsyncSession,
    actor: StaffProfile,
    stay: Stay,
    day: date,
    at: time | None,
    now: datetime,
    details: HomeGoingDetails | None = None,
) -> HomeGoingOutcome:
    """Set or change the home-going; the coordinators are told in the same transaction.

    ``details`` None keeps what the stay has (a new date typed for a home-going already planned
    with every answer, see ``details_known``)."""
    _require_decider(actor, stay)
    _require_active(stay)
    check_home_going_date(stay, day, local_day(now))
    before = _details_of(stay)
    if details is not None:
        _write_details(stay, details)
    if (stay.home_going_date, stay.home_going_time) == (day, at) and before == _details_of(stay):
        raise InvalidInput("home_going_unchanged", {"date": format_date(day)})
    change: HomeGoingChange = "changed" if stay.home_going_date else "set"
    if stay.decision_kind != DecisionKind.HOME_GOING:
        stay.decision_kind = DecisionKind.HOME_GOING
        stay.decided_at = now
    stay.waiting_care_home = False
    reset = await change_home_going(session, stay, day, at)
    event = (
        DecisionEventKind.HOME_GOING_SET
        if change == "set"
        else DecisionEventKind.HOME_GOING_CHANGED
    )
    await DecisionRepository(session).append(stay, event, now, actor.id, home_going_date=day)
    await ensure_checklist(session, stay)
    notices = await queue_home_going_notice(session, stay, change, now)
    await _audit_home_going(session, actor, stay, change)
    return HomeGoingOutcome(change, notices, is_afternoon(at), reset)


async def cancel_home_going(
    session: AsyncSession, actor: StaffProfile, stay: Stay, now: datetime
) -> int:
    """Cancel a planned home-going; returns how many coordinators are told."""
    _require_decider(actor, stay)
    _require_active(stay)
    if stay.home_going_date is None:
        raise InvalidInput("home_going_none", {"code": stay.case_code})
    # Queued while the date is still on the stay: the notice's key names the cancelled date.
    notices = await queue_home_going_notice(session, stay, "cancelled", now)
    if stay.decision_kind == DecisionKind.HOME_GOING:
        stay.decision_kind = None
    await change_home_going(session, stay, None, None)
    await DecisionRepository(session).append(
        stay, DecisionEventKind.HOME_GOING_CANCELLED, now, actor.id
    )
    await _audit_home_going(session, actor, stay, "cancelled")
    return notices


async def change_home_going(
    session: AsyncSession, stay: Stay, day: date | None, at: time | None
) -> bool:
    """The one place a stay's home-going date and time change (the meeting's decision and
    ``hemgång KOD`` both come here); saves the stay.

    The nurse's closing note carries the home-going date (seed 003): when the date moves, a note
    already marked ready goes back to not ready. Returns whether it did.
    """
    moved = stay.home_going_date is not None and stay.home_going_date != day
    stay.home_going_date, stay.home_going_time = day, at
    await StayRepository(session).save(stay)
    return await _closing_note_needs_new_date(session, stay) if moved else False


async def _closing_note_needs_new_date(session: AsyncSession, stay: Stay) -> bool:
    """A new date means a new note: a ready closing note is not ready again."""
    assert stay.id is not None
    stays = StayRepository(session)
    note = await stays.item(stay.id, ReadinessKind.CLOSING_NOTE)
    if note is None or note.status != ReadinessStatus.READY:
        return False
    await stays.save_item(note, ReadinessStatus.NOT_READY, None)
    await AuditRepository(session).record(
        "readiness.reset",
        None,
        stay_id=stay.id,
        unit_id=stay.unit_id,
        detail={"case_code": stay.case_code, "kind": note.kind, "reason": "new_home_going_date"},
    )
    return True


async def _audit_home_going(
    session: AsyncSession, actor: StaffProfile, stay: Stay, change: str
) -> None:
    await AuditRepository(session).record(
        f"stay.home_going.{change}",
        actor.id,
        stay_id=stay.id,
        unit_id=stay.unit_id,
        detail={
            "case_code": stay.case_code,
            "date": stay.home_going_date.isoformat() if stay.home_going_date else None,
            "time": stay.home_going_time.strftime("%H:%M") if stay.home_going_time else None,
        },
    )


# --- closing ---


@dataclass(frozen=True, slots=True)
class Closed:
    length_days: int
    notices: int
    care_home_told: int = 0  # coordinators told the stay moved to a care home


def check_departure(stay: Stay, departure: date, today: date) -> date:
    if departure > today:
        raise InvalidInput("stay_departure_in_future", {"date": format_date(departure)})
    if departure < stay.arrival_date:
        raise InvalidInput(
            "stay_departure_before_arrival",
            {"date": format_date(departure), "arrival": format_date(stay.arrival_date)},
        )
    return departure


def length_of_stay(stay: Stay) -> int | None:
    """Days from arrival to departure, as the average-length indicator counts them."""
    if stay.departure_date is None:
        return None
    return (stay.departure_date - stay.arrival_date).days


async def close_stay(
    session: AsyncSession,
    actor: StaffProfile,
    stay: Stay,
    reason: str,
    departure: date,
    now: datetime,
) -> Closed:
    """Close the stay with its reason and actual departure date; the length is then final."""
    _require_decider(actor, stay)
    _require_active(stay)
    if reason not in set(CloseReason):
        raise InvalidInput("close_reason_invalid", {"text": reason[:40]})
    check_departure(stay, departure, local_day(now))
    notices = 0
    if _planned_home_going_dropped(stay, reason, departure, local_day(now)):
        notices = await queue_home_going_notice(session, stay, "cancelled", now)
    stay.status = StayStatus.CLOSED
    stay.close_reason = reason
    stay.departure_date = departure
    await StayRepository(session).save(stay)
    care_home_told = 0
    if reason == CloseReason.CARE_HOME:
        care_home_told = await _moved_to_care_home(session, stay, now)
    length = length_of_stay(stay) or 0
    await AuditRepository(session).record(
        "stay.close",
        actor.id,
        stay_id=stay.id,
        unit_id=stay.unit_id,
        detail={
            "case_code": stay.case_code,
            "reason": reason,
            "departure": departure.isoformat(),
            "length_days": length,
        },
    )
    return Closed(length, notices, care_home_told)


async def _moved_to_care_home(session: AsyncSession, stay: Stay, now: datetime) -> int:
    """Closed to a care home (seed 003): the nurse tells the health centre unless already done
    for the care-home decision, and the coordinator learns the bed is free."""
    assert stay.id is not None
    stays = StayRepository(session)
    task = await stays.item(stay.id, ReadinessKind.CARE_HOME_NOTICE)
    if task is None or task.status == ReadinessStatus.NOT_READY:
        await stays.ensure_items(stay.id, CARE_HOME_TASK)
        await queue_care_home_task(session, stay, now)
    return await queue_stay_decision_notice(session, stay, "care_home_closed", now)


def _planned_home_going_dropped(stay: Stay, reason: str, departure: date, today: date) -> bool:
    """A home-going still ahead that will not happen as planned: the coordinator must know."""
    planned = stay.home_going_date
    if planned is None or planned < today:
        return False
    return reason != CloseReason.WENT_HOME or planned != departure


# --- hospital waits ---


async def register_wait(
    session: AsyncSession,
    actor: StaffProfile,
    case_code: str,
    notified_at: datetime,
    unit_id: int,
    now: datetime,
) -> HospitalWait:
    if not may_handle_waits(actor) or unit_id not in actor.unit_ids:
        raise NotPermitted("wait_not_allowed")
    code = normalize_case_code(case_code)
    if notified_at > now:
        raise InvalidInput("wait_notice_in_future")
    if (now - notified_at) > timedelta(days=ARRIVAL_MAX_AGE_DAYS):
        raise InvalidInput("wait_notice_too_old")
    waits = WaitRepository(session)
    if await waits.open_by_case_code(code, unit_id) is not None:
        raise InvalidInput("wait_exists", {"code": code})
    if await StayRepository(session).case_code_taken(unit_id, code):
        raise InvalidInput("stay_code_taken", {"code": code})
    wait = await waits.add(
        HospitalWait(
            case_code=code,
            expected_unit_id=unit_id,
            notified_at=notified_at,
            created_by_id=actor.id,
        )
    )
    await _audit_wait(session, actor, "wait.register", wait)
    return wait


async def wait_for(session: AsyncSession, actor: StaffProfile, raw_wait_id: Any) -> HospitalWait:
    """A wait named by a card button, refused (and audited) outside the person's units."""
    wait = None
    if isinstance(raw_wait_id, int | str) and str(raw_wait_id).isdigit():
        wait = await WaitRepository(session).by_id(int(raw_wait_id))
    if wait is None or not may_handle_waits(actor) or wait.expected_unit_id not in actor.unit_ids:
        await AuditRepository(session).record(
            "wait.access_refused", actor.id, detail={"wait_id": str(raw_wait_id)[:20]}
        )
        raise NotPermitted("wait_refused")
    return wait


async def close_wait(
    session: AsyncSession,
    actor: StaffProfile,
    wait: HospitalWait,
    arrived: bool,
    stay_code: str | None,
    now: datetime,
) -> Stay | None:
    """Close a wait: the person arrived (linked to their stay) or it ended some other way."""
    if not may_handle_waits(actor) or wait.expected_unit_id not in actor.unit_ids:
        raise NotPermitted("wait_not_allowed")
    if wait.status != WaitStatus.WAITING:
        raise InvalidInput("wait_already_closed", {"code": wait.case_code})
    waits = WaitRepository(session)
    if not arrived:
        await waits.close(wait, WaitStatus.OTHER, now)
        await _audit_wait(session, actor, "wait.close", wait)
        return None
    code = normalize_case_code(stay_code or wait.case_code)
    assert wait.expected_unit_id is not None
    stay = await StayRepository(session).by_case_code(code, [wait.expected_unit_id])
    if stay is None:
        raise InvalidInput("wait_stay_not_found", {"code": code})
    await waits.close(wait, WaitStatus.ARRIVED, arrival_instant(stay, now), stay.id)
    await _audit_wait(session, actor, "wait.close", wait)
    return stay


async def _audit_wait(
    session: AsyncSession, actor: StaffProfile, action: str, wait: HospitalWait
) -> None:
    await AuditRepository(session).record(
        action,
        actor.id,
        stay_id=wait.stay_id,
        unit_id=wait.expected_unit_id,
        detail={"case_code": wait.case_code, "wait_id": wait.id, "status": wait.status},
    )


# --- shared checks ---


def _require_decider(actor: StaffProfile, stay: Stay) -> None:
    if not may_decide(actor, stay):
        raise NotPermitted("stay_decision_not_allowed")


def _require_active(stay: Stay) -> None:
    if stay.status != StayStatus.ACTIVE:
        raise InvalidInput("stay_closed", {"code": stay.case_code})


# --- issue 17: history ---


async def meetings_held(session: AsyncSession, stay_id: int) -> list[date]:
    """The days the stay's follow-up meetings were held, first first."""
    return await MeetingRepository(session).held_days(stay_id)
