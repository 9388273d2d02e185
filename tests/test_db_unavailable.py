"""The database is gone: readiness says so, people get an apology, nothing is half-written."""

from __future__ import annotations

import asyncio
import gc
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.app import create_app
from bot.settings import Settings
from storage.db import transaction
from tests.channel import TeamsChannel
from tests.conftest import POSTGRES_URL
from tests.connector import LocalConnector
from tests.db_snapshot import row_counts
from tests.stay_helpers import HANNA, seed_people, seed_stay

# Nothing listens on port 1: the connection is refused at once.
UNREACHABLE_POSTGRES = "postgresql+asyncpg://korttid:do-not-print-me@127.0.0.1:1/korttid"


async def _serve(database_url: str, clock: Any) -> TestServer:
    settings = Settings(database_url=database_url, env="dev", app_id="", scheduler_enabled=False)
    server = TestServer(create_app(settings, clock=clock, migrate=False), host="127.0.0.1")
    await server.start_server()
    return server


@pytest.fixture(params=["postgres", "sqlite"])
async def broken(
    request: pytest.FixtureRequest, tmp_path: Path, clock: Any
) -> AsyncIterator[TestServer]:
    """An app whose database cannot be reached: PostgreSQL down, or an SQLite file unopenable."""
    if request.param == "postgres":
        url = UNREACHABLE_POSTGRES
    else:
        folder = tmp_path / "korttid.db"
        folder.mkdir()  # a directory where the database file should be
        url = f"sqlite+aiosqlite:///{folder}"
    server = await _serve(url, clock)
    yield server
    await server.close()
    # aiosqlite leaves the worker thread of a connection that failed to open until it is
    # collected; collect it while this test's loop can still take its last callback.
    gc.collect()
    await asyncio.sleep(0.1)


async def test_readiness_is_503_and_liveness_stays_200(broken: TestServer) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(broken.make_url("/readyz")) as ready:
            body = await ready.text()
            status = ready.status
        async with http.get(broken.make_url("/healthz")) as health:
            assert health.status == 200  # the process lives; the orchestrator must not kill it

    assert status == 503
    assert "database unreachable" in body
    assert "do-not-print-me" not in body and "Traceback" not in body


async def test_a_turn_gets_an_apology(broken: TestServer, connector: LocalConnector) -> None:
    async with aiohttp.ClientSession() as http:
        channel = TeamsChannel(str(broken.make_url("")).rstrip("/"), connector, http)
        anna = channel.user("anna", "anna@kommun.se")
        replies = await channel.say(anna, "hjälp")

    assert len(replies) == 1
    assert "Förlåt, något gick fel hos mig och inget sparades" in replies[0].activity["text"]


async def test_a_failure_at_the_last_write_leaves_nothing_of_the_turn(
    channel: TeamsChannel, sessions: Any, clock: Any
) -> None:
    """The turn reads, records a conversation and an audit event, and fails at the audit.

    One transaction per turn: the conversation reference written before the failure is gone too.
    """
    await seed_people(sessions, HANNA)
    await seed_stay(sessions, clock, "ÄNG-042")
    hanna = channel.user("hanna", HANNA[0], HANNA[1])
    async with transaction(sessions) as session:
        await session.exec(text("DROP TABLE audit_event"))  # type: ignore[call-overload]
    before = await row_counts(sessions, skip={"audit_event"})

    replies = await channel.say(hanna, "vistelse ÄNG-042")

    assert "inget sparades" in replies[-1].activity["text"]
    assert await row_counts(sessions, skip={"audit_event"}) == before


@pytest.mark.skipif(not POSTGRES_URL, reason="PostgreSQL is not configured")
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_connections_the_server_dropped_cost_no_turn(
    channel: TeamsChannel, sessions: Any, database_url: str
) -> None:
    """PostgreSQL restarted (or a firewall cut idle connections): the pool's connections are
    dead. The next turn fails on one, is run again on a fresh connection, and answers."""
    await seed_people(sessions, HANNA)
    hanna = channel.user("hanna", HANNA[0], HANNA[1])
    assert "Hej Hanna" in _shown(await channel.say(hanna, "hjälp"))
    await _drop_connections(database_url)

    shown = _shown(await channel.say(hanna, "hjälp"))
    async with aiohttp.ClientSession() as http:
        await _drop_connections(database_url)
        async with http.get(f"{channel.bot_url}/readyz") as ready:
            status = ready.status

    assert "Hej Hanna" in shown
    assert "något gick fel" not in shown
    assert status == 200  # readiness, too, tries a fresh connection before it says no


async def _drop_connections(database_url: str) -> None:
    """What a PostgreSQL restart does to the app's pooled connections."""
    admin = create_async_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            dropped = await connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": database_url.rsplit("/", 1)[1]},
            )
            assert dropped.all()  # the app's pooled connections
    finally:
        await admin.dispose()


def _shown(replies: list[Any]) -> str:
    return json.dumps([reply.activity for reply in replies], ensure_ascii=False)
