"""A region's worth of data for the tick and indicator benchmarks, deterministic with a seed.

300 units, five staff per unit, and stays in two kinds: *active* ones (arrived in the last weeks,
at every point of their life: before the meeting, decided, home-going planned with a checklist)
and *closed* ones spread over five years of history. Rows are built with the product's own
models and rules (``followup_deadline``, ``checklist_for``) and bulk-inserted through the models'
tables; ids are assigned here so related rows need no read-back. Growing in stages keeps every
earlier row, so a series (10k, 100k, 1M stays) costs only the new rows.

What is simplified, on purpose: closed stays keep only the "SIP called" checklist item (the one
an indicator reads) instead of the whole checklist, and one closed stay in ten has a delivered
nudge in the outbox. Every query the benchmark times goes through an index on these tables, so
their size beyond that does not change the figures; it would only make the load slower.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Any

from sqlalchemy import Table, func, select, text
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.domain.calendar import followup_deadline
from storage.domain.clock import STOCKHOLM
from storage.domain.readiness import checklist_for
from storage.models import (
    CloseReason,
    DecisionEvent,
    DecisionKind,
    HospitalWait,
    OutboxMessage,
    OutboxStatus,
    ReadinessEvent,
    ReadinessItem,
    ReadinessKind,
    ReadinessStatus,
    Role,
    Staff,
    StaffRole,
    StaffUnit,
    Stay,
    StayStatus,
    Unit,
    WaitStatus,
)

# The benchmark's "today": a Monday, like the test suite's clock. Ticks run at 07:05 local.
TODAY = date(2026, 11, 23)
NOW = datetime.combine(TODAY, time(7, 5), tzinfo=STOCKHOLM).astimezone(UTC)
HISTORY_DAYS = 5 * 365
UNIT_ROLES = (
    Role.HANDLAGGARE,
    Role.SJUKSKOTERSKA,
    Role.REHAB,
    Role.KOORDINATOR,
    Role.ENHETSCHEF,
)
BATCH = 10_000
TIMES = (time(9, 0), time(9, 30), time(10, 0), time(11, 0), time(13, 0), time(14, 30))
PROVIDERS = ("Hemtjänst Centrum", "Omsorg Norr", "Kommunens hemtjänst")


@cache
def deadline(arrival: date) -> date:
    return followup_deadline(arrival)


def local(day: date, moment: time) -> datetime:
    return datetime.combine(day, moment, tzinfo=STOCKHOLM).astimezone(UTC)


@dataclass
class Region:
    """The units and who works there; ``next_*`` are the ids the next rows get."""

    unit_ids: list[int]
    staff: dict[tuple[int, str], int]  # (unit id, role) -> staff id
    next_stay: int = 1
    next_item: int = 1
    next_wait: int = 1
    next_outbox: int = 1
    active: int = 0
    closed: int = 0
    counts: dict[str, int] = field(default_factory=dict)


@dataclass
class Rows:
    stays: list[dict[str, Any]] = field(default_factory=list)
    items: list[dict[str, Any]] = field(default_factory=list)
    waits: list[dict[str, Any]] = field(default_factory=list)
    outbox: list[dict[str, Any]] = field(default_factory=list)


async def create_region(session: AsyncSession, units: int) -> Region:
    """``units`` units with a handläggare, nurse, rehab, coordinator and manager each."""
    stamp = local(TODAY - timedelta(days=HISTORY_DAYS + 30), time(8, 0))
    unit_rows: list[dict[str, Any]] = [
        {"id": n, "code": f"E{n:03d}", "name": f"Korttidsenhet {n}", "created_at": stamp}
        for n in range(1, units + 1)
    ]
    staff_rows: list[dict[str, Any]] = []
    role_rows: list[dict[str, Any]] = []
    member_rows: list[dict[str, Any]] = []
    staff: dict[tuple[int, str], int] = {}
    for unit in unit_rows:
        for role in UNIT_ROLES:
            staff_id = len(staff_rows) + 1
            staff[(unit["id"], role.value)] = staff_id
            staff_rows.append(
                {
                    "id": staff_id,
                    "email": f"{role.value}.{unit['code'].lower()}@bench.korttid.se",
                    "name": f"{role.value.title()} {unit['code']}",
                    "active": True,
                    "created_at": stamp,
                    "updated_at": stamp,
                }
            )
            role_rows.append({"staff_id": staff_id, "role": role.value})
            member_rows.append({"staff_id": staff_id, "unit_id": unit["id"]})
    await bulk_insert(session, Unit, unit_rows)
    await bulk_insert(session, Staff, staff_rows)
    await bulk_insert(session, StaffRole, role_rows)
    await bulk_insert(session, StaffUnit, member_rows)
    await fix_sequences(session, (Unit, Staff))
    return Region([u["id"] for u in unit_rows], staff)


async def grow(
    session: AsyncSession, region: Region, *, active: int, closed: int, seed: int
) -> None:
    """Add stays until the region has ``active`` active and ``closed`` closed ones."""
    rng = random.Random(f"{seed}:{region.active}:{region.closed}")
    await _continue_ids(session, region)
    new_active = max(0, active - region.active)
    new_closed = max(0, closed - region.closed)
    for start in range(0, new_active, BATCH):
        rows = Rows()
        for _ in range(min(BATCH, new_active - start)):
            _active_stay(rng, region, rows)
        await _insert_rows(session, rows)
    for start in range(0, new_closed, BATCH):
        rows = Rows()
        for _ in range(min(BATCH, new_closed - start)):
            _closed_stay(rng, region, rows)
        await _insert_rows(session, rows)
    region.active += new_active
    region.closed += new_closed
    await fix_sequences(session, (Stay, ReadinessItem, HospitalWait, OutboxMessage))


async def _continue_ids(session: AsyncSession, region: Region) -> None:
    """The product adds rows too (a tick queues nudges): new ids start after the highest."""
    for attribute, model in (
        ("next_stay", Stay),
        ("next_item", ReadinessItem),
        ("next_wait", HospitalWait),
        ("next_outbox", OutboxMessage),
    ):
        highest = (
            await (await session.connection()).execute(select(func.max(model.id)))
        ).scalar() or 0
        setattr(region, attribute, max(getattr(region, attribute), highest + 1))


async def analyze(session: AsyncSession) -> None:
    """Fresh planner statistics, as autovacuum (PostgreSQL) or ``ANALYZE`` (SQLite) keep them."""
    await (await session.connection()).execute(text("ANALYZE"))


async def fix_sequences(session: AsyncSession, models: Iterable[Any]) -> None:
    """Ids were assigned here: move PostgreSQL's sequences past them (SQLite needs nothing)."""
    bind = session.bind
    if bind is None or bind.dialect.name != "postgresql":
        return
    for model in models:
        table = model.__tablename__
        highest = (await (await session.connection()).execute(select(func.max(model.id)))).scalar()
        if highest:
            await (await session.connection()).execute(
                text("SELECT setval(pg_get_serial_sequence(:table, 'id'), :value)"),
                {"table": table, "value": highest},
            )


