"""The nudge table (DOMAIN.md, "Nudges and their timing") as pure functions: facts + now -> nudges.

Level-triggered: every tick recomputes what is due *now* from the facts. A nudge is identified by
(stay, kind, due day, recipient); the outbox's unique key turns "due now" into "sent once".
A rule keeps a nudge due from its due instant until it is superseded (the next stage of the same
fact begins) or moot (the fact changed, the day passed), so a missed tick or a restart is caught
up and a nudge whose fact changed is no longer due, which is how the tick knows to withdraw it.

Due instants are 07:00 Europe/Stockholm on a working day; nothing here reads a clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Any

from notifications import formatting, timing
from notifications.formatting import format_time
from notifications.outbox import outbox_key
from notifications.timing import MORNING, local_date, next_sending_start
from storage.domain import calendar
from storage.domain.calendar import stay_day_number
from storage.domain.clock import STOCKHOLM
from storage.models import ReadinessKind, ReadinessStatus, Role
from storage.repos.facts import ItemFact, StayFacts

# Pure functions of a date, asked about the same few hundred dates for every stay of a tick
# (tens of thousands in a region): remembered instead of recomputed.
_DATES = 4096
add_working_days = lru_cache(maxsize=_DATES)(calendar.add_working_days)
is_working_day = lru_cache(maxsize=_DATES)(calendar.is_working_day)
last_working_day_on_or_before = lru_cache(maxsize=_DATES)(calendar.last_working_day_on_or_before)
next_working_day_on_or_after = lru_cache(maxsize=_DATES)(calendar.next_working_day_on_or_after)
morning_of = lru_cache(maxsize=_DATES)(timing.morning_of)
start_of = lru_cache(maxsize=_DATES)(timing.start_of)
at_local = lru_cache(maxsize=_DATES)(timing.at_local)
format_date = lru_cache(maxsize=_DATES)(formatting.format_date)

# A terminal reminder (overdue, long stay) missed entirely, e.g. the service was down, is still
# sent during this many working days after its day; later it would only be noise.
CATCH_UP_WORKING_DAYS = 3
LONG_STAY_DAY = 14
AFTERNOON_FROM = time(12, 0)  # "home-going planned after 12:00"
AFTERNOON_LOOKAHEAD_DAYS = 30  # planned further ahead: told when it comes within this window
DECISION_END_WORKING_DAYS = 3  # the handläggare is told this many working days before
DECISION_END_SLACK_DAYS = 6  # the longest run of non-working days (Christmas, weekend)
# An acute placement's phone handover not recorded: the nurse is told on the arrival day and
# every working day after it, this many, until it is recorded (seed 000).
HANDOVER_WORKING_DAYS = 3
# Home-going on a non-working day: its morning is not a sending time, so the manager is told
# in the last working afternoon before it, while something can still be done.
ESCALATION_FALLBACK_TIME = time(14, 0)
# Every due instant a rule compares ``now`` with is one of these local times (a stage's
# ``due_at``, or the end of its chain), and ``now`` is otherwise read only as the local date:
# between two of them the same facts give the same nudges (a nudge's ``due_at`` aside, which
# matters only when it is queued). The tick relies on it; tests/test_rules.py checks it.
RULE_INSTANTS: tuple[time, ...] = (time(0, 0), MORNING, ESCALATION_FALLBACK_TIME)


class NudgeKind(StrEnum):
    FOLLOWUP_DUE = "nudge_followup_due"
    FOLLOWUP_TODAY = "nudge_followup_today"
    FOLLOWUP_OVERDUE = "nudge_followup_overdue"
    READINESS = "nudge_readiness"
    READINESS_ESCALATION = "nudge_readiness_escalation"
    LONG_STAY = "nudge_long_stay"
    AFTERNOON_HOME_GOING = "nudge_afternoon_home_going"
    CALL_SIP = "nudge_call_sip"
    HOME_GOING_REMINDER = "nudge_home_going_reminder"
    DECISION_END_SOON = "nudge_decision_end_soon"
    DECISION_END_TODAY = "nudge_decision_end_today"
    DECISION_ENDED = "nudge_decision_ended"
    ACUTE_HANDOVER = "nudge_acute_handover"


RULE_KINDS: frozenset[str] = frozenset(kind.value for kind in NudgeKind)
# The roles the rules address; the tick loads who holds them per unit.
ADDRESSED_ROLES: frozenset[str] = frozenset(
    {Role.HANDLAGGARE, Role.SJUKSKOTERSKA, Role.REHAB, Role.ENHETSCHEF, Role.KOORDINATOR}
)


@dataclass(frozen=True, slots=True)
class Nudge:
    kind: str
    stay_id: int
    unit_id: int
    recipient_staff_id: int
    due_on: date | None  # the day it belongs to; None: once per stay
    due_at: datetime
    template: str
    payload: dict[str, Any]
    # The outbox key, derived once: a tick looks it up several times for every nudge.
    key: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        key = nudge_key(self.stay_id, self.kind, self.due_on, self.recipient_staff_id)
        object.__setattr__(self, "key", key)


def nudge_key(stay_id: int, kind: str, due_on: date | None, recipient_staff_id: int) -> str:
    """The outbox key of a rule's nudge: once per (stay, kind, day or "once", recipient)."""
    day = due_on.isoformat() if due_on else "once"
    return outbox_key("nudge", stay_id, kind, day, recipient_staff_id)


