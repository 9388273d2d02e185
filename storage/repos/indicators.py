"""The SQL behind the indicators: aggregates grouped by unit, never every stay into Python.

Each method answers one question for one date range, as counts or sums per unit id; what the
numbers mean (and how they combine into shares and means) is written once, in
``notifications/indicators.py``. ``unit_ids=None`` means every unit.

Date ranges are inclusive calendar dates; instants are aware UTC ``[start, end)`` bounds.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from typing import Any

from sqlalchemy import BigInteger, Integer, and_, case, exists, func, literal, or_, union_all
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import on_postgres
from storage.domain.clock import STOCKHOLM
from storage.domain.payment import PaymentPolicy
from storage.domain.periods import local_midnight_utc
from storage.models import (
    DecisionEvent,
    DecisionEventKind,
    HospitalWait,
    OutboxMessage,
    OutboxStatus,
    ReadinessEvent,
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


class epoch_seconds(FunctionElement[int]):
    """Whole seconds since 1970-01-01 UTC of an instant (rounded down) on every backend."""

    type = BigInteger()
    inherit_cache = True
    name = "epoch_seconds"


@compiles(epoch_seconds, "sqlite")
def _epoch_seconds_sqlite(element: epoch_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    # Instants are stored as 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC). The fraction is cut off, not
    # given to strftime, which rounds it to milliseconds and so could round up into the next day.
    (instant,) = list(element.clauses)
    return f"CAST(strftime('%s', substr({compiler.process(instant, **kw)}, 1, 19)) AS INTEGER)"


@compiles(epoch_seconds)
def _epoch_seconds_default(element: epoch_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    (instant,) = list(element.clauses)
    return f"CAST(FLOOR(EXTRACT(EPOCH FROM {compiler.process(instant, **kw)})) AS BIGINT)"


class greatest(FunctionElement[int]):
    """The larger of two values (SQLite's two-argument ``max``)."""

    type = BigInteger()
    inherit_cache = True
    name = "greatest"


class least(FunctionElement[int]):
    """The smaller of two values (SQLite's two-argument ``min``)."""

    type = BigInteger()
    inherit_cache = True
    name = "least"


@compiles(greatest, "sqlite")
def _greatest_sqlite(element: greatest, compiler: SQLCompiler, **kw: Any) -> str:
    return f"max({compiler.process(element.clauses, **kw)})"


@compiles(least, "sqlite")
def _least_sqlite(element: least, compiler: SQLCompiler, **kw: Any) -> str:
    return f"min({compiler.process(element.clauses, **kw)})"


@compiles(greatest)
def _greatest_default(element: greatest, compiler: SQLCompiler, **kw: Any) -> str:
    return f"GREATEST({compiler.process(element.clauses, **kw)})"


@compiles(least)
def _least_default(element: least, compiler: SQLCompiler, **kw: Any) -> str:
    return f"LEAST({compiler.process(element.clauses, **kw)})"


class unordered(FunctionElement[Any]):
    """A column as it is; on SQLite, ``+column``: the documented way to keep its planner from
    reading the rows in that column's order through an index.

    Grouped by unit, SQLite otherwise reads a period's stays through a (unit, date) index, to
    spare sorting the groups, and fetches each row from the table; through the date-led covering
    index (migration 0008) the same query takes a seventh of the time at a region's scale.
    """

    inherit_cache = True
    name = "unordered"

    def __init__(self, column: Any) -> None:
        super().__init__(column)
        self.type = column.type


@compiles(unordered, "sqlite")
def _unordered_sqlite(element: unordered, compiler: SQLCompiler, **kw: Any) -> str:
    return f"+{compiler.process(element.clauses, **kw)}"


@compiles(unordered)
def _unordered_default(element: unordered, compiler: SQLCompiler, **kw: Any) -> str:
    return str(compiler.process(element.clauses, **kw))


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
class HospitalWaits:
    """Hospital waits (utskrivningsklar) of a period: active some day of it, and those that
    ended in it with their total time waited."""

    active: int = 0
    ended: int = 0
    waited_seconds: int = 0


class IndicatorRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def followups(
        self, start: date, end: date, today: date, unit_ids: Collection[int] | None
    ) -> dict[int, FollowUpCounts]:
        """Stays whose day-7 deadline fell in [start, end] and whose outcome is settled, per unit.

        Settled: the meeting was held, or the deadline has passed (before ``today``) while the
        stay was still there. A stay that ended before its deadline without a meeting is not
        counted: there was nobody left to follow up.
        """
        query = _followup_counts(unordered(col(Stay.unit_id)), start, end, today)
        rows = await self.session.exec(_in_units(query, unit_ids))
        return {unit: FollowUpCounts(int(due), int(ok)) for unit, due, ok in rows.all()}

    async def followups_per_day(
        self, start: date, end: date, today: date, unit_ids: Collection[int] | None
    ) -> dict[date, FollowUpCounts]:
        """The same stays as ``followups``, per deadline day over all the units: one query for
        any number of weeks of a trend."""
        query = _followup_counts(col(Stay.followup_deadline), start, end, today)
        rows = await self.session.exec(_in_units(query, unit_ids))
        return {day: FollowUpCounts(int(due), int(ok)) for day, due, ok in rows.all()}

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
            .where(
                col(Stay.arrival_date) >= start,
                col(Stay.arrival_date) <= end,
                not_planned(),
            )
            .group_by(col(Stay.unit_id))
        )
        rows = await self.session.exec(_in_units(query, unit_ids))
        return {unit: int(count) for unit, count in rows.all()}

    async def ended(
        self, start: date, end: date, unit_ids: Collection[int] | None
    ) -> dict[int, EndedStays]:
        """Stays that departed in [start, end]: how many, their total days, back to hospital."""
        query = _ended_counts(unordered(col(Stay.unit_id)), start, end)
        rows = await self.session.exec(_in_units(query, unit_ids))
        return {
            unit: EndedStays(int(count), int(days), int(hospital))
            for unit, count, days, hospital in rows.all()
        }

    async def ended_per_day(
        self, start: date, end: date, unit_ids: Collection[int] | None
    ) -> dict[date, EndedStays]:
        """The same stays as ``ended``, per departure day over all the units."""
        query = _ended_counts(col(Stay.departure_date), start, end)
        rows = await self.session.exec(_in_units(query, unit_ids))
        return {
            day: EndedStays(int(count), int(days), int(hospital))
            for day, count, days, hospital in rows.all()
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
        # On PostgreSQL the active stays' lowest and highest id are the two ends of
        # ix_stay_active_id: they bound the care-home wait decisions read for them (SQLite reads
        # the bounded set more slowly than the whole one: measured at 600 000 stays, 435 ->
        # 960 ms). The stays that departed later have no index in id order (their lowest id
        # would be sought through all history's), so theirs are not bounded.
        bounded = on_postgres(self.session)
        counts: dict[int, OngoingStays] = {}
        for condition, ids_of in (
            (still_there, still_there if bounded else None),
            (departed_later, None),
        ):
            found = await self._in_a_bed(condition, ids_of, as_of, long_stay_days, unit_ids)
            for unit, stays in found.items():
                counts[unit] = counts.get(unit, OngoingStays()) + stays
        return counts

    async def _in_a_bed(
        self,
        condition: ColumnElement[bool],
        ids_of: ColumnElement[bool] | None,
        as_of: date,
        long_stay_days: int,
        unit_ids: Collection[int] | None,
    ) -> dict[int, OngoingStays]:
        cutoff = date.fromordinal(as_of.toordinal() - long_stay_days)
        waiting = _waiting_care_home_at(local_midnight_utc(as_of + DAY), ids_of)
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
        """Decisions taken in [start, end), from the decision events: home-going decisions (a
        date set where none was; a moved date is the same decision) and extensions (each one)."""
        kind = col(DecisionEvent.kind)
        unit = unordered(col(DecisionEvent.unit_id))
        query = (
            select(
                unit,
                _count_if(kind == DecisionEventKind.HOME_GOING_SET),
                _count_if(kind == DecisionEventKind.EXTENSION),
            )
            .where(col(DecisionEvent.decided_at) >= start, col(DecisionEvent.decided_at) < end)
            .group_by(unit)
        )
        if unit_ids is not None:
            query = query.where(col(DecisionEvent.unit_id).in_(list(unit_ids) or [-1]))
        rows = await self.session.exec(query)
        return {unit: Decisions(int(home), int(ext)) for unit, home, ext in rows.all()}

    async def hospital_waits(
        self, start: datetime, end: datetime, unit_ids: Collection[int] | None
    ) -> dict[int | None, HospitalWaits]:
        """Per expected unit: waits active some day of [start, end) (notified before the end, not
        closed before the start; seed 002's "aktuella för hemgångsplanering"), and waits closed
        in it with the seconds from the notice to leaving hospital (seed 004)."""
        notified, closed = col(HospitalWait.notified_at), col(HospitalWait.closed_at)
        columns = (col(HospitalWait.expected_unit_id), notified, closed)
        # Still open, or closed in or after the period: two ranges of ix_hospital_wait_closed_at
        # instead of an OR that reads every wait of the years before.
        waits = union_all(
            select(*columns).where(closed.is_(None), notified < end),
            select(*columns).where(closed >= start, notified < end),
        ).subquery()
        ended = and_(waits.c.closed_at >= start, waits.c.closed_at < end)
        waited = case(
            (ended, epoch_seconds(waits.c.closed_at) - epoch_seconds(waits.c.notified_at)),
            else_=0,
        )
        unit = waits.c.expected_unit_id
        query = (
            select(unit, func.count(), _count_if(ended), func.coalesce(func.sum(waited), 0))
            .select_from(waits)
            .group_by(unit)
        )
        if unit_ids is not None:
            query = query.where(unit.in_(list(unit_ids) or [-1]))
        rows = await self.session.exec(query)
        return {
            unit_id: HospitalWaits(int(active), int(done), int(seconds))
            for unit_id, active, done, seconds in rows.all()
        }

    async def sip_called(
        self, start: datetime, end: datetime, unit_ids: Collection[int] | None
    ) -> dict[int, int]:
        """Stays whose checklist item "SIP called" was first marked ready in [start, end), from
        the readiness events: unmarking or marking it again later changes no earlier period.

        Each stay's unit is looked up by the stay's primary key: a join lets PostgreSQL, which
        overestimates the events of a period, hash every stay of five years instead.
        """
        called = and_(
            col(ReadinessEvent.kind) == ReadinessKind.SIP_CALLED,
            col(ReadinessEvent.status) == ReadinessStatus.READY,
        )
        earlier = aliased(ReadinessEvent)
        before = exists().where(
            col(earlier.stay_id) == col(ReadinessEvent.stay_id),
            col(earlier.kind) == ReadinessKind.SIP_CALLED,
            col(earlier.status) == ReadinessStatus.READY,
            col(earlier.at) < start,
        )
        unit = (
            select(Stay.unit_id)
            .where(col(Stay.id) == col(ReadinessEvent.stay_id))
            .scalar_subquery()
        )
        query = (
            select(unit, func.count(func.distinct(ReadinessEvent.stay_id)))
            .where(called, col(ReadinessEvent.at) >= start, col(ReadinessEvent.at) < end, ~before)
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
        return await self._outbox_count((OutboxStatus.UNDELIVERABLE,), start, end, unit_ids)

    async def not_opened(
        self, start: datetime, end: datetime, unit_ids: Collection[int] | None
    ) -> dict[int | None, int]:
        """Outbox messages due in [start, end) whose recipient has not opened Korttid: still
        waiting for them, or expired while waiting; per unit."""
        statuses = (OutboxStatus.WAITING, OutboxStatus.EXPIRED)
        return await self._outbox_count(statuses, start, end, unit_ids)

    async def _outbox_count(
        self,
        statuses: Sequence[OutboxStatus],
        start: datetime,
        end: datetime,
        unit_ids: Collection[int] | None,
    ) -> dict[int | None, int]:
        query = (
            select(OutboxMessage.unit_id, func.count())
            .where(
                col(OutboxMessage.status).in_([status.value for status in statuses]),
                col(OutboxMessage.due_at) >= start,
                col(OutboxMessage.due_at) < end,
            )
            .group_by(col(OutboxMessage.unit_id))
        )
        if unit_ids is not None:
            query = query.where(col(OutboxMessage.unit_id).in_(list(unit_ids) or [-1]))
        rows = await self.session.exec(query)
        return {unit: int(count) for unit, count in rows.all()}

    async def payable_days(
        self,
        start: datetime,
        end: datetime,
        ranges: Sequence[tuple[date, date]],
        policy: PaymentPolicy,
        unit_ids: Collection[int] | None,
    ) -> dict[int | None, tuple[int, ...]]:
        """Payment responsibility per expected unit with hospital waits that overlap
        [start, end) (notified before the end, not closed before the start): how many of
        their payable days fall in each of ``ranges`` (inclusive dates within [start, end)).

        The rules are ``storage.domain.payment``'s: from the first payable day after the notice
        up to (not including) the day the person left hospital, or on while still waiting. The
        days are summed here, so a region's tens of thousands of waits never leave the database.
        """
        first_day = _local_day(
            col(HospitalWait.notified_at), start, end, policy, shift=_counting_shift(policy)
        )
        left_day = _local_day(col(HospitalWait.closed_at), start, end, policy, shift=0)
        last_of_all = max((_day_number(last) for _first, last in ranges), default=0)
        query: Any = select(
            col(HospitalWait.expected_unit_id).label("unit_id"),
            (first_day + policy.grace_days).label("first_day"),
            func.coalesce(left_day - 1, last_of_all).label("last_day"),
        ).where(
            col(HospitalWait.notified_at) < end,
            or_(col(HospitalWait.closed_at).is_(None), col(HospitalWait.closed_at) >= start),
        )
        if unit_ids is not None:
            query = query.where(col(HospitalWait.expected_unit_id).in_(list(unit_ids) or [-1]))
        waits = query.cte("waits").prefix_with("MATERIALIZED")
        days_in: list[ColumnElement[Any]] = [
            func.sum(
                greatest(
                    least(waits.c.last_day, _day_number(last))
                    - greatest(waits.c.first_day, _day_number(first))
                    + 1,
                    0,
                )
            )
            for first, last in ranges
        ]
        # The count keeps every row a tuple, also when no range is asked for (a future period).
        rows = await self.session.exec(
            select(waits.c.unit_id, func.count(), *days_in).group_by(waits.c.unit_id)
        )
        return {row[0]: tuple(int(days) for days in row[2:]) for row in rows.all()}


# The decisions that start or end a wait for a care-home place; an "other" decision leaves it.
WAIT_DECISIONS = (
    DecisionEventKind.CARE_HOME_WAIT,
    DecisionEventKind.HOME_GOING_SET,
    DecisionEventKind.HOME_GOING_CHANGED,
    DecisionEventKind.EXTENSION,
)


def _waiting_care_home_at(
    instant: datetime, ids_of: ColumnElement[bool] | None
) -> ColumnElement[bool]:
    """The stay's latest decision before ``instant`` that starts or ends a wait is a care-home
    wait: read from the decision events, so a later decision never changes an earlier period.

    ``ids_of``: the query's own condition on the stays, when their lowest and highest id are
    cheap to find; only the events of stays in that id range are then read."""
    latest = (
        select(DecisionEvent.kind)
        .where(
            col(DecisionEvent.stay_id) == col(Stay.id),
            col(DecisionEvent.kind).in_([kind.value for kind in WAIT_DECISIONS]),
            col(DecisionEvent.decided_at) < instant,
        )
        .order_by(col(DecisionEvent.decided_at).desc(), col(DecisionEvent.id).desc())
        .limit(1)
        .correlate(Stay)
        .scalar_subquery()
    )
    # Only stays that ever had a care-home wait decision by then need the latest one looked up:
    # a set built once, so the look-up runs for a few stays instead of every stay in a bed.
    ever = select(DecisionEvent.stay_id).where(
        DecisionEvent.kind == DecisionEventKind.CARE_HOME_WAIT,
        col(DecisionEvent.decided_at) < instant,
    )
    if ids_of is not None:
        # Whatever their history, the events of the stays asked for are those of stays between
        # their lowest and highest id; ids are given as stays are registered, so that is recent
        # stays' events instead of all history's (ix_decision_event_kind_stay, migration 0020).
        lowest, highest = (
            select(bound(col(Stay.id))).where(ids_of).correlate(None).scalar_subquery()
            for bound in (func.min, func.max)
        )
        ever = ever.where(col(DecisionEvent.stay_id).between(lowest, highest))
    ever_waited = col(Stay.id).in_(ever)
    return and_(ever_waited, latest == DecisionEventKind.CARE_HOME_WAIT.value)


def _followup_counts(group: Any, start: date, end: date, today: date) -> Any:
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
    return (
        select(group, func.count(), _count_if(on_time))
        .where(
            col(Stay.followup_deadline) >= start,
            col(Stay.followup_deadline) <= end,
            settled,
            not_planned(),
        )
        .group_by(group)
    )


def _ended_counts(group: Any, start: date, end: date) -> Any:
    length = days_between(col(Stay.arrival_date), col(Stay.departure_date))
    return (
        select(
            group,
            func.count(),
            func.coalesce(func.sum(length), 0),
            _count_if(col(Stay.close_reason) == "hospital"),
        )
        .where(col(Stay.departure_date) >= start, col(Stay.departure_date) <= end)
        .group_by(group)
    )


EPOCH = date(1970, 1, 1)
SECOND = timedelta(seconds=1)
SECONDS_PER_DAY = 86_400
NOON_SECONDS = 12 * 3600


def _day_number(day: date) -> int:
    """Days since 1970-01-01: the unit the payment SQL counts in."""
    return (day - EPOCH).days


def _counting_shift(policy: PaymentPolicy) -> int:
    """With the noon cut-off a notice from 12:00 counts from the next day: half a day later."""
    return NOON_SECONDS if policy.noon_cutoff else 0


def _local_day(
    instant: Any,
    start: datetime,
    end: datetime,
    policy: PaymentPolicy,
    *,
    shift: int,
) -> ColumnElement[int]:
    """The Stockholm calendar day (as a day number) of a stored UTC instant, in SQL.

    The UTC offset comes from a ``CASE`` over the offset changes near [start, end) (a week
    beyond the grace days on either side). Further out an instant's local time can be an hour
    off, which changes no count: a notice that early is payable from before the start anyway,
    and a wait that ends that late runs past the end.
    """
    margin = timedelta(days=policy.grace_days + 7)
    changes = utc_offsets(start - margin, end + margin)
    offset: ColumnElement[int] = literal(changes[0][1])
    if len(changes) > 1:
        offset = case(
            *((instant < moment, before) for (_, before), (moment, _) in pairwise(changes)),
            else_=changes[-1][1],
        )
    return (epoch_seconds(instant) + offset + shift) // SECONDS_PER_DAY


def utc_offsets(start: datetime, end: datetime) -> list[tuple[datetime, int]]:
    """Stockholm's UTC offset (seconds) at ``start`` and from each instant in (start, end) where
    it changes, in order. Offsets change a few times a year, on the second: days are walked and
    a change is narrowed down to its second."""
    start = start.astimezone(UTC).replace(microsecond=0)
    changes = [(start, _offset_at(start))]
    day = start
    while day < end:
        following = min(day + timedelta(days=1), end)
        if _offset_at(following) != changes[-1][1]:
            changes.append(_first_change(day, following))
        day = following
    return changes


def _offset_at(instant: datetime) -> int:
    offset = instant.astimezone(STOCKHOLM).utcoffset()
    assert offset is not None
    return int(offset.total_seconds())


def _first_change(before: datetime, after: datetime) -> tuple[datetime, int]:
    """The first second after ``before`` (whole seconds) with the offset ``after`` has."""
    target = _offset_at(after)
    low, high = before, after
    while (gap := (high - low) // SECOND) > 1:
        middle = low + SECOND * (gap // 2)
        if _offset_at(middle) == target:
            high = middle
        else:
            low = middle
    return low + SECOND, target


def is_active() -> ColumnElement[bool]:
    """``status = 'active'`` with the value written into the SQL, so the planner can use the
    partial index over active stays (a bound parameter would hide which status is meant)."""
    return col(Stay.status) == literal(StayStatus.ACTIVE.value, literal_execute=True)


def not_planned() -> ColumnElement[bool]:
    """A stay registered before arrival counts nowhere until it has arrived (issue 17, item 11):
    its arrival date and deadline are only a plan; one cancelled before arrival never counts."""
    return and_(
        *(
            col(Stay.status) != literal(status.value, literal_execute=True)
            for status in (StayStatus.PLANNED, StayStatus.CANCELLED)
        )
    )


def _in_units(query: Any, unit_ids: Collection[int] | None) -> Any:
    if unit_ids is None:
        return query
    return query.where(col(Stay.unit_id).in_(list(unit_ids) or [-1]))


__all__ = [
    "Decisions",
    "EndedStays",
    "FollowUpCounts",
    "HospitalWaits",
    "IndicatorRepository",
    "OngoingStays",
    "PlannedHomeGoings",
    "days_between",
    "utc_offsets",
]