async def _insert_rows(session: AsyncSession, rows: Rows) -> None:
    await bulk_insert(session, Stay, rows.stays)
    await bulk_insert(session, DecisionEvent, [_event(s) for s in rows.stays if s["decided_at"]])
    await bulk_insert(session, ReadinessItem, rows.items)
    await bulk_insert(session, ReadinessEvent, [_sip_called(i) for i in rows.items if _is_sip(i)])
    await bulk_insert(session, HospitalWait, rows.waits)
    await bulk_insert(session, OutboxMessage, rows.outbox)


async def bulk_insert(session: AsyncSession, model: Any, rows: Sequence[dict[str, Any]]) -> None:
    """Bulk insert: values go through the columns' own SQLAlchemy types (so they are stored
    exactly as the product stores them), then straight to the driver: ``COPY`` on PostgreSQL,
    ``executemany`` on SQLite. Ten times faster than an ORM insert of a million rows."""
    if not rows:
        return
    table: Table = model.__table__
    connection = await session.connection()
    dialect = connection.dialect
    columns = [column for column in table.columns if column.name in rows[0]]
    converters = [_memoized(column.type._cached_bind_processor(dialect)) for column in columns]
    names = [column.name for column in columns]
    records = [
        tuple(convert(row[name]) for name, convert in zip(names, converters, strict=True))
        for row in rows
    ]
    raw: Any = (await connection.get_raw_connection()).driver_connection
    if dialect.name == "postgresql":
        await raw.copy_records_to_table(table.name, records=records, columns=names)
        return
    quoted = ", ".join(f'"{name}"' for name in names)
    marks = ", ".join("?" for _ in names)
    await raw.executemany(f'INSERT INTO "{table.name}" ({quoted}) VALUES ({marks})', records)