@dataclass(frozen=True, slots=True)
class Facts:
    stays: Sequence[StayFacts]
    # (unit id, role) -> active staff ids
    staff: Mapping[tuple[int, str], tuple[int, ...]] = field(default_factory=dict)

    def people(self, stay: StayFacts, role: str) -> tuple[int, ...]:
        """Who answers for ``role`` on this stay: the named handläggare / nurse, else the unit's."""
        if role == Role.HANDLAGGARE and stay.handlaggare_id is not None:
            return (stay.handlaggare_id,)
        if role == Role.SJUKSKOTERSKA and stay.nurse_id is not None:
            return (stay.nurse_id,)
        return self.staff.get((stay.unit_id, role), ())


@dataclass(frozen=True, slots=True)
class FactWindows:
    """The date windows the tick queries; each is a superset of what the rules can use."""

    deadline_from: date
    deadline_to: date
    long_stay_arrival_from: date
    long_stay_arrival_to: date
    # The same stays through the indexed deadline (arrival + 7, moved back over holidays).
    long_stay_deadline_from: date
    long_stay_deadline_to: date
    home_going_from: date
    home_going_to: date
    afternoon_to: date
    decision_end_from: date
    decision_end_to: date
    handover_arrival_from: date
    handover_arrival_to: date


def fact_windows(now: datetime) -> FactWindows:
    today = local_date(now)
    # The earliest arrival whose day 14 can still be within catch-up, with room for holidays.
    arrival_from = add_working_days(today, -(CATCH_UP_WORKING_DAYS + 1)) - timedelta(
        days=LONG_STAY_DAY - 1 + 7
    )
    arrival_to = today - timedelta(days=LONG_STAY_DAY - 1)
    return FactWindows(
        deadline_from=add_working_days(today, -(CATCH_UP_WORKING_DAYS + 2)),
        deadline_to=add_working_days(today, 3),
        long_stay_arrival_from=arrival_from,
        long_stay_arrival_to=arrival_to,
        long_stay_deadline_from=arrival_from,
        long_stay_deadline_to=arrival_to + timedelta(days=7),
        home_going_from=today,
        home_going_to=add_working_days(today, 4),
        afternoon_to=today + timedelta(days=AFTERNOON_LOOKAHEAD_DAYS),
        # The end date's first working day after it, caught up, back to 3 working days
        # before it; the days added cover an end date on a weekend or holiday.
        decision_end_from=add_working_days(today, -(CATCH_UP_WORKING_DAYS + 1))
        - timedelta(days=DECISION_END_SLACK_DAYS),
        decision_end_to=add_working_days(today, DECISION_END_WORKING_DAYS)
        + timedelta(days=DECISION_END_SLACK_DAYS),
        handover_arrival_from=add_working_days(today, -HANDOVER_WORKING_DAYS)
        - timedelta(days=DECISION_END_SLACK_DAYS),
        handover_arrival_to=today,
    )


