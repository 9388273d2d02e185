"""The database session of the turn in progress, so bot state commits with the turn's facts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import transaction

_current: ContextVar[AsyncSession | None] = ContextVar("korttid_turn_session", default=None)


@asynccontextmanager
async def turn_transaction(
    sessions: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """Open the turn's transaction and make it the current one for nested users."""
    async with transaction(sessions) as session:
        token = _current.set(session)
        try:
            yield session
        finally:
            _current.reset(token)


@asynccontextmanager
async def current_or_new(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """Join the turn's transaction if there is one, else run in a transaction of our own."""
    session = _current.get()
    if session is not None:
        yield session
        return
    async with transaction(sessions) as own:
        yield own
