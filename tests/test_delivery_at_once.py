"""Told means told, at once (issue 15, item 7): a turn that queued messages wakes delivery in its
process, so they leave within seconds, with a clock that never ticks and no scheduler running."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.app import CHAT_POSTS, NOTIFIER, SESSIONS, create_app
from bot.settings import Settings
from storage.domain.clock import FixedClock
from tests.cards import assert_valid_card
from tests.channel import TeamsChannel, TeamsUser
from tests.connector import LocalConnector
from tests.helpers import card_texts, seed_staff
from tests.meeting_helpers import COORDINATOR, HANDLAGGARE, NURSE, outbox, seed_meeting_world

REHAB = ("rut@kommun.se", "Rut Rehab", "rehab", "ÄNG")
PROMPTLY_S = 2.0


@pytest.fixture
async def at_once(
    settings: Settings, clock: FixedClock, connector: LocalConnector
) -> AsyncIterator[tuple[TeamsChannel, TestServer]]:
    """The app as it runs in production: delivery at once on; no tick ever runs."""
    app = create_app(settings.model_copy(update={"deliver_at_once": True}), clock=clock)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    async with aiohttp.ClientSession() as http:
        yield (
            TeamsChannel(
                str(server.make_url("")).rstrip("/"), connector, http, settle=app[CHAT_POSTS].idle
            ),
            server,
        )
    await server.close()


def user(channel: TeamsChannel, row: tuple[str, str, str, str]) -> TeamsUser:
    return channel.user(row[0].split("@")[0], row[0], row[1])


async def arrives(channel: TeamsChannel, person: TeamsUser, count: int) -> list[dict[str, Any]]:
    """The person's cards once there are ``count``, waiting at most ``PROMPTLY_S``."""
    for _ in range(int(PROMPTLY_S / 0.02)):
        if len(channel.connector.cards(person.conversation_id)) >= count:
            break
        await asyncio.sleep(0.02)
    return channel.connector.cards(person.conversation_id)


async def test_the_coordinator_hears_of_the_home_going_seconds_after_the_meeting(
    at_once: tuple[TeamsChannel, TestServer],
) -> None:
    channel, server = at_once
    sessions = server.app[SESSIONS]
    await seed_meeting_world(sessions)
    anna, karin = user(channel, HANDLAGGARE), user(channel, COORDINATOR)
    await channel.say(karin, "hjälp")  # her chat is known
    await channel.say(anna, "uppföljning ÄNG-042")
    for _ in range(7):
        await channel.say(anna, "nästa")
    for answer in ("hemgång", "3 dec", "9.30", "färdtjänst", "ja", "Hemtjänst Centrum"):
        await channel.say(anna, answer)
    for answer in ("010-123 45 67", "nej", "nej", "nästa", "nästa"):
        await channel.say(anna, answer)

    cards = await arrives(channel, karin, 2)  # her help card, then the notice: no tick ran

    assert len(cards) == 2
    assert_valid_card(cards[-1])
    assert "Hemgång planerad: ÄNG-042" in card_texts(cards[-1])
    # The tick that comes later (once the pass has recorded its send) finds it sent: once.
    await recorded(sessions, "home_going_set")
    await server.app[NOTIFIER].tick(_later())
    later = channel.connector.cards(karin.conversation_id)
    assert len(later) == 2, [card_texts(c)[:300] for c in later[2:]]


async def recorded(sessions: Any, kind: str) -> None:
    """Until the delivery pass has written down what it sent."""
    for _ in range(100):
        rows = [row for row in await outbox(sessions) if row.kind == kind]
        if rows and all(row.status == "sent" for row in rows):
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{kind} not recorded as sent")


async def settled(sessions: Any, kind: str) -> None:
    for _ in range(100):
        rows = [row for row in await outbox(sessions) if row.kind == kind]
        if rows and all(r.status == "sent" or r.attempts > 0 for r in rows):
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{kind} not settled")


def _later() -> Any:
    from datetime import UTC, datetime

    return datetime(2026, 11, 23, 8, 10, tzinfo=UTC)


def fail_first_post_to(conversation_id: str) -> Any:
    failed: list[int] = []

    def hook(request: web.Request) -> web.StreamResponse | None:
        if request.method != "POST" or failed or conversation_id not in request.path:
            return None
        failed.append(1)
        return web.json_response({"error": {"code": "BadGateway"}}, status=502)

    return hook


async def test_every_invitation_arrives_once_though_the_connector_fails_once(
    at_once: tuple[TeamsChannel, TestServer], clock: FixedClock
) -> None:
    channel, server = at_once
    sessions = server.app[SESSIONS]
    await seed_meeting_world(sessions)
    await seed_staff(sessions, REHAB)
    anna, sara, rut = user(channel, HANDLAGGARE), user(channel, NURSE), user(channel, REHAB)
    for person in (sara, rut):
        await channel.say(person, "hjälp")
    channel.connector.failures.append(fail_first_post_to(sara.conversation_id))

    await channel.say(anna, "kalla ÄNG-042")
    for answer in ("imorgon", "10", "på enheten", "Rum 3", "alla"):
        await channel.say(anna, answer)

    rut_cards = await arrives(channel, rut, 2)
    assert "Kallelse till uppföljningsmöte: ÄNG-042" in card_texts(rut_cards[-1])
    await settled(sessions, "meeting_call_invite")  # sent, or Sara's retry scheduled
    # Sara's first send failed: it is retried after a backoff, by the tick, and sent once.
    for minutes in (1, 5, 30):
        await server.app[NOTIFIER].tick(clock.now() + timedelta(minutes=minutes))
    sara_cards = channel.connector.cards(sara.conversation_id)
    rut_cards = channel.connector.cards(rut.conversation_id)
    invitations = [c for c in sara_cards + rut_cards if "Kallelse till" in card_texts(c)]
    assert len(invitations) == 2
    rows = [row for row in await outbox(sessions) if row.kind == "meeting_call_invite"]
    assert sorted(row.status for row in rows) == ["sent", "sent"]
    assert len({row.key for row in rows}) == 2
