"""The outbox: rows a tick or a turn writes, and the dispatcher delivers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Insert, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import on_postgres
from storage.models import OutboxMessage, OutboxStatus

# Rows per INSERT statement: a few hundred keep each statement's parameters well within
# SQLite's and asyncpg's limits while a morning's tens of thousands take a few dozen statements.
_BATCH = 500


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

    async def add_many_once(self, rows: Sequence[Mapping[str, Any]]) -> int:
        """Insert the rows whose key is not taken yet, in batches; returns how many went in.

        One ``INSERT ... ON CONFLICT (key) DO NOTHING`` per batch instead of a look-up and a
        savepoint per row: a key queued meanwhile by another instance is skipped, never doubled.
        Every row must name the same columns.
        """
        if not rows:
            return 0
        statement = self._insert_ignoring_taken_keys().returning(col(OutboxMessage.id))
        connection = await self.session.connection()
        inserted = 0
        for start in range(0, len(rows), _BATCH):
            # A list of parameter sets: SQLAlchemy sends each batch as one multi-row INSERT
            # ("insertmanyvalues") compiled once, and returns the ids of the rows it inserted.
            result = await connection.execute(statement, list(rows[start : start + _BATCH]))
            inserted += len(result.all())
        return inserted

    def _insert_ignoring_taken_keys(self) -> Insert:
        if on_postgres(self.session):
            return postgresql.insert(OutboxMessage).on_conflict_do_nothing(index_elements=["key"])
        return sqlite.insert(OutboxMessage).on_conflict_do_nothing(index_elements=["key"])

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
                col(OutboxMessage.status).in_((OutboxStatus.PENDING, OutboxStatus.WAITING)),
            )
            .values(status=OutboxStatus.WITHDRAWN, lease_until=None, last_error="withdrawn")
        )
        return int(result.rowcount or 0)

    async def give(self, message: OutboxMessage) -> None:
        """Record ``message`` as already given in a conversation: a new row with its key, or
        the undelivered row that has it, marked given, so that it is never sent."""
        if await self.add_once(message):
            return
        await self.session.exec(
            update(OutboxMessage)
            .where(
                col(OutboxMessage.key) == message.key,
                col(OutboxMessage.status).in_((OutboxStatus.PENDING, OutboxStatus.WAITING)),
            )
            .values(status=OutboxStatus.GIVEN, lease_until=None)
        )

    async def by_key(self, key: str) -> OutboxMessage | None:
        result = await self.session.exec(select(OutboxMessage).where(OutboxMessage.key == key))
        return result.first()