def _memoized(process: Callable[[Any], Any] | None) -> Callable[[Any], Any]:
    """A column's bind processor, remembering results: dates and times repeat a lot."""
    if process is None:
        return lambda value: value
    seen: dict[Any, Any] = {}

    def convert(value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, dict | list):
            return process(value)
        found = seen.get(value, seen)
        if found is seen:
            found = seen[value] = process(value)
        return found

    return convert


# --- one stay ------------------------------------------------------------------------------


def _base_stay(region: Region, rng: random.Random, unit_id: int, arrival: date) -> dict[str, Any]:
    stay_id = region.next_stay
    region.next_stay += 1
    created = local(arrival, time(8, 0))
    return {
        "id": stay_id,
        "unit_id": unit_id,
        "case_code": f"K-{stay_id:07d}",
        "room": str(rng.randint(1, 30)),
        "arrival_date": arrival,
        "decision_end_date": arrival + timedelta(days=21),
        "goal": "Återhämtning inför hemgång",
        "acute": rng.random() < 0.1,
        "phone_handover_done": None,
        "handlaggare_id": region.staff[(unit_id, Role.HANDLAGGARE.value)],
        "nurse_id": region.staff[(unit_id, Role.SJUKSKOTERSKA.value)],
        "status": StayStatus.ACTIVE.value,
        "followup_deadline": deadline(arrival),
        "followup_held_on": None,
        "decision_kind": None,
        "decided_at": None,
        "decision_note": None,
        "extension_reason": None,
        "waiting_care_home": False,
        "coordination_needed": None,
        "sip_wanted": None,
        "home_going_date": None,
        "home_going_time": None,
        "transport": None,
        "home_help_meets": None,
        "provider_name": None,
        "provider_contact": None,
        "close_reason": None,
        "departure_date": None,
        "created_at": created,
        "updated_at": created,
    }


def _active_arrival(rng: random.Random) -> date:
    """Most active stays arrived in the last three weeks; a few wait longer for a care home."""
    roll = rng.random()
    if roll < 0.80:
        days = rng.randint(0, 20)
    elif roll < 0.95:
        days = rng.randint(21, 40)
    else:
        days = rng.randint(41, 90)
    return TODAY - timedelta(days=days)


def _active_stay(rng: random.Random, region: Region, rows: Rows) -> None:
    unit_id = rng.choice(region.unit_ids)
    arrival = _active_arrival(rng)
    stay = _base_stay(region, rng, unit_id, arrival)
    due = stay["followup_deadline"]
    if due < TODAY:
        held = rng.random() < 0.93
    else:
        held = (TODAY - arrival).days >= 3 and rng.random() < 0.3
    if held:
        latest = min(due, TODAY - timedelta(days=1))
        held_on = max(arrival + timedelta(days=1), latest - timedelta(days=rng.randint(0, 2)))
        stay["followup_held_on"] = held_on
        _decide(rng, stay, held_on, departure=None)
    rows.stays.append(stay)
    if stay["decision_kind"] == DecisionKind.HOME_GOING.value:
        _checklist(rng, region, rows, stay)
    _maybe_wait(rng, region, rows, stay)


