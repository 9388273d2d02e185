"""kill -9: the service dies in the middle of a meeting turn, and in the middle of a delivery pass.

Real processes (``korttid serve``, ``korttid tick``) on the test's database, talking to the local
connector in this process. The connector can hold a send: the process is killed while it waits,
with the turn's transaction open. The channel never acknowledged that send, so it counts as not
delivered, as it would be if Teams had not answered.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select

from bot.app import create_app
from bot.demo import seed_demo
from bot.settings import Settings
from storage import db
from storage.domain.clock import FixedClock
from storage.models import OutboxMessage
from tests.channel import TeamsChannel
from tests.connector import LocalConnector
from tests.meeting_helpers import HANDLAGGARE, seed_meeting_world, step_of, the_meeting

pytestmark = pytest.mark.slow
START_SECONDS = 60


class HoldingConnector(LocalConnector):
    """Holds the n-th send from now, and every later one, until released; a held send is never
    recorded. (The dispatcher sends a few at a time: the sends in flight behind the n-th are held
    too, so the count of those that got through is exact.)"""

    def __init__(self) -> None:
        super().__init__()
        self.hold_at: int | None = None
        self.held = asyncio.Event()
        self.release = asyncio.Event()

    def hold_send(self, number: int = 1) -> None:
        self.hold_at = number
        self.held.clear()
        self.release.clear()

    async def _post(self, request: web.Request) -> web.StreamResponse:
        if self.hold_at is not None and not self.release.is_set():
            self.hold_at -= 1
            if self.hold_at <= 0:
                self.held.set()
                await self.release.wait()
                return web.json_response({"error": {"code": "Gone"}}, status=503)
        return await super()._post(request)


def _environment(database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("Microsoft", "KORTTID_"))}
    env |= {
        "DATABASE_URL": database_url,
        "KORTTID_ENV": "dev",
        "KORTTID_SCHEDULER": "false",
        "KORTTID_LOG_LEVEL": "WARNING",
    }
    return env


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Service:
    """``korttid serve`` as a child process."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.port = _free_port()
        self.process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.cli",
            "serve",
            "--port",
            str(self.port),
            env=_environment(self.database_url),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        async with aiohttp.ClientSession() as http:
            for _ in range(START_SECONDS * 10):
                try:
                    async with http.get(f"{self.url}/readyz") as ready:
                        if ready.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        raise AssertionError("korttid serve did not get ready")

    async def kill_9(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        assert await self.process.wait() == -signal.SIGKILL

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            await self.process.wait()


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """The test's own view of the database the processes share."""
    own = db.create_engine(database_url)
    await db.upgrade(own)
    yield own
    await own.dispose()


@pytest.fixture
async def holding_connector() -> AsyncIterator[HoldingConnector]:
    local = HoldingConnector()
    await local.start()
    yield local
    local.release.set()
    await local.close()


async def test_kill_9_during_a_meeting_turn_and_between_turns(
    database_url: str, engine: AsyncEngine, holding_connector: HoldingConnector
) -> None:
    sessions = db.session_factory(engine)
    await seed_meeting_world(sessions)
    services = [Service(database_url) for _ in range(3)]
    async with aiohttp.ClientSession() as http:
        try:
            first = services[0]
            await first.start()
            channel = TeamsChannel(first.url, holding_connector, http)
            anna = channel.user("anna", HANDLAGGARE[0], HANDLAGGARE[1])
            await channel.say(anna, "uppföljning ÄNG-042")
            await channel.say(anna, "nästa")
            await channel.say(anna, "nästa")
            assert step_of(holding_connector.cards()[-1]) == 3

            # Killed while the turn waits on its reply: its transaction is open.
            holding_connector.hold_send()
            resent = channel.activity(anna, text="nästa")
            turn = asyncio.create_task(channel.post(resent))
            await asyncio.wait_for(holding_connector.held.wait(), 30)
            await first.kill_9()
            holding_connector.release.set()
            with pytest.raises(aiohttp.ClientError):
                await turn
            assert (await the_meeting(sessions)).current_step == 3  # nothing of it was kept

            # Restarted, Teams re-sends the activity it got no answer for: handled once.
            second = services[1]
            await second.start()
            channel.bot_url = second.url
            before = len(holding_connector.sent)
            assert (await channel.post(resent)).status == 200
            assert [step_of(c) for c in holding_connector.cards()[-1:]] == [4]
            assert (await channel.post(resent)).status == 200  # a second re-send: a duplicate
            assert len(holding_connector.sent) == before + 2  # step line, card update
            assert (await the_meeting(sessions)).current_step == 4

            # Killed between turns: the meeting resumes at its step in a new process.
            await second.kill_9()
            third = services[2]
            await third.start()
            channel.bot_url = third.url
            replies = await channel.say(anna, "nästa")
            cards = [a["content"] for r in replies for a in r.activity.get("attachments") or []]
            assert [step_of(c) for c in cards] == [5]
            assert (await the_meeting(sessions)).current_step == 5
        finally:
            for service in services:
                await service.stop()


async def _tick(database_url: str, now: str) -> tuple[asyncio.subprocess.Process, Any]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "tick",
        "--now",
        now,
        env=_environment(database_url),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    return process, process.stdout


async def test_kill_9_during_a_delivery_pass_loses_nothing_and_repeats_nothing(
    database_url: str, engine: AsyncEngine, holding_connector: HoldingConnector
) -> None:
    sessions = db.session_factory(engine)
    async with db.transaction(sessions) as session:
        await seed_demo(session, today=date(2026, 11, 23))
    # Everyone opens their chat with the bot once, so the nudges have somewhere to go.
    settings = Settings(database_url=database_url, env="dev", app_id="", scheduler_enabled=False)
    app = TestServer(
        create_app(settings, clock=FixedClock(datetime(2026, 11, 23, 7, 0, tzinfo=UTC)))
    )
    await app.start_server()
    async with aiohttp.ClientSession() as http:
        channel = TeamsChannel(str(app.make_url("")).rstrip("/"), holding_connector, http)
        for person in ("handlaggare", "handlaggare2", "sjukskoterska", "rehab", "omsorg"):
            await channel.say(channel.user(person, f"{person}@demo.korttid.se"), "hej")
        for person in ("koordinator", "boende", "chef", "admin"):
            await channel.say(channel.user(person, f"{person}@demo.korttid.se"), "hej")
    await app.close()
    holding_connector.clear()

    holding_connector.hold_send(3)  # two sends go through, the third hangs: kill -9 then
    killed, _ = await _tick(database_url, "2026-11-23T08:00")
    await asyncio.wait_for(holding_connector.held.wait(), START_SECONDS)
    # Killed once the two are recorded (a kill between a send and its record would send it
    # again: at least once at the channel's edge), with the sends behind them in flight.
    await _until_sent(sessions, 2)
    killed.send_signal(signal.SIGKILL)
    await killed.wait()
    holding_connector.release.set()
    assert len(holding_connector.sent) == 2
    assert "claimed" in {r.status for r in await _rows(sessions)}  # the pass was cut short

    # The next pass, after the dead claimer's lease (5 minutes) ran out, sends the rest.
    for now in ("2026-11-23T08:10", "2026-11-23T08:30"):
        process, out = await _tick(database_url, now)
        assert await process.wait() == 0
        assert b"tick at" in await out.read()

    rows = await _rows(sessions)
    assert {r.status for r in rows} == {"sent"}, [(r.kind, r.last_error) for r in rows]
    assert len(holding_connector.sent) == len(rows) > 3  # each once, none lost
    assert sorted(r.sent_activity_id or "" for r in rows) == sorted(
        s.activity_id or "" for s in holding_connector.sent
    )


async def _until_sent(sessions: Any, count: int) -> None:
    """Polls the database (another process writes it) until ``count`` rows are sent."""
    for _ in range(START_SECONDS * 50):
        if sum(r.status == "sent" for r in await _rows(sessions)) >= count:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"fewer than {count} rows were recorded as sent")


async def _rows(sessions: Any) -> list[OutboxMessage]:
    async with db.transaction(sessions) as session:
        return list((await session.exec(select(OutboxMessage))).all())
