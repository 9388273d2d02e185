"""Queuing many nudges at once (the morning tick's bulk insert) still queues each key once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from notifications.outbox import enqueue, enqueue_many, outbox_row
from storage import db
from storage.models import OutboxMessage, OutboxStatus

DUE = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = db.create_engine(database_url)
    await db.upgrade(engine)
    yield db.session_factory(engine)
    await engine.dispose()


def row(key: str, **changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "key": key,
        "kind": "nudge_long_stay",
        "template": "nudge_long_stay",
        "payload": {"key": key},
        "due_at": DUE,
    }
    return outbox_row(**(values | changes))


async def keys_in_outbox(sessions: async_sessionmaker[AsyncSession]) -> list[str]:
    async with db.transaction(sessions) as session:
        result = await session.exec(select(OutboxMessage.key).order_by(col(OutboxMessage.id)))
        return list(result.all())


async def test_a_bulk_queue_skips_keys_already_queued_and_counts_only_new_rows(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with db.transaction(sessions) as session:
        await enqueue(
            session,
            key="k-0500",
            kind="nudge_long_stay",
            template="nudge_long_stay",
            payload={"first": True},
            due_at=DUE,
        )
    # More rows than one INSERT takes, one key already queued and one given twice.
    rows = [row(f"k-{n:04d}") for n in range(1200)] + [row("k-0007", payload={"again": True})]
    async with db.transaction(sessions) as session:
        assert await enqueue_many(session, rows) == 1199
    async with db.transaction(sessions) as session:
        assert await enqueue_many(session, rows) == 0
        assert await enqueue_many(session, []) == 0

    keys = await keys_in_outbox(sessions)
    assert len(keys) == len(set(keys)) == 1200
    assert keys[1:] == [f"k-{n:04d}" for n in range(1200) if n != 500]  # in the order given
    async with db.transaction(sessions) as session:
        kept = await session.exec(
            select(OutboxMessage).where(col(OutboxMessage.key).in_(["k-0500", "k-0007"]))
        )
        by_key = {message.key: message for message in kept.all()}
    assert by_key["k-0500"].payload == {"first": True}  # the row queued first is left alone
    assert by_key["k-0007"].payload == {"key": "k-0007"}
    queued = by_key["k-0007"]
    assert queued.status == OutboxStatus.PENDING
    assert queued.next_attempt_at == queued.due_at
    assert queued.attempts == 0