def rule_epoch(now: datetime) -> str:
    """The stretch of local time between two rule instants ``now`` is in: "2026-11-23T07:00"."""
    local = now.astimezone(STOCKHOLM)
    begun = max(moment for moment in RULE_INSTANTS if moment <= local.time())
    return f"{local.date().isoformat()}T{begun.isoformat('minutes')}"


@dataclass(frozen=True, slots=True)
class _Stage:
    kind: str
    day: date
    due_at: datetime
    name: str


def _current_stage(stages: Sequence[_Stage], now: datetime, until: datetime) -> _Stage | None:
    """The latest stage that has begun, while the chain is still relevant."""
    begun = [stage for stage in stages if stage.due_at <= now]
    if not begun or now >= until:
        return None
    return max(begun, key=lambda stage: stage.due_at)


def _stay_payload(stay: StayFacts) -> dict[str, Any]:
    return {"stay_id": stay.id, "case_code": stay.case_code, "room": stay.room}


def _manager_payload(stay: StayFacts) -> dict[str, Any]:
    """What an escalation to the unit's own enhetschef shows: the unit, the case code and room
    (pseudonymous; the manager needs to know which stay, e.g. of two home-goings the same
    morning) and the responsible handläggare. No button: the enhetschef cannot open a stay, and
    digests and reports stay aggregate (issue 17, item 14)."""
    return {
        "audience": "manager",
        "unit_name": stay.unit_name,
        "case_code": stay.case_code,
        "room": stay.room,
        "handlaggare_name": stay.handlaggare_name,
    }


def _reminder_of(kinds: Iterable[NudgeKind], owners: Sequence[int]) -> dict[str, Any]:
    """An escalation tells what happened to the handläggare's reminders of these kinds: the
    dispatcher fills it in from the outbox when the card goes (see ``notifications.fate``)."""
    return {"reminder_of": {"kinds": [kind.value for kind in kinds], "to": list(owners)}}


def _unique(ids: Iterable[int]) -> list[int]:
    return list(dict.fromkeys(ids))


def _nudge(
    stay: StayFacts,
    stage: _Stage,
    recipient: int,
    template: str,
    payload: dict[str, Any],
    *,
    once: bool = False,
) -> Nudge:
    return Nudge(
        kind=stage.kind,
        stay_id=stay.id,
        unit_id=stay.unit_id,
        recipient_staff_id=recipient,
        due_on=None if once else stage.day,
        due_at=stage.due_at,
        template=template,
        payload=payload,
    )


# --- rows 1-3: the day-7 follow-up meeting ---------------------------------------------------
def followup_nudges(stay: StayFacts, facts: Facts, now: datetime) -> list[Nudge]:
    """2 working days before, on the day, and (escalated) the first working day after."""
    if stay.followup_held_on is not None:
        return []
    deadline = last_working_day_on_or_before(stay.followup_deadline)
    overdue_day = add_working_days(deadline, 1)
    soon_day = add_working_days(deadline, -2)
    stages = (
        _Stage(NudgeKind.FOLLOWUP_DUE, soon_day, morning_of(soon_day), "due"),
        _Stage(NudgeKind.FOLLOWUP_TODAY, deadline, morning_of(deadline), "today"),
        _Stage(NudgeKind.FOLLOWUP_OVERDUE, overdue_day, morning_of(overdue_day), "overdue"),
    )
    until = morning_of(add_working_days(overdue_day, CATCH_UP_WORKING_DAYS))
    stage = _current_stage(stages, now, until)
    if stage is None:
        return []
    timing = {
        "stage": stage.name,
        "deadline": deadline.isoformat(),
        "deadline_text": format_date(deadline),
    }
    base = (
        _stay_payload(stay)
        | timing
        | {"arrival_text": format_date(stay.arrival_date)}
        | _booking(stay, deadline)
    )
    owners = _unique(facts.people(stay, Role.HANDLAGGARE))
    nudges = [
        _nudge(stay, stage, person, "nudge_followup", base | {"audience": "owner"})
        for person in owners
    ]
    if stage.name == "overdue":
        chain = (NudgeKind.FOLLOWUP_DUE, NudgeKind.FOLLOWUP_TODAY, NudgeKind.FOLLOWUP_OVERDUE)
        manager = _manager_payload(stay) | timing | _reminder_of(chain, owners)
        nudges += [
            _nudge(stay, stage, person, "nudge_followup", manager)
            for person in _unique(facts.people(stay, Role.ENHETSCHEF))
            if person not in owners
        ]
    return nudges


