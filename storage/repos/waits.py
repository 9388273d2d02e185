"""Hospital waits: people ready for discharge who wait in hospital for a short-term place."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import HospitalWait, WaitStatus
from storage.repos.keys import is_possible_id


class WaitRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, wait: HospitalWait) -> HospitalWait:
        self.session.add(wait)
        await self.session.flush()
        return wait

    async def by_id(self, wait_id: int) -> HospitalWait | None:
        if not is_possible_id(wait_id):
            return None
        return await self.session.get(HospitalWait, wait_id)

    async def open_in_units(self, unit_ids: Iterable[int]) -> Sequence[HospitalWait]:
        """Waits still open whose expected unit is one of these, longest waiting first."""
        ids = list(unit_ids)
        if not ids:
            return []
        result = await self.session.exec(
            select(HospitalWait)
            .where(
                HospitalWait.status == WaitStatus.WAITING,
                col(HospitalWait.expected_unit_id).in_(ids),
            )
            .order_by(col(HospitalWait.notified_at), col(HospitalWait.id))
        )
        return result.all()

    async def open_by_case_code(self, case_code: str, unit_id: int) -> HospitalWait | None:
        result = await self.session.exec(
            select(HospitalWait).where(
                HospitalWait.case_code == case_code.strip().upper(),
                HospitalWait.expected_unit_id == unit_id,
                HospitalWait.status == WaitStatus.WAITING,
            )
        )
        return result.first()

    async def close(
        self, wait: HospitalWait, status: str, closed_at: datetime, stay_id: int | None = None
    ) -> None:
        wait.status = status
        wait.closed_at = closed_at
        wait.stay_id = stay_id
        self.session.add(wait)
        await self.session.flush()
