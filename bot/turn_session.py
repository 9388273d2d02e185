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
    async with _sqlite_turn_queue(sessions), transaction(sessions) as session:
        token = _current.set(session)
        try:
            yield session
        finally:
            _current.reset(token)


_SQLITE_TURN_LOCKS: WeakKeyDictionary[async_sessionmaker[AsyncSession], asyncio.Lock] = (
    WeakKeyDictionary()
)


def _sqlite_turn_queue(
    sessions: async_sessionmaker[AsyncSession],
) -> AbstractAsyncContextManager[object]:
    """On SQLite, this process's turns take the database one after the other, in order.

    SQLite has one writer, and every turn writes first thing (the inbound-activity claim), so
    turns run one at a time there anyway. Without this they wait in SQLite's busy handler, which
    retries with growing sleeps (up to 100 ms): with 50 conversations at once some turns waited
    seconds. Queued here they wait exactly as long as the turns before them take.
    """
    bind = sessions.kw.get("bind")
    if bind is None or bind.dialect.name != "sqlite":
        return nullcontext()
    lock = _SQLITE_TURN_LOCKS.get(sessions)
    if lock is None:
        lock = _SQLITE_TURN_LOCKS[sessions] = asyncio.Lock()
    return lock


@asynccontextmanager
async def current_or_new(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """Join the turn's transaction if there is one, else run in a transaction of our own."""
    session = _current.get()
    if session is not None:
        yield session
        return
    async with transaction(sessions) as own:
        yield own
