"""A press in a shared chat is answered first; the chat's card is updated just after (issue 16).

The update the other members see (and any history line) is saved with the turn, before the
answer, and sent after it: a press never waits for the connector. A send that fails stays saved
and a later tick sends it, newest card only; nothing is lost.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlmodel import select

from bot.app import CHAT_POSTS
from storage.db import transaction
from storage.domain.clock import FixedClock
from storage.models import ChatPost
from tests.channel import TeamsChannel
from tests.test_meeting_shared import (
    GROUP,
    answered_card,
    cards,
    group_of_four,
    in_group,
    press,
    texts,
    topic_ids,
)


async def saved_posts(sessions: Any) -> list[ChatPost]:
    async with transaction(sessions) as session:
        return list((await session.exec(select(ChatPost))).all())


def puts_refused(
    refused: list[str] | None = None,
) -> Callable[[web.Request], web.Response | None]:
    """A connector failure: message updates (PUT) answered 503, their paths noted in ``refused``."""

    def unavailable(request: web.Request) -> web.Response | None:
        if request.method != "PUT":
            return None
        if refused is not None:
            refused.append(request.path)
        return web.json_response({"error": {"code": "ServiceUnavailable"}}, status=503)

    return unavailable


async def at_step_three(channel: TeamsChannel, sessions: Any) -> tuple[Any, Any, dict[str, Any]]:
    anna, sara, _per, _ulla = await group_of_four(channel, sessions)
    [card] = cards(await channel.say(anna, "uppföljning ÄNG-042", **in_group()))
    for _ in range(2):
        card = answered_card((await press(channel, anna, card, "Nästa"))[0])
    return anna, sara, card


async def test_the_press_is_answered_while_the_card_update_is_still_on_its_way(
    channel: TeamsChannel, sessions: Any, app_server: TestServer
) -> None:
    _anna, sara, card = await at_step_three(channel, sessions)
    connector = channel.connector
    [posted] = [s for s in connector.posts(GROUP) if cards([s])]
    before = len(connector.updates(GROUP))
    connector.put_gate = asyncio.Event()  # the connector takes its time with message updates
    async with aiohttp.ClientSession() as http:
        unsettled = TeamsChannel(channel.bot_url, connector, http)  # does not wait for the chat
        unsettled._ids = channel._ids
        topic = topic_ids(card)[0]
        async with asyncio.timeout(10):  # before this change the answer waited for the update
            body, _sent = await press(unsettled, sara, card, "Spara", **{topic: "true"})
    answered = answered_card(body)
    assert len(connector.updates(GROUP)) == before  # answered; the chat's card not yet updated
    [saved] = await saved_posts(sessions)  # but saved with the turn: a restart would send it
    assert saved.kind == "update" and saved.activity_id == posted.activity_id

    connector.put_gate.set()
    await app_server.app[CHAT_POSTS].idle()
    [update] = connector.updates(GROUP)[before:]
    assert update.activity_id == posted.activity_id  # the one card of the chat, in place
    assert cards([update]) == [answered]  # the others see what the presser saw
    assert await saved_posts(sessions) == []


async def test_a_card_update_the_connector_refused_is_sent_by_a_later_tick(
    channel: TeamsChannel, sessions: Any, app_server: TestServer, clock: FixedClock
) -> None:
    anna, sara, card = await at_step_three(channel, sessions)
    connector = channel.connector
    [posted] = [s for s in connector.posts(GROUP) if cards([s])]
    refused: list[str] = []
    unavailable = puts_refused(refused)
    connector.failures.append(unavailable)
    before = len(connector.updates(GROUP))
    first = topic_ids(card)[0]
    body, _sent = await press(channel, sara, card, "Spara", **{first: "true"})
    card = answered_card(body)
    body, sent = await press(channel, anna, card, "Nästa")  # a history line and the card
    newest = answered_card(body)
    assert refused and len(connector.updates(GROUP)) == before
    assert any("Steg 3 klart" in t for t in texts(sent))  # a line is a post: it went
    kept = await saved_posts(sessions)
    assert {p.kind for p in kept} == {"update"} and all(p.attempts == 1 for p in kept)

    chat_posts = app_server.app[CHAT_POSTS]
    assert await chat_posts.send_due(clock.now()) == 0  # not due yet: backoff
    connector.failures.remove(unavailable)
    clock.set(clock.now() + timedelta(minutes=2))
    assert await chat_posts.send_due(clock.now()) == len(kept)
    [update] = connector.updates(GROUP)[before:]  # the newest card only, once
    assert update.activity_id == posted.activity_id
    assert cards([update]) == [newest]
    assert await saved_posts(sessions) == []


async def test_the_next_turn_deletes_what_went_with_its_own_write(
    channel: TeamsChannel, sessions: Any, app_server: TestServer, monkeypatch: Any
) -> None:
    """A sent card's row costs no transaction of its own: the next turn deletes it; a turn that
    fails gives it back, and it is deleted later, never lost before it went."""
    import bot.chat_posts

    _anna, sara, card = await at_step_three(channel, sessions)
    monkeypatch.setattr(bot.chat_posts, "FINISH_WAIT_SECONDS", 3600.0)  # no write of its own
    connector = channel.connector
    before = len(connector.updates(GROUP))
    async with aiohttp.ClientSession() as http:
        unsettled = TeamsChannel(channel.bot_url, connector, http)  # does not wait for the chat
        unsettled._ids = channel._ids
        topic = topic_ids(card)[0]
        await press(unsettled, sara, card, "Spara", **{topic: "true"})
        async with asyncio.timeout(10):
            await app_server.app[CHAT_POSTS].sent()  # the update went after the answer
        assert len(connector.updates(GROUP)) == before + 1
        [sent] = await saved_posts(sessions)
        await unsettled.say(sara, "hjälp", **in_group())  # any turn that writes
        assert await saved_posts(sessions) == []
        assert sent.kind == "update"
