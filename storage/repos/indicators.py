"""The SQL behind the indicators: aggregates grouped by unit, never every stay into Python.

Each method answers one question for one date range, as counts or sums per unit id; what the
numbers mean (and how they combine into shares and means) is written once, in
``notifications/indicators.py``. ``unit_ids=None`` means every unit.

Date ranges are inclusive calendar dates; instants are aware UTC ``[start, end)`` bounds.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Integer, and_, case, exists, func, literal, or_
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import (
    DecisionKind,
    HospitalWait,
    OutboxMessage,
    OutboxStatus,
    ReadinessItem,
    ReadinessKind,
    ReadinessStatus,
    Stay,
    StayStatus,
)

DAY = timedelta(days=1)


class days_between(FunctionElement[int]):
    """Whole days from the first date to the second: ``later - earlier`` on every backend."""

    type = Integer()
    inherit_cache = True
    name = "days_between"


@compiles(days_between, "sqlite")
def _days_between_sqlite(element: days_between, compiler: SQLCompiler, **kw: Any) -> str:
    earlier, later = list(element.clauses)
    return (
        f"CAST(julianday({compiler.process(later, **kw)})"
        f" - julianday({compiler.process(earlier, **kw)}) AS INTEGER)"
    )


@compiles(days_between)
def _days_between_default(element: days_between, compiler: SQLCompiler, **kw: Any) -> str:
    earlier, later = list(element.clauses)
    return f"({compiler.process(later, **kw)} - {compiler.process(earlier, **kw)})"


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


@dataclass(frozen=True, slots=True)
class FollowUpCounts:
    due: int = 0
    on_time: int = 0


@dataclass(frozen=True, slots=True)
class EndedStays:
    count: int = 0
    total_days: int = 0
    back_to_hospital: int = 0


@dataclass(frozen=True, slots=True)
class OngoingStays:
    active: int = 0
    long_stays: int = 0
    waiting_care_home: int = 0

    def __add__(self, other: OngoingStays) -> OngoingStays:
        return OngoingStays(
            self.active + other.active,
            self.long_stays + other.long_stays,
            self.waiting_care_home + other.waiting_care_home,
        )


@dataclass(frozen=True, slots=True)
class PlannedHomeGoings:
    planned: int = 0
    with_readiness_gap: int = 0


@dataclass(frozen=True, slots=True)
class Decisions:
    home_going: int = 0
    extension: int = 0


@dataclass(frozen=True, slots=True)
class WaitSpan:
    """One hospital wait as payment responsibility needs it: no case code, no person."""

    unit_id: int | None
    notified_at: datetime
    ended_at: datetime | None


class IndicatorRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def followups(
        self, start: date, end: date, today: date, unit_ids: Collection[int] | None
    ) -> dict[int, FollowUpCounts]:
        """Stays whose day-7 deadline fell in [start, end] and whose outcome is settled.

        Settled: the meeting was held, or the deadline has passed (before ``today``) while the
        stay was still there. A stay that ended before its deadline without a meeting is not
        counted: there was nobody left to follow up.
        """
        held = col(Stay.followup_held_on).is_not(None)
        settled = or_(
            held,
            and_(
                col(Stay.followup_deadline) < today,
                or_(
                    col(Stay.departure_date).is_(None),
                    col(Stay.departure_date) >= col(Stay.followup_deadline),
                ),
            ),
        )
        on_time = and_(held, col(Stay.followup_held_on) <= col(Stay.followup_deadline))
        query = (
            select(Stay.unit_id, func.count(), _count_if(on_time))
            .where(
                col(Stay.followup_deadline) >= start, col(Stay.followup_deadline) <= end, settled
            )
            .group_by(col(Stay.unit_id))
        )
        rows = await self.session.exec(_in_units(query, unit_ids))
        return {unit: FollowUpCounts(int(due), int(ok)) for unit, due, ok in rows.all()}

    async def overdue(self, today: date, unit_ids: Collection[int] | None) -> dict[int, int]:
        """Active stays past their deadline with no meeting held: overdue right now."""
        query = (
            select(Stay.unit_id, func.count())
            .where(
                is_active(),
                col(Stay.followup_held_on).is_(None),
                col(Stay.followup_deadline) < today,
            )
            .group_by(col(Stay.unit_id))
        )
        rows = await self.session.exec(_in_units(query, unit_ids))
        return {unit: int(count) for unit, count in rows.all()}

    async def arrivals(
        self, start: date, end: date, unit_ids: Collection[int] | None
    ) -> dict[int, int]:
        query = (
            select(Stay.unit_id, func.count())
            .where(col(Stay.arrival_date) >= start, col(Stay.arrival_date) <= end)
            .group_by(col(Stay.unit_id))
        )
        rows = await self.session.exec(_in_units(query, unit_ids))
        return {unit: int(count) for unit, count in rows.all()}

    async def ended(
        self, start: date, end: date, unit_ids: Collection[int] | None
    ) -> dict[int, EndedStays]:
        """Stays that departed in [start, end]: how many, their total days, back to hospital."""
        length = days_between(col(Stay.arrival_date), col(Stay.departure_date))
        query = (
            select(
                Stay.unit_id,
                func.count(),
                func.coalesce(func.sum(length), 0),
                _count_if(col(Stay.close_reason) == "hospital"),
            )
            .where(col(Stay.departure_date) >= start, col(Stay.departure_date) <= end)
            .group_by(col(Stay.unit_id))
        )
        rows = await self.session.exec(_in_units(query, unit_ids))
        return {
            unit: EndedStays(int(count), int(days), int(hospital))
            for unit, count, days, hospital in rows.all()
        }

    async def ongoing(
        self, as_of: date, long_stay_days: int, unit_ids: Collection[int] | None
    ) -> dict[int, OngoingStays]:
        """Stays in a bed at the end of ``as_of``; long: more than ``long_stay_days`` days.

        In a bed: arrived by ``as_of`` and either still active without a departure date, or
        departed after ``as_of`` (a stay closed without a departure date has left). The two
        are counted apart so each reads only its own rows through an index: the active stays,
        and the stays that departed after ``as_of``; never the whole history.
        """
        arrived = col(Stay.arrival_date) <= as_of
        still_there = and_(is_active(), col(Stay.departure_date).is_(None), arrived)
        # A closed range (up to the last date there is) changes nothing for the result, but
        # SQLite, which has no statistics on ranges, then sees that the departure index
        # narrows most; with an open one it reads all history through the arrival index.
        departed_later = and_(col(Stay.departure_date).between(as_of + DAY, date.max), arrived)
        counts: dict[int, OngoingStays] = {}
        for condition in (still_there, departed_later):
            found = await self._in_a_bed(condition, as_of, long_stay_days, unit_ids)
            for unit, stays in found.items():
                counts[unit] = counts.get(unit, OngoingStays()) + stays
        return counts

    async def _in_a_bed(
        self,
        condition: ColumnElement[bool],
        as_of: date,
        long_stay_days: int,
        unit_ids: Collection[int] | None,
    ) -> dict[int, OngoingStays]:
        cutoff = date.fromordinal(as_of.toordinal() - long_stay_days)
        waiting = or_(
            col(Stay.waiting_care_home), col(Stay.decision_kind) == DecisionKind.CARE_HOME_WAIT
        )
        query = (
            select(
                Stay.unit_id,
                func.count(),
                _count_if(col(Stay.arrival_date) < cutoff),
                _count_if(waiting),
            )
            .where(condition)
            .group_by(col(Stay.unit_id))
        )
        rows = await self.session.exec(_in_units(query, unit_ids))
        return {
            unit: OngoingStays(int(active), int(long_), int(care_home))
            for unit, active, long_, care_home in rows.all()
        }

    async def planned_home_goings(
        self, first: date, last: date, unit_ids: Collection[int] | None
    ) -> dict[int, PlannedHomeGoings]:
        """Active stays with a home-going in [first, last]; gap: an item still not ready."""
        gap = exists().where(
            col(ReadinessItem.stay_id) == col(Stay.id),
            col(ReadinessItem.status) == ReadinessStatus.NOT_READY,
        )
        query = (
            select(Stay.unit_id, func.count(), _count_if(gap))
            .where(
                Stay.status == StayStatus.ACTIVE,
                col(Stay.home_going_date) >= first,
                col(Stay.home_going_date) <= last,
            )
            .group_by(col(Stay.unit_id))
        )
        rows = await self.session.exec(_in_units(query, unit_ids))
        return {unit: PlannedHomeGoings(int(n), int(gaps)) for unit, n, gaps in rows.all()}

    async def decisions(
        self, start: datetime, end: datetime, unit_ids: Collection[int] | None
    ) -> dict[int, Decisions]:
        """Decisions recorded in [start, end): home-going plannings and extensions."""
        kind = col(Stay.decision_kind)
        query = (
            select(
                Stay.unit_id,
                _count_if(kind == DecisionKind.HOME_GOING),
                _count_if(kind == DecisionKind.EXTENSION),
            )
            .where(col(Stay.decided_at) >= start, col(Stay.decided_at) < end)
            .group_by(col(Stay.unit_id))
        )
        rows = await self.session.exec(_in_units(query, unit_ids))
        return {unit: Decisions(int(home), int(ext)) for unit, home, ext in rows.all()}

    async def sip_called(
        self, start: datetime, end: datetime, unit_ids: Collection[int] | None
    ) -> dict[int, int]:
        """Checklist items "SIP called" marked ready in [start, end).

        Each item's unit is looked up by the stay's primary key: a join lets PostgreSQL, which
        overestimates the items of a period, hash every stay of five years instead.
        """
        unit = (
            select(Stay.unit_id).where(col(Stay.id) == col(ReadinessItem.stay_id)).scalar_subquery()
        )
        query = (
            select(unit, func.count())
            .where(
                ReadinessItem.kind == ReadinessKind.SIP_CALLED,
                ReadinessItem.status == ReadinessStatus.READY,
                col(ReadinessItem.updated_at) >= start,
                col(ReadinessItem.updated_at) < end,
            )
            .group_by(unit)
        )
        if unit_ids is not None:
            query = query.where(unit.in_(list(unit_ids) or [-1]))
        rows = await self.session.exec(query)
        return {int(unit_id): int(count) for unit_id, count in rows.all()}

    async def undeliverable(
        self, start: datetime, end: datetime, unit_ids: Collection[int] | None
    ) -> dict[int | None, int]:
        """Outbox messages due in [start, end) that could not be delivered, per unit."""
        query = (
            select(OutboxMessage.unit_id, func.count())
            .where(
                OutboxMessage.status == OutboxStatus.UNDELIVERABLE,
                col(OutboxMessage.due_at) >= start,
                col(OutboxMessage.due_at) < end,
            )
            .group_by(col(OutboxMessage.unit_id))
        )
        if unit_ids is not None:
            query = query.where(col(OutboxMessage.unit_id).in_(list(unit_ids) or [-1]))
        rows = await self.session.exec(query)
        return {unit: int(count) for unit, count in rows.all()}

    async def wait_spans(
        self, start: datetime, end: datetime, unit_ids: Collection[int] | None
    ) -> list[WaitSpan]:
        """Hospital waits that overlap [start, end): notified before the end, not closed before
        the start. Only these few rows are read; each becomes kronor through the payment policy.
        """
        query = select(
            HospitalWait.expected_unit_id, HospitalWait.notified_at, HospitalWait.closed_at
        ).where(
            col(HospitalWait.notified_at) < end,
            or_(col(HospitalWait.closed_at).is_(None), col(HospitalWait.closed_at) >= start),
        )
        if unit_ids is not None:
            query = query.where(col(HospitalWait.expected_unit_id).in_(list(unit_ids) or [-1]))
        rows = await self.session.exec(query)
        return [WaitSpan(unit, notified, closed) for unit, notified, closed in rows.all()]


def is_active() -> ColumnElement[bool]:
    """``status = 'active'`` with the value written into the SQL, so the planner can use the
    partial index over active stays (a bound parameter would hide which status is meant)."""
    return col(Stay.status) == literal(StayStatus.ACTIVE.value, literal_execute=True)


def _in_units(query: Any, unit_ids: Collection[int] | None) -> Any:
    if unit_ids is None:
        return query
    return query.where(col(Stay.unit_id).in_(list(unit_ids) or [-1]))


__all__ = [
    "Decisions",
    "EndedStays",
    "FollowUpCounts",
    "IndicatorRepository",
    "OngoingStays",
    "PlannedHomeGoings",
    "WaitSpan",
    "days_between",
]
