"""Inbound activity ids, so a re-sent activity is handled once."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import on_postgres, table_of
from storage.models import InboundActivity, utcnow

# A channel re-sends an activity within seconds or minutes; a day covers every retry. Claims under
# GREETING_PREFIX are not activities but "this conversation was greeted", kept for good.
DEDUP_WINDOW = timedelta(hours=24)
GREETING_PREFIX = "greeting|"


# Every turn's first write, built once for each database.
_CLAIM_POSTGRESQL = postgresql_insert(table_of(InboundActivity)).on_conflict_do_nothing(
    index_elements=["activity_id"]
)
_CLAIM_SQLITE = sqlite_insert(table_of(InboundActivity)).on_conflict_do_nothing(
    index_elements=["activity_id"]
)


class InboundActivityRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def claim(self, activity_id: str) -> bool:
        """True the first time an id is seen; False for a duplicate.

        Every turn starts here, so it is one ``INSERT ... ON CONFLICT DO NOTHING`` (both
        databases have it) rather than an ORM insert in a savepoint: three statements and a
        flush fewer per turn. A concurrent duplicate waits for the first one's commit, as before.
        """
        claim = _CLAIM_POSTGRESQL if on_postgres(self.session) else _CLAIM_SQLITE
        params = {"activity_id": activity_id, "received_at": utcnow()}
        result = await self.session.exec(claim, params=params)
        return result.rowcount == 1

    async def forget(self, key: str) -> None:
        await self.session.exec(
            delete(InboundActivity).where(col(InboundActivity.activity_id) == key)
        )

    async def forget_before(self, cutoff: datetime) -> int:
        """Forget activity ids received before ``cutoff`` (greetings stay); returns how many."""
        result = await self.session.exec(
            delete(InboundActivity).where(
                col(InboundActivity.received_at) < cutoff,
                col(InboundActivity.activity_id).not_like(f"{GREETING_PREFIX}%"),
            )
        )
        return int(result.rowcount or 0)
