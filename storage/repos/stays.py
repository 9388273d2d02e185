"""Stays and their readiness items."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.domain.calendar import followup_deadline
from storage.models import ReadinessEvent, ReadinessItem, ReadinessStatus, Stay, StayStatus, utcnow
from storage.repos.keys import is_possible_id


class StayRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, stay: Stay) -> Stay:
        """Insert a new stay; its follow-up deadline is derived from the arrival date."""
        stay.followup_deadline = followup_deadline(stay.arrival_date)
        self.session.add(stay)
        await self.session.flush()
        return stay

    async def by_id(self, stay_id: int) -> Stay | None:
        if not is_possible_id(stay_id):
            return None
        return await self.session.get(Stay, stay_id)

    async def by_case_code(self, case_code: str, unit_ids: Iterable[int]) -> Stay | None:
        """The stay with this code among the given units (codes are unique per unit)."""
        ids = list(unit_ids)
        if not ids:
            return None
        result = await self.session.exec(
            select(Stay)
            .where(Stay.case_code == case_code.strip().upper(), col(Stay.unit_id).in_(ids))
            .order_by(col(Stay.id).desc())
        )
        return result.first()

    async def case_code_taken(self, unit_id: int, case_code: str) -> bool:
        result = await self.session.exec(
            select(Stay.id).where(Stay.unit_id == unit_id, Stay.case_code == case_code.upper())
        )
        return result.first() is not None

    async def active_in_units(
        self, unit_ids: Iterable[int], status: StayStatus = StayStatus.ACTIVE
    ) -> Sequence[Stay]:
        """The unit's stays with ``status`` (active, or planned for the list's own section)."""
        ids = list(unit_ids)
        if not ids:
            return []
        result = await self.session.exec(
            select(Stay)
            .where(col(Stay.unit_id).in_(ids), Stay.status == status)
            .order_by(col(Stay.arrival_date), col(Stay.case_code))
        )
        return result.all()

    async def save(self, stay: Stay) -> None:
        stay.updated_at = utcnow()
        self.session.add(stay)
        await self.session.flush()

    async def items(self, stay_id: int) -> Sequence[ReadinessItem]:
        result = await self.session.exec(
            select(ReadinessItem)
            .where(ReadinessItem.stay_id == stay_id)
            .order_by(col(ReadinessItem.id))
        )
        return result.all()

    async def ensure_items(self, stay_id: int, items: Iterable[tuple[str, str]]) -> None:
        """Create the missing checklist items (kind, responsible role); others are kept."""
        existing = {item.kind for item in await self.items(stay_id)}
        for kind, role in items:
            if kind not in existing:
                self.session.add(
                    ReadinessItem(
                        stay_id=stay_id,
                        kind=kind,
                        responsible_role=role,
                        status=ReadinessStatus.NOT_READY,
                    )
                )
        await self.session.flush()

    # --- issue 4: stays, readiness and registration ---

    async def case_codes_with_prefix(self, unit_id: int, prefix: str) -> Sequence[str]:
        """Every case code of a unit that starts with ``prefix`` (for suggesting the next one)."""
        result = await self.session.exec(
            select(Stay.case_code).where(
                Stay.unit_id == unit_id, col(Stay.case_code).startswith(prefix.upper())
            )
        )
        return result.all()

    async def active_for_handlaggare(
        self,
        handlaggare_id: int,
        unit_ids: Iterable[int],
        status: StayStatus = StayStatus.ACTIVE,
    ) -> Sequence[Stay]:
        """Active (or ``status``) stays a handläggare is responsible for, within the units."""
        ids = list(unit_ids)
        if not ids:
            return []
        result = await self.session.exec(
            select(Stay)
            .where(
                col(Stay.unit_id).in_(ids),
                Stay.status == status,
                Stay.handlaggare_id == handlaggare_id,
            )
            .order_by(col(Stay.arrival_date), col(Stay.case_code))
        )
        return result.all()

    async def items_for(self, stay_ids: Iterable[int]) -> dict[int, list[ReadinessItem]]:
        """Readiness items of several stays in one query, by stay id."""
        ids = list(stay_ids)
        found: dict[int, list[ReadinessItem]] = {stay_id: [] for stay_id in ids}
        if not ids:
            return found
        result = await self.session.exec(
            select(ReadinessItem)
            .where(col(ReadinessItem.stay_id).in_(ids))
            .order_by(col(ReadinessItem.id))
        )
        for item in result.all():
            found[item.stay_id].append(item)
        return found

    async def item(self, stay_id: int, kind: str) -> ReadinessItem | None:
        result = await self.session.exec(
            select(ReadinessItem).where(
                ReadinessItem.stay_id == stay_id, ReadinessItem.kind == kind
            )
        )
        return result.first()

    async def save_item(
        self,
        item: ReadinessItem,
        status: str,
        staff_id: int | None,
        at: datetime | None = None,
    ) -> None:
        """Set the item's status and append it to the readiness history (what figures read)."""
        item.status = status
        item.updated_by_id = staff_id
        item.updated_at = at or utcnow()
        self.session.add(item)
        self.session.add(
            ReadinessEvent(
                stay_id=item.stay_id,
                kind=item.kind,
                status=status,
                at=item.updated_at,
                author_id=staff_id,
            )
        )
        await self.session.flush()