def _booking(stay: StayFacts, deadline: date) -> dict[str, Any]:
    """A meeting called on or before the deadline replaces "call in time" (issue 15); one
    called after it is no booking the deadline can count on, so the nudge stays as it was."""
    if stay.booked_date is None or stay.booked_time is None or stay.booked_date > deadline:
        return {"booked_date_text": None, "booked_time": None}
    return {
        "booked_date_text": format_date(stay.booked_date),
        "booked_time": format_time(stay.booked_time),
    }


# --- rows 5-6: discharge readiness before home-going ----------------------------------------
def _open_items(stay: StayFacts) -> list[ItemFact]:
    return [item for item in stay.items if item.status == ReadinessStatus.NOT_READY]


def _home_going_text(stay: StayFacts) -> dict[str, Any]:
    assert stay.home_going_date is not None
    return {
        "home_going_date": stay.home_going_date.isoformat(),
        "home_going_date_text": format_date(stay.home_going_date),
        "home_going_time": format_time(stay.home_going_time) if stay.home_going_time else None,
    }


def _item_payload(item: ItemFact, own: bool) -> dict[str, Any]:
    return {"kind": item.kind, "role": item.responsible_role, "own": own}


def readiness_nudges(stay: StayFacts, facts: Facts, now: datetime) -> list[Nudge]:
    """2 and 1 working days before home-going to the responsible role (and on the last day the
    handläggare); the morning of home-going an escalation to the enhetschef."""
    home_going = stay.home_going_date
    missing = _open_items(stay)
    if home_going is None or not missing:
        return []
    two_days = add_working_days(home_going, -2)
    last_day = add_working_days(home_going, -1)
    escalation_at = (
        morning_of(home_going)
        if is_working_day(home_going)
        else at_local(last_day, ESCALATION_FALLBACK_TIME)
    )
    stages = (
        _Stage(NudgeKind.READINESS, two_days, morning_of(two_days), "two_days"),
        _Stage(NudgeKind.READINESS, last_day, morning_of(last_day), "last_day"),
        _Stage(NudgeKind.READINESS_ESCALATION, home_going, escalation_at, "escalation"),
    )
    stage = _current_stage(stages, now, until=start_of(home_going + timedelta(days=1)))
    if stage is None:
        return []
    if stage.name == "escalation":
        items = [_item_payload(item, own=False) for item in missing]
        manager = _manager_payload(stay) | _home_going_text(stay) | {"items": items}
        return [
            _nudge(stay, stage, person, "nudge_readiness_escalation", manager)
            for person in _unique(facts.people(stay, Role.ENHETSCHEF))
        ]
    base = _stay_payload(stay) | _home_going_text(stay) | {"stage": stage.name}
    return [
        _nudge(stay, stage, person, "nudge_readiness", base | {"items": items})
        for person, items in _readiness_cards(stay, facts, missing, stage.name).items()
    ]


def _readiness_cards(
    stay: StayFacts, facts: Facts, missing: Sequence[ItemFact], stage: str
) -> dict[int, list[dict[str, Any]]]:
    """recipient -> the items on their card, in checklist order; one card per person."""
    own: dict[int, set[str]] = {}
    for item in missing:
        for person in facts.people(stay, item.responsible_role):
            own.setdefault(person, set()).add(item.kind)
    overseers = facts.people(stay, Role.HANDLAGGARE) if stage == "last_day" else ()
    cards: dict[int, list[dict[str, Any]]] = {}
    for person in _unique([*own, *overseers]):
        mine = own.get(person, set())
        shown = missing if person in overseers else [i for i in missing if i.kind in mine]
        cards[person] = [_item_payload(item, own=item.kind in mine) for item in shown]
    return cards


