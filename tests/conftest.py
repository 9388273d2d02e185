"""Fixtures: a fresh database per test (SQLite; PostgreSQL if configured), the app, the channel."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.app import CHAT_POSTS, SESSIONS, create_app
from bot.settings import Settings
from storage.domain.clock import FixedClock
from tests.channel import TeamsChannel
from tests.connector import LocalConnector

POSTGRES_URL = os.environ.get("KORTTID_TEST_POSTGRES_URL", "")
BACKENDS = ["sqlite"] + (["postgres"] if POSTGRES_URL else [])


@pytest.fixture(params=BACKENDS)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh, empty database for one test."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'korttid.db'}"
        return
    name = f"korttid_test_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
    base = POSTGRES_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        env="dev",
        app_id="",
        scheduler_enabled=False,
        # Tests deliver the outbox themselves, at the clock they choose; the delivery a turn
        # wakes at once (issue 15) is tested on its own in tests/test_delivery_at_once.py.
        deliver_at_once=False,
        admin_contact="Korttids administratör",
    )


@pytest.fixture
def clock() -> FixedClock:
    from datetime import UTC, datetime

    return FixedClock(datetime(2026, 11, 23, 8, 0, tzinfo=UTC))


@pytest.fixture
async def connector() -> AsyncIterator[LocalConnector]:
    local = LocalConnector()
    await local.start()
    yield local
    await local.close()


@pytest.fixture
async def app_server(settings: Settings, clock: FixedClock) -> AsyncIterator[TestServer]:
    server = TestServer(create_app(settings, clock=clock), host="127.0.0.1")
    await server.start_server()
    yield server
    await server.close()


@pytest.fixture
async def channel(app_server: TestServer, connector: LocalConnector) -> AsyncIterator[TeamsChannel]:
    async with aiohttp.ClientSession() as http:
        url = str(app_server.make_url("")).rstrip("/")
        yield TeamsChannel(url, connector, http, settle=app_server.app[CHAT_POSTS].idle)


@pytest.fixture
def sessions(app_server: TestServer):  # type: ignore[no-untyped-def]
    return app_server.app[SESSIONS]