def _decide(
    rng: random.Random, stay: dict[str, Any], held_on: date, departure: date | None
) -> None:
    roll = rng.random()
    kind: str | None
    if roll < 0.62:
        kind = DecisionKind.HOME_GOING.value
    elif roll < 0.80:
        kind = DecisionKind.EXTENSION.value
    elif roll < 0.90:
        kind = DecisionKind.CARE_HOME_WAIT.value
    elif roll < 0.95:
        kind = DecisionKind.OTHER.value
    else:
        kind = None  # held, nothing decided yet
    if kind is None:
        return
    stay["decision_kind"] = kind
    stay["decided_at"] = local(held_on, time(10, 30))
    stay["sip_wanted"] = rng.random() < 0.15
    if kind == DecisionKind.HOME_GOING.value:
        stay["home_going_date"] = departure or TODAY + timedelta(days=rng.randint(0, 10))
        stay["home_going_time"] = rng.choice(TIMES)
        stay["transport"] = rng.choice(("fardtjanst", "anhorig", "taxi"))
        stay["home_help_meets"] = rng.random() < 0.7
        stay["provider_name"] = rng.choice(PROVIDERS)
        stay["provider_contact"] = "010-123 45 67"
    elif kind == DecisionKind.EXTENSION.value:
        stay["decision_end_date"] = stay["arrival_date"] + timedelta(days=28)
        stay["extension_reason"] = "Fortsatt rehabilitering"
    elif kind == DecisionKind.CARE_HOME_WAIT.value:
        stay["waiting_care_home"] = True


def _checklist(rng: random.Random, region: Region, rows: Rows, stay: dict[str, Any]) -> None:
    for kind, role in checklist_for(bool(stay["sip_wanted"])):
        roll = rng.random()
        status = (
            ReadinessStatus.READY
            if roll < 0.6
            else ReadinessStatus.NOT_READY
            if roll < 0.9
            else ReadinessStatus.NOT_APPLICABLE
        )
        rows.items.append(_item(region, stay, kind, role, status.value, stay["decided_at"]))


def _item(
    region: Region, stay: dict[str, Any], kind: str, role: str, status: str, at: datetime
) -> dict[str, Any]:
    item_id = region.next_item
    region.next_item += 1
    return {
        "id": item_id,
        "stay_id": stay["id"],
        "kind": kind,
        "status": status,
        "responsible_role": role,
        "updated_by_id": None,
        "updated_at": at,
    }


def _is_sip(item: dict[str, Any]) -> bool:
    return bool(
        item["kind"] == ReadinessKind.SIP_CALLED and item["status"] == ReadinessStatus.READY
    )


def _sip_called(item: dict[str, Any]) -> dict[str, Any]:
    """The history the "SIP called" figure reads (issue 17): marked ready when last changed."""
    return {
        "stay_id": item["stay_id"],
        "kind": item["kind"],
        "status": item["status"],
        "at": item["updated_at"],
        "author_id": None,
    }


def _maybe_wait(rng: random.Random, region: Region, rows: Rows, stay: dict[str, Any]) -> None:
    """One stay in five came from hospital after a notice "ready for discharge"."""
    if rng.random() >= 0.2:
        return
    wait_id = region.next_wait
    region.next_wait += 1
    notified = local(stay["arrival_date"] - timedelta(days=rng.randint(1, 8)), time(10, 0))
    rows.waits.append(
        {
            "id": wait_id,
            "case_code": stay["case_code"],
            "expected_unit_id": stay["unit_id"],
            "notified_at": notified,
            "status": WaitStatus.ARRIVED.value,
            "closed_at": local(stay["arrival_date"], time(12, 0)),
            "stay_id": stay["id"],
            "created_by_id": None,
            "created_at": notified,
        }
    )


def _event(stay: dict[str, Any]) -> dict[str, Any]:
    """The decision event the product appends with the stay's decision (migration 0012)."""
    kind = stay["decision_kind"]
    return {
        "stay_id": stay["id"],
        "unit_id": stay["unit_id"],
        "kind": "home_going_set" if kind == DecisionKind.HOME_GOING.value else kind,
        "decided_at": stay["decided_at"],
        "author_id": None,
        "home_going_date": stay["home_going_date"],
        "new_end_date": stay["decision_end_date"] if kind == DecisionKind.EXTENSION.value else None,
    }