# --- row 7: long stay ------------------------------------------------------------------------
def long_stay_nudges(stay: StayFacts, facts: Facts, now: datetime) -> list[Nudge]:
    """Day 14 reached without a decision: handläggare and enhetschef."""
    if stay.decision_kind is not None:
        return []
    day = next_working_day_on_or_after(stay.arrival_date + timedelta(days=LONG_STAY_DAY - 1))
    stage = _Stage(NudgeKind.LONG_STAY, day, morning_of(day), "long_stay")
    until = morning_of(add_working_days(day, CATCH_UP_WORKING_DAYS))
    if _current_stage((stage,), now, until) is None:
        return []
    day_number = stay_day_number(stay.arrival_date, local_date(now))
    payload = _stay_payload(stay) | {
        "day_number": day_number,
        "arrival_text": format_date(stay.arrival_date),
    }
    owners = _unique(facts.people(stay, Role.HANDLAGGARE))
    managers = [p for p in _unique(facts.people(stay, Role.ENHETSCHEF)) if p not in owners]
    manager_payload = (
        _manager_payload(stay)
        | {"day_number": day_number}
        | _reminder_of((NudgeKind.LONG_STAY,), owners)
    )
    return [_nudge(stay, stage, person, "nudge_long_stay", payload) for person in owners] + [
        _nudge(stay, stage, person, "nudge_long_stay", manager_payload) for person in managers
    ]


# --- row 8: afternoon home-going ---------------------------------------------------------------
def afternoon_nudges(stay: StayFacts, facts: Facts, now: datetime) -> list[Nudge]:
    """Home-going planned after 12:00: tell the handläggare once that morning is preferred."""
    home_going, at = stay.home_going_date, stay.home_going_time
    today = local_date(now)
    if home_going is None or at is None or at <= AFTERNOON_FROM:
        return []
    if not today <= home_going <= today + timedelta(days=AFTERNOON_LOOKAHEAD_DAYS):
        return []
    due_at = next_sending_start(now)
    stage = _Stage(NudgeKind.AFTERNOON_HOME_GOING, local_date(due_at), due_at, "afternoon")
    payload = _stay_payload(stay) | _home_going_text(stay)
    return [
        _nudge(stay, stage, person, "nudge_afternoon_home_going", payload, once=True)
        for person in _unique(facts.people(stay, Role.HANDLAGGARE))
    ]


# --- row 9: SIP ----------------------------------------------------------------------------------
def _sip_settled(stay: StayFacts) -> bool:
    return any(
        item.kind == ReadinessKind.SIP_CALLED and item.status != ReadinessStatus.NOT_READY
        for item in stay.items
    )


def sip_nudges(stay: StayFacts, facts: Facts, now: datetime) -> list[Nudge]:
    """SIP still wanted, 3 working days before home-going: the handläggare calls it, or the
    nurse when the remaining need is health care alone (seed 003)."""
    home_going = stay.home_going_date
    if home_going is None or stay.sip_wanted is not True or _sip_settled(stay):
        return []
    day = add_working_days(home_going, -3)
    stage = _Stage(NudgeKind.CALL_SIP, day, morning_of(day), "sip")
    if _current_stage((stage,), now, until=start_of(home_going + timedelta(days=1))) is None:
        return []
    payload = _stay_payload(stay) | _home_going_text(stay)
    caller = Role.SJUKSKOTERSKA if stay.health_care_only else Role.HANDLAGGARE
    return [
        _nudge(stay, stage, person, "nudge_call_sip", payload)
        for person in _unique(facts.people(stay, caller))
    ]


# --- row 4 (the reminder; set/changed/cancelled are queued by notices.py) ----------------------
def home_going_reminder_nudges(stay: StayFacts, facts: Facts, now: datetime) -> list[Nudge]:
    """The working day before home-going, the coordinator is reminded of the details."""
    home_going = stay.home_going_date
    if home_going is None:
        return []
    day = add_working_days(home_going, -1)
    stage = _Stage(NudgeKind.HOME_GOING_REMINDER, day, morning_of(day), "reminder")
    if _current_stage((stage,), now, until=start_of(home_going)) is None:
        return []
    payload = (
        _stay_payload(stay)
        | _home_going_text(stay)
        | {
            "tomorrow": home_going == day + timedelta(days=1),
            "transport": stay.transport,
            "home_help_meets": stay.home_help_meets,
            "provider_name": stay.provider_name,
            "provider_contact": stay.provider_contact,
        }
    )
    return [
        _nudge(stay, stage, person, "nudge_home_going_reminder", payload)
        for person in _unique(facts.people(stay, Role.KOORDINATOR))
    ]


