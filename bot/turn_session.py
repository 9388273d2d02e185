"""The database session of the turn in progress, so bot state commits with the turn's facts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from contextvars import ContextVar
from weakref import WeakKeyDictionary

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import transaction

_current: ContextVar[AsyncSession | None] = ContextVar("korttid_turn_session", default=None)


@asynccontextmanager
async def turn_transaction(
    sessions: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """Open the turn's transaction and make it the current one for nested users."""
    async with _turn_queue(sessions), transaction(sessions) as session:
        token = _current.set(session)
        try:
            yield session
        finally:
            _current.reset(token)


# Turns of this process in their transactions at once, on PostgreSQL: two, so that one's CPU
# work overlaps the other's waits on the database, while a burst of presses is answered in
# order instead of all of them slowly at once (bench: p99 69.8 ms unbounded, 53-55 ms at 1-2).
POSTGRES_TURNS_AT_ONCE = 2

_TURN_QUEUES: WeakKeyDictionary[async_sessionmaker[AsyncSession], asyncio.Semaphore] = (
    WeakKeyDictionary()
)


def _turn_queue(sessions: async_sessionmaker[AsyncSession]) -> AbstractAsyncContextManager[object]:
    """This process's turns take the database in order, a few at a time.

    On SQLite one at a time: SQLite has one writer, and every turn writes first thing (the
    inbound-activity claim), so turns run one at a time there anyway. Without this they wait in
    SQLite's busy handler, which retries with growing sleeps (up to 100 ms): with 50
    conversations at once some turns waited seconds. Queued here they wait exactly as long as the
    turns before them take. On PostgreSQL ``POSTGRES_TURNS_AT_ONCE``: the event loop is one, and
    twenty turns interleaved on it all finish late together.
    """
    bind = sessions.kw.get("bind")
    if bind is None:
        return nullcontext()
    queue = _TURN_QUEUES.get(sessions)
    if queue is None:
        at_once = 1 if bind.dialect.name == "sqlite" else POSTGRES_TURNS_AT_ONCE
        queue = _TURN_QUEUES[sessions] = asyncio.Semaphore(at_once)
    return queue


@asynccontextmanager
async def current_or_new(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """Join the turn's transaction if there is one, else run in a transaction of our own."""
    session = _current.get()
    if session is not None:
        yield session
        return
    async with transaction(sessions) as own:
        yield own
