"""Inbound activity ids, so a re-sent activity is handled once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import InboundActivity


class InboundActivityRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def claim(self, activity_id: str) -> bool:
        """True the first time an id is seen; False for a duplicate."""
        try:
            async with self.session.begin_nested():
                self.session.add(InboundActivity(activity_id=activity_id))
        except IntegrityError:
            return False
        return True

    async def forget(self, key: str) -> None:
        await self.session.exec(delete(InboundActivity).where(col(InboundActivity.activity_id) == key))

    async def forget_before(self, cutoff: datetime) -> None:
        await self.session.exec(
            delete(InboundActivity).where(col(InboundActivity.received_at) < cutoff)
        )
