"""Bot state rows with eTag optimistic concurrency."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import bindparam, delete, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import NO_AUTOFLUSH, table_of
from storage.models import BotStateItem, utcnow


class ETagConflict(Exception):
    """The stored item changed since it was read."""


# Every turn reads its dialog state and writes it back: both statements are built once.
_READ = select(BotStateItem).where(col(BotStateItem.key).in_(bindparam("keys", expanding=True)))
_STATE = table_of(BotStateItem)  # a Core update: no ORM session sync of the items read
_WRITE_IF_UNCHANGED = (
    update(_STATE)
    .where(_STATE.c.key == bindparam("item_key"), _STATE.c.etag == bindparam("expected_etag"))
    .values(data=bindparam("new_data"), etag=bindparam("new_etag"), updated_at=bindparam("now"))
)


class StateRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def read(self, keys: Iterable[str]) -> dict[str, tuple[str, str]]:
        """key -> (etag, serialized data), for the keys that exist."""
        wanted = list(keys)
        if not wanted:
            return {}
        result = await self.session.exec(_READ, params={"keys": wanted})
        return {item.key: (item.etag, item.data) for item in result.all()}

    async def write(self, key: str, data: str, expected_etag: str | None) -> str:
        """Store ``data``; with an expected eTag (not ``*``) only if it still matches.

        Returns the new eTag; raises ``ETagConflict`` when another writer got there first.
        """
        new_etag = uuid.uuid4().hex
        if expected_etag and expected_etag != "*":
            params = {
                "item_key": key,
                "expected_etag": expected_etag,
                "new_data": data,
                "new_etag": new_etag,
                "now": utcnow(),
            }
            result = await self.session.exec(
                _WRITE_IF_UNCHANGED, params=params, execution_options=NO_AUTOFLUSH
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
