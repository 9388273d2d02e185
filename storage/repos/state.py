"""Bot state rows with eTag optimistic concurrency."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import BotStateItem, utcnow


class ETagConflict(Exception):
    """The stored item changed since it was read."""


class StateRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def read(self, keys: Iterable[str]) -> dict[str, tuple[str, str]]:
        """key -> (etag, serialized data), for the keys that exist."""
        wanted = list(keys)
        if not wanted:
            return {}
        result = await self.session.exec(
            select(BotStateItem).where(col(BotStateItem.key).in_(wanted))
        )
        return {item.key: (item.etag, item.data) for item in result.all()}

    async def write(self, key: str, data: str, expected_etag: str | None) -> str:
        """Store ``data``; with an expected eTag (not ``*``) only if it still matches.

        Returns the new eTag; raises ``ETagConflict`` when another writer got there first.
        """
        new_etag = uuid.uuid4().hex
        if expected_etag and expected_etag != "*":
            result = await self.session.exec(
                update(BotStateItem)
                .where(col(BotStateItem.key) == key, col(BotStateItem.etag) == expected_etag)
                .values(data=data, etag=new_etag, updated_at=utcnow())
            )
            if result.rowcount != 1:
                raise ETagConflict(key)
            return new_etag
        existing = await self.session.get(BotStateItem, key)
        if existing is not None:
            existing.data, existing.etag, existing.updated_at = data, new_etag, utcnow()
            self.session.add(existing)
            await self.session.flush()
            return new_etag
        try:
            async with self.session.begin_nested():
                self.session.add(BotStateItem(key=key, etag=new_etag, data=data))
        except IntegrityError as error:
            raise ETagConflict(key) from error
        return new_etag

    async def delete(self, keys: Iterable[str]) -> None:
        wanted = list(keys)
        if wanted:
            await self.session.exec(delete(BotStateItem).where(col(BotStateItem.key).in_(wanted)))
