"""Facts the nudge rules read: narrow queries over ACTIVE stays only, via indexed columns.

A tick runs every minute over a region's data (100 000 active, millions of closed stays), so
each query selects a date window on an indexed column and only the columns the rules use.
History (closed stays) is never loaded.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, time
from typing import Any

from sqlalchemy import ColumnElement, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import Select

from storage.models import (
    ReadinessItem,
    ReadinessKind,
    ReadinessStatus,
    Staff,
    StaffRole,
    StaffUnit,
    Stay,
    StayStatus,
    Unit,
)

# Bound parameters per IN list: well below SQLite's and asyncpg's limits.
_CHUNK = 900


@dataclass(frozen=True, slots=True)
class ItemFact:
    kind: str
    status: str
    responsible_role: str


@dataclass(frozen=True, slots=True)
class StayFacts:
    """What the rules need to know about one active stay; no free text, no patient identity.

    ``unit_name`` and ``handlaggare_name`` let a manager's card say where and who answers for
    it without the case code (the enhetschef sees figures, not people)."""

    id: int
    unit_id: int
    case_code: str
    room: str | None
    arrival_date: date
    followup_deadline: date
    followup_held_on: date | None = None
    decision_kind: str | None = None
    home_going_date: date | None = None
    home_going_time: time | None = None
    transport: str | None = None
    home_help_meets: bool | None = None
    provider_name: str | None = None
    provider_contact: str | None = None
    sip_wanted: bool | None = None
    handlaggare_id: int | None = None
    nurse_id: int | None = None
    decision_end_date: date | None = None
    health_care_only: bool | None = None
    # issue 17, item 11: an acute placement and whether its phone handover is recorded
    acute: bool = False
    phone_handover_done: bool | None = None
    unit_name: str | None = None
    handlaggare_name: str | None = None
    items: tuple[ItemFact, ...] = field(default=())
    # issue 15: the called meeting, when one stands (the follow-up nudges name it)
    booked_date: date | None = None
    booked_time: time | None = None


_STAY_COLUMNS = tuple(
    col(column)
    for column in (
        Stay.id,
        Stay.unit_id,
        Stay.case_code,
        Stay.room,
        Stay.arrival_date,
        Stay.followup_deadline,
        Stay.followup_held_on,
        Stay.decision_kind,
        Stay.home_going_date,
        Stay.home_going_time,
        Stay.transport,
        Stay.home_help_meets,
        Stay.provider_name,
        Stay.provider_contact,
        Stay.sip_wanted,
        Stay.handlaggare_id,
        Stay.nurse_id,
        Stay.decision_end_date,
        Stay.health_care_only,
        Stay.acute,
        Stay.phone_handover_done,
    )
)


def _select_stays() -> Select[*tuple[Any, ...]]:
    """The stay columns plus unit and handläggare names; both joins are primary-key lookups."""
    return (
        select_columns(*_STAY_COLUMNS, col(Unit.name), col(Staff.name))
        .join(Unit, col(Unit.id) == col(Stay.unit_id))
        .outerjoin(Staff, col(Staff.id) == col(Stay.handlaggare_id))
    )


def select_columns(*columns: Any) -> Select[*tuple[Any, ...]]:
    """A SELECT of many plain columns (sqlmodel's ``select`` overloads stop at four)."""
    return Select(*columns)


def _facts(row: Sequence[Any]) -> StayFacts:
    return StayFacts(*row)


def chunks(values: Sequence[int]) -> Iterable[Sequence[int]]:
    """``values`` in lists short enough for one IN (bound parameters have limits)."""
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


@dataclass(frozen=True, slots=True)
class StayScope:
    """Which stays a query reads: these ``ids`` (at most ``_CHUNK``, see ``chunks``), or the
    ids in (``after``, ``through``], ``through`` None for no end. The default: every stay."""

    ids: Sequence[int] | None = None
    after: int = 0
    through: int | None = None

    def where(self, stay_id: Any) -> list[ColumnElement[bool]]:
        """Conditions on a column holding stay ids."""
        if self.ids is not None:
            return [col(stay_id).in_(self.ids)]
        conditions = [col(stay_id) > self.after] if self.after else []
        if self.through is not None:
            conditions.append(col(stay_id) <= self.through)
        return conditions


EVERY_STAY = StayScope()


def _active_in(scope: StayScope) -> list[ColumnElement[bool]]:
    return [*scope.where(Stay.id), col(Stay.status) == StayStatus.ACTIVE]


class FactsRepository:
    """Every method reads the active stays in its window, of those in ``scope``."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _active(self, scope: StayScope, *conditions: Any) -> list[StayFacts]:
        """The facts of the active stays in ``scope`` that meet ``conditions``."""
        result = await self.session.exec(_select_stays().where(*_active_in(scope), *conditions))
        return [_facts(row) for row in result.all()]

    async def open_followups(
        self, deadline_from: date, deadline_to: date, scope: StayScope = EVERY_STAY
    ) -> list[StayFacts]:
        """Active stays without a held follow-up meeting, deadline in the window (inclusive)."""
        return await self._active(
            scope,
            col(Stay.followup_deadline).between(deadline_from, deadline_to),
            col(Stay.followup_held_on).is_(None),
        )

    async def undecided_arrivals(
        self,
        arrival_from: date,
        arrival_to: date,
        deadline_from: date,
        deadline_to: date,
        scope: StayScope = EVERY_STAY,
    ) -> list[StayFacts]:
        """Active stays without a decision that arrived in the window.

        The follow-up deadline (arrival + 7, moved back over non-working days) narrows the scan
        through the (status, followup_deadline) index; arrival itself has no index.
        """
        return await self._active(
            scope,
            col(Stay.followup_deadline).between(deadline_from, deadline_to),
            col(Stay.arrival_date).between(arrival_from, arrival_to),
            col(Stay.decision_kind).is_(None),
        )

    async def home_goings(
        self,
        date_from: date,
        date_to: date,
        *,
        after: time | None = None,
        scope: StayScope = EVERY_STAY,
    ) -> list[StayFacts]:
        """Active stays with a home-going date in the window; ``after``: only later times."""
        conditions: list[ColumnElement[bool]] = [
            col(Stay.home_going_date).between(date_from, date_to)
        ]
        if after is not None:
            conditions.append(col(Stay.home_going_time) > after)
        return await self._active(scope, *conditions)

    async def decision_ends(
        self, date_from: date, date_to: date, scope: StayScope = EVERY_STAY
    ) -> list[StayFacts]:
        """Active stays whose SoL decision ends in the window (inclusive)."""
        return await self._active(scope, col(Stay.decision_end_date).between(date_from, date_to))

    async def unrecorded_handovers(
        self,
        arrival_from: date,
        arrival_to: date,
        deadline_from: date,
        deadline_to: date,
        scope: StayScope = EVERY_STAY,
    ) -> list[StayFacts]:
        """Active acute stays that arrived in the window without a recorded phone handover.

        As in ``undecided_arrivals``, the deadline (arrival + 7) narrows the scan by index.
        """
        return await self._active(
            scope,
            col(Stay.followup_deadline).between(deadline_from, deadline_to),
            col(Stay.arrival_date).between(arrival_from, arrival_to),
            col(Stay.acute).is_(True),
            or_(col(Stay.phone_handover_done).is_(None), col(Stay.phone_handover_done).is_(False)),
        )

    async def checklists(
        self, date_from: date, date_to: date, scope: StayScope = EVERY_STAY
    ) -> dict[int, tuple[ItemFact, ...]]:
        """The checklist items a rule can act on, for active stays going home in the window.

        Only items not ready (the readiness nudges list them) and "SIP called" in any status
        (it settles the SIP nudge) are read: ready items of the same stays change nothing.
        One query joined to the (status, home_going_date) index, in checklist order.
        """
        result = await self.session.exec(
            select(
                ReadinessItem.stay_id,
                ReadinessItem.kind,
                ReadinessItem.status,
                ReadinessItem.responsible_role,
            )
            .join(Stay, col(Stay.id) == col(ReadinessItem.stay_id))
            .where(
                *_active_in(scope),
                col(Stay.home_going_date).between(date_from, date_to),
                or_(
                    col(ReadinessItem.status) == ReadinessStatus.NOT_READY,
                    col(ReadinessItem.kind) == ReadinessKind.SIP_CALLED,
                ),
            )
            .order_by(col(ReadinessItem.id))
        )
        items: dict[int, list[ItemFact]] = {}
        for stay_id, kind, status, role in result.all():
            items.setdefault(stay_id, []).append(ItemFact(kind, status, role))
        return {stay_id: tuple(found) for stay_id, found in items.items()}

    async def active_slice_end(self, after: int, size: int) -> int | None:
        """The id of the ``size``-th active stay after ``after``; None when fewer are left."""
        result = await self.session.exec(
            select(Stay.id)
            .where(col(Stay.status) == StayStatus.ACTIVE, col(Stay.id) > after)
            .order_by(col(Stay.id))
            .offset(size - 1)
            .limit(1)
        )
        return result.first()

    async def staff_by_unit_role(
        self, unit_ids: Iterable[int], roles: Iterable[str]
    ) -> Mapping[tuple[int, str], tuple[int, ...]]:
        """(unit id, role) -> ids of the active staff holding that role in that unit."""
        units = sorted(set(unit_ids))
        wanted = sorted(set(roles))
        found: dict[tuple[int, str], list[int]] = {}
        for chunk in chunks(units):
            result = await self.session.exec(
                select(StaffUnit.unit_id, StaffRole.role, Staff.id)
                .join(StaffRole, col(StaffRole.staff_id) == StaffUnit.staff_id)
                .join(Staff, col(Staff.id) == StaffUnit.staff_id)
                .where(
                    col(StaffUnit.unit_id).in_(chunk),
                    col(StaffRole.role).in_(wanted),
                    col(Staff.active),
                )
                .order_by(col(Staff.id))
            )
            for unit_id, role, staff_id in result.all():
                if staff_id is not None:
                    found.setdefault((unit_id, role), []).append(staff_id)
        return {key: tuple(ids) for key, ids in found.items()}
