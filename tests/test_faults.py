"""Faults in-process: concurrent turns from two instances, and the connector down for minutes.

The process-killing faults (kill -9 in a meeting, in a delivery pass) are in
``tests/test_kill.py``: they need real processes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import date, time, timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlmodel import col, select

from bot.app import CHAT_POSTS, NOTIFIER, create_app
from bot.settings import Settings
from storage.db import transaction
from storage.domain.clock import FixedClock
from storage.models import AuditEvent, OutboxMessage
from tests.channel import TeamsChannel
from tests.connector import LocalConnector
from tests.meeting_helpers import HANDLAGGARE, seed_meeting_world, step_of, the_meeting
from tests.nudging import add_stay, install_team, local

APOLOGY = "något gick fel hos mig"


@pytest.fixture
async def second_instance(
    settings: Settings, clock: FixedClock, app_server: TestServer, connector: LocalConnector
) -> AsyncIterator[TeamsChannel]:
    """Another instance of the app on the same database, as behind a load balancer."""
    server = TestServer(create_app(settings, clock=clock), host="127.0.0.1")
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as http:
            yield TeamsChannel(
                str(server.make_url("")).rstrip("/"),
                connector,
                http,
                settle=server.app[CHAT_POSTS].idle,
            )
    finally:
        await server.close()


async def test_concurrent_turns_on_one_conversation_are_put_in_order(
    channel: TeamsChannel, second_instance: TeamsChannel, sessions: Any
) -> None:
    """Four "Nästa" at once, spread over two instances: four steps, each card shown once."""
    await seed_meeting_world(sessions)
    anna = channel.user("anna", HANDLAGGARE[0], HANDLAGGARE[1])
    await channel.say(anna, "uppföljning ÄNG-042")
    assert step_of(channel.connector.cards()[-1]) == 1
    channel.connector.clear()

    instances = [channel, second_instance, channel, second_instance]
    posts = [instance.post(channel.activity(anna, text="nästa")) for instance in instances]
    responses = await asyncio.gather(*posts)

    assert [r.status for r in responses] == [200] * 4
    texts = "\n".join(channel.connector.texts())
    assert APOLOGY not in texts
    shown = sorted(step_of(card) for card in channel.connector.cards())
    assert shown == [2, 3, 4, 5]  # each turn saw the state the one before it left
    meeting = await the_meeting(sessions)
    assert meeting.current_step == 5
    async with transaction(sessions) as session:
        query = select(AuditEvent).where(AuditEvent.action == "meeting.step")
        steps = [e.detail["step"] for e in (await session.exec(query.order_by(col(AuditEvent.id))))]
    assert steps == [1, 2, 3, 4]
    # The dialog state is whole: the conversation goes on where the database says it is.
    await second_instance.post(channel.activity(anna, text="nästa"))  # ids from one channel
    assert step_of(channel.connector.cards()[-1]) == 6


def _down_until(clock: FixedClock, until: Any, calls: list[int]) -> Callable[[web.Request], Any]:
    """The connector answers 503 to every send while the (scaled) clock is before ``until``."""

    def failure(request: web.Request) -> web.Response | None:
        if request.method != "POST" or clock.now() >= until:
            return None
        calls.append(1)
        return web.json_response({"error": {"code": "ServiceUnavailable"}}, status=503)

    return failure


async def test_connector_down_for_five_minutes_then_everything_arrives_once(
    channel: TeamsChannel, sessions: Any, app_server: TestServer, clock: FixedClock
) -> None:
    await install_team(channel, sessions)
    monday = date(2026, 11, 23)
    for number in range(8):  # follow-up, readiness, home-going and long-stay nudges
        await add_stay(
            sessions,
            f"ÄNG-{100 + number:03d}",
            monday - timedelta(days=3 + 2 * number),
            home_going=monday + timedelta(days=1 + number % 2) if number % 2 else None,
            home_going_time=time(9 + number),
        )
    start = local(monday, 7)
    refused: list[int] = []
    channel.connector.failures.append(_down_until(clock, start + timedelta(minutes=5), refused))
    notifier = app_server.app[NOTIFIER]

    # The scheduler's 30-second ticks, on a clock that runs as fast as the test can go.
    for second in range(0, 3 * 60 * 60, 30):
        clock.set(start + timedelta(seconds=second))
        await notifier.tick(clock.now())

    async with transaction(sessions) as session:
        rows = list((await session.exec(select(OutboxMessage))).all())
    nudges = [r for r in rows if "digest" not in r.kind]
    assert refused, "the outage was felt"
    assert len(nudges) > 8
    assert {r.status for r in nudges} == {"sent"}  # none undeliverable, none lost
    assert all(r.attempts >= 2 for r in nudges if r.due_at <= start)  # they waited it out
    # Exactly once: every message the connector accepted is one sent row, and no row twice.
    # (Headlines are not unique: a manager's cards name the unit, not the stay.)
    accepted = [sent.activity_id for sent in channel.connector.sent]
    sent_rows = [r.sent_activity_id for r in rows if r.status == "sent"]
    assert len(accepted) == len(sent_rows)
    assert set(accepted) == set(sent_rows)
