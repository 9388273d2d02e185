"""Units (korttidsenheter)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Unit


class UnitRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_code(self, code: str) -> Unit | None:
        result = await self.session.exec(select(Unit).where(Unit.code == code.strip().upper()))
        return result.first()

    async def by_ids(self, unit_ids: Iterable[int]) -> Sequence[Unit]:
        ids = list(unit_ids)
        if not ids:
            return []
        result = await self.session.exec(
            select(Unit).where(col(Unit.id).in_(ids)).order_by(Unit.code)
        )
        return result.all()

    async def get_or_create(self, code: str, name: str | None = None) -> tuple[Unit, bool]:
        code = code.strip().upper()
        unit = await self.by_code(code)
        if unit is not None:
            return unit, False
        unit = Unit(code=code, name=name or code)
        self.session.add(unit)
        await self.session.flush()
        return unit, True

    async def all(self) -> Sequence[Unit]:
        return (await self.session.exec(select(Unit).order_by(Unit.code))).all()
