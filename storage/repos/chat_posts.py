"""What a pressed turn sends after answering (issue 16): kept until it went."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, delete, or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import table_of
from storage.models import ChatPost

POST = "post"
UPDATE = "update"


# A row that went, and with it every older card update of its conversation (a newer card won).
# Built once, on the table so that a list of rows runs as one executemany.
_TABLE = table_of(ChatPost)
_DONE = delete(_TABLE).where(
    or_(
        _TABLE.c.id == bindparam("row_id"),
        and_(
            _TABLE.c.conversation_id == bindparam("conversation_id"),
            _TABLE.c.kind == UPDATE,
            _TABLE.c.id <= bindparam("update_id"),
        ),
    )
)


class ChatPostRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(
        self,
        conversation_id: str,
        kind: str,
        body: dict[str, Any],
        *,
        activity_id: str | None,
        next_attempt_at: datetime,
    ) -> ChatPost:
        """Queue one message, written with the transaction's last flush (its commit), so a
        press pays no round trip of its own; its id (row order) is set by then."""
        row = ChatPost(
            conversation_id=conversation_id,
            kind=kind,
            body=body,
            activity_id=activity_id,
            next_attempt_at=next_attempt_at,
        )
        self.session.add(row)
        return row

    async def due(self, now: datetime, limit: int) -> list[ChatPost]:
        """Rows whose first send failed or was never made (a process stopped), oldest first."""
        query = (
            select(ChatPost)
            .where(col(ChatPost.next_attempt_at) <= now)
            .order_by(col(ChatPost.id))
            .limit(limit)
        )
        return list((await self.session.exec(query)).all())

    async def done(self, conversation_id: str, ids: Sequence[int], update_id: int | None) -> None:
        """These rows went; so did every older update of the conversation (a newer card won)."""
        await self.done_in_all([(conversation_id, ids, update_id)])

    async def done_in_all(self, sent: Sequence[tuple[str, Sequence[int], int | None]]) -> None:
        """``done`` for several conversations at once: one statement, run for each row."""
        params = [
            {"row_id": row_id, "conversation_id": conversation_id, "update_id": update_id or 0}
            for conversation_id, row_ids, update_id in sent
            for row_id in row_ids or [0]
        ]
        if params:
            await self.session.exec(_DONE, params=params)

    async def retry_later(
        self, ids: Sequence[int], *, attempts: int, next_attempt_at: datetime, error: str
    ) -> None:
        await self.session.exec(
            update(ChatPost)
            .where(col(ChatPost.id).in_(list(ids)))
            .values(attempts=attempts, next_attempt_at=next_attempt_at, last_error=error[:200])
        )

    async def drop(self, ids: Sequence[int]) -> None:
        await self.session.exec(delete(ChatPost).where(col(ChatPost.id).in_(list(ids))))