def _closed_stay(rng: random.Random, region: Region, rows: Rows) -> None:
    unit_id = rng.choice(region.unit_ids)
    arrival = TODAY - timedelta(days=rng.randint(15, HISTORY_DAYS))
    length = min(_length(rng), (TODAY - arrival).days - 1)
    departure = arrival + timedelta(days=length)
    stay = _base_stay(region, rng, unit_id, arrival)
    due = stay["followup_deadline"]
    if departure >= due:
        roll = rng.random()
        if roll < 0.88:
            held_on = max(arrival + timedelta(days=1), due - timedelta(days=rng.randint(0, 2)))
        elif roll < 0.96:
            held_on = min(departure, due + timedelta(days=rng.randint(1, 5)))
        else:
            held_on = None
    else:
        held_on = departure if rng.random() < 0.5 else None
    stay["followup_held_on"] = held_on
    if held_on is not None:
        _decide(rng, stay, held_on, departure)
    stay["status"] = StayStatus.CLOSED.value
    stay["departure_date"] = departure
    stay["close_reason"] = _close_reason(rng, stay["decision_kind"])
    stay["updated_at"] = local(departure, time(11, 0))
    rows.stays.append(stay)
    if stay["sip_wanted"]:
        sip_at = local(departure - timedelta(days=2), time(9, 0))
        rows.items.append(
            _item(
                region,
                stay,
                ReadinessKind.SIP_CALLED.value,
                Role.HANDLAGGARE.value,
                ReadinessStatus.READY.value,
                sip_at,
            )
        )
    _maybe_wait(rng, region, rows, stay)
    _history_outbox(rng, region, rows, stay)


def _length(rng: random.Random) -> int:
    """Days in a bed: mostly one to three weeks, averaging about 14."""
    roll = rng.random()
    if roll < 0.15:
        return rng.randint(2, 6)
    if roll < 0.85:
        return rng.randint(7, 20)
    return rng.randint(21, 45)


def _close_reason(rng: random.Random, decision: str | None) -> str:
    roll = rng.random()
    if roll < 0.08:
        return CloseReason.HOSPITAL.value
    if roll < 0.11:
        return CloseReason.DIED.value
    if decision == DecisionKind.CARE_HOME_WAIT.value:
        return CloseReason.CARE_HOME.value
    if decision in (DecisionKind.HOME_GOING.value, DecisionKind.EXTENSION.value):
        return CloseReason.WENT_HOME.value
    return CloseReason.OTHER.value


def _history_outbox(rng: random.Random, region: Region, rows: Rows, stay: dict[str, Any]) -> None:
    """One closed stay in ten got a follow-up nudge; a few of those could not be delivered."""
    if rng.random() >= 0.1:
        return
    message_id = region.next_outbox
    region.next_outbox += 1
    due = local(stay["followup_deadline"], time(7, 0))
    undeliverable = rng.random() < 0.05
    rows.outbox.append(
        {
            "id": message_id,
            "key": f"history:{stay['id']}:nudge_followup_due",
            "kind": "nudge_followup_due",
            "stay_id": stay["id"],
            "unit_id": stay["unit_id"],
            "recipient_staff_id": stay["handlaggare_id"],
            "conversation_ref_id": None,
            "template": "nudge_followup",
            "payload": {"stay_id": stay["id"], "case_code": stay["case_code"]},
            "status": (OutboxStatus.UNDELIVERABLE if undeliverable else OutboxStatus.SENT).value,
            "due_at": due,
            "next_attempt_at": due,
            "lease_until": None,
            "attempts": 1,
            "last_error": "HTTP 403: conversation gone" if undeliverable else None,
            "sent_activity_id": None if undeliverable else f"history-{message_id}",
            "created_at": due,
            "sent_at": None if undeliverable else due,
        }
    )