# --- the SoL decision's end date (seed 000: "avslutar eller förlänger beslut") ------------------
def _home_going_before(stay: StayFacts, end: date) -> bool:
    return stay.home_going_date is not None and stay.home_going_date <= end


def decision_end_nudges(stay: StayFacts, facts: Facts, now: datetime) -> list[Nudge]:
    """3 working days before the decided end date and on it (the last working day on or before
    it), when no home-going is planned on or before it: the handläggare extends or closes. The
    first working day after it, still so: the handläggare and the enhetschef."""
    end = stay.decision_end_date
    if end is None or _home_going_before(stay, end):
        return []
    soon_day = add_working_days(end, -DECISION_END_WORKING_DAYS)
    last_day = last_working_day_on_or_before(end)
    after_day = next_working_day_on_or_after(end + timedelta(days=1))
    stages = (
        _Stage(NudgeKind.DECISION_END_SOON, soon_day, morning_of(soon_day), "soon"),
        _Stage(NudgeKind.DECISION_END_TODAY, last_day, morning_of(last_day), "today"),
        _Stage(NudgeKind.DECISION_ENDED, after_day, morning_of(after_day), "ended"),
    )
    until = morning_of(add_working_days(after_day, CATCH_UP_WORKING_DAYS))
    stage = _current_stage(stages, now, until)
    if stage is None:
        return []
    timing = {"stage": stage.name, "end_date": end.isoformat(), "end_text": format_date(end)}
    owners = _unique(facts.people(stay, Role.HANDLAGGARE))
    owner = _stay_payload(stay) | timing | {"audience": "owner"}
    nudges = [_nudge(stay, stage, person, "nudge_decision_end", owner) for person in owners]
    if stage.name == "ended":
        manager = _manager_payload(stay) | timing
        nudges += [
            _nudge(stay, stage, person, "nudge_decision_end", manager)
            for person in _unique(facts.people(stay, Role.ENHETSCHEF))
            if person not in owners
        ]
    return nudges


# --- acute placement: phone handover (seed 000: "överrapportering ske via telefon") ------------
def acute_handover_nudges(stay: StayFacts, facts: Facts, now: datetime) -> list[Nudge]:
    """An acute stay without a recorded phone handover: the nurse from the arrival day, once a
    day, until it is recorded (then the rule no longer applies and a queued nudge is withdrawn)."""
    if not stay.acute or stay.phone_handover_done:
        return []
    arrival = stay.arrival_date
    days = [arrival] + [add_working_days(arrival, n) for n in range(1, HANDOVER_WORKING_DAYS + 1)]
    stages = [_Stage(NudgeKind.ACUTE_HANDOVER, day, morning_of(day), "handover") for day in days]
    until = start_of(days[-1] + timedelta(days=1))
    stage = _current_stage(stages, now, until)
    if stage is None:
        return []
    payload = _stay_payload(stay) | {
        "arrival_text": format_date(arrival),
        "arrived_today": stage.day == arrival,
    }
    return [
        _nudge(stay, stage, person, "nudge_acute_handover", payload)
        for person in _unique(facts.people(stay, Role.SJUKSKOTERSKA))
    ]


RULES = (
    followup_nudges,
    readiness_nudges,
    long_stay_nudges,
    afternoon_nudges,
    sip_nudges,
    home_going_reminder_nudges,
    decision_end_nudges,
    acute_handover_nudges,
)


def due_nudges(facts: Facts, now: datetime) -> list[Nudge]:
    """Every nudge due at ``now``, one per key, ordered by key (a stable order for inserts)."""
    found: dict[str, Nudge] = {}
    for stay in facts.stays:
        for rule in RULES:
            for nudge in rule(stay, facts, now):
                found.setdefault(nudge.key, nudge)
    return [found[key] for key in sorted(found)]
