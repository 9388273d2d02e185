"""The outbox: rows a tick or a turn writes, and the dispatcher delivers."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import OutboxMessage, OutboxStatus


class OutboxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_once(self, message: OutboxMessage) -> bool:
        """Insert unless a row with the same key exists; True when inserted."""
        exists = await self.session.exec(
            select(OutboxMessage.id).where(OutboxMessage.key == message.key)
        )
        if exists.first() is not None:
            return False
        try:
            async with self.session.begin_nested():
                self.session.add(message)
        except IntegrityError:  # another instance inserted it meanwhile
            return False
        return True

    async def withdraw(self, stay_id: int, kinds: Iterable[str]) -> int:
        """Withdraw undelivered messages about a stay whose facts changed."""
        wanted = list(kinds)
        if not wanted:
            return 0
        result = await self.session.exec(
            update(OutboxMessage)
            .where(
                col(OutboxMessage.stay_id) == stay_id,
                col(OutboxMessage.kind).in_(wanted),
                col(OutboxMessage.status) == OutboxStatus.PENDING,
            )
            .values(status=OutboxStatus.WITHDRAWN, lease_until=None, last_error="withdrawn")
        )
        return int(result.rowcount or 0)

    async def by_key(self, key: str) -> OutboxMessage | None:
        result = await self.session.exec(select(OutboxMessage).where(OutboxMessage.key == key))
        return result.first()
