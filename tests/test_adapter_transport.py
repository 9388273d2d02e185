"""Replies travel over one kept-alive aiohttp session: what the person sees when the path hiccups.

The connector stands where Teams' is; its hooks play the gateway's 502/504, a kept-alive connection
it had closed, and a 429 that must reach the dispatcher instead of being waited out in the send.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from bot.adapter import SEND_ATTEMPTS
from tests.channel import TeamsChannel, TeamsUser
from tests.helpers import card_texts, seed_staff
from tests.meeting_helpers import HANDLAGGARE, seed_meeting_world, step_of, the_meeting

APOLOGY = "något gick fel hos mig"

Hook = Callable[[web.Request], web.StreamResponse | None]


def first_posts(count: int, answer: Callable[[web.Request], web.StreamResponse]) -> Hook:
    """``answer`` for the first ``count`` POSTs, then the connector as usual."""
    seen: list[int] = []

    def hook(request: web.Request) -> web.StreamResponse | None:
        if request.method != "POST" or len(seen) >= count:
            return None
        seen.append(1)
        return answer(request)

    return hook


def gateway_error(status: int) -> Callable[[web.Request], web.StreamResponse]:
    return lambda _request: web.json_response({"error": {"code": "BadGateway"}}, status=status)


def hang_up(request: web.Request) -> web.StreamResponse:
    """Close the connection without answering, as a server that dropped an idle one."""
    assert request.transport is not None
    request.transport.close()
    return web.Response()


async def _anna(channel: TeamsChannel, sessions: Any) -> TeamsUser:
    await seed_staff(sessions, ("anna@kommun.se", "Anna Handläggare", "handlaggare", "ÄNG"))
    return channel.user("anna", "anna@kommun.se", "Anna Handläggare")


async def test_a_reply_the_gateway_refused_once_arrives_once(
    channel: TeamsChannel, sessions: Any
) -> None:
    anna = await _anna(channel, sessions)
    channel.connector.failures.append(first_posts(1, gateway_error(502)))

    await channel.say(anna, "hjälp")

    cards = channel.connector.cards()
    assert len(cards) == 1
    assert "Hej Anna Handläggare!" in card_texts(cards[0])
    assert APOLOGY not in "\n".join(channel.connector.texts())


async def test_a_reply_on_a_connection_the_connector_closed_is_sent_again(
    channel: TeamsChannel, sessions: Any
) -> None:
    anna = await _anna(channel, sessions)
    await channel.say(anna, "hjälp")  # the connection to the connector is now kept alive
    channel.connector.failures.append(first_posts(1, hang_up))

    await channel.say(anna, "hjälp")

    assert len(channel.connector.cards()) == 2


async def test_a_gateway_down_for_longer_is_not_waited_out_forever(
    channel: TeamsChannel, sessions: Any
) -> None:
    anna = await _anna(channel, sessions)
    channel.connector.failures.append(first_posts(100, gateway_error(504)))

    response = await channel.post(channel.activity(anna, text="hjälp"))

    assert response.status == 200  # the turn ends; nothing reached the person
    assert channel.connector.sent == []


async def test_a_throttled_reply_is_not_waited_out_and_not_apologised_for(
    channel: TeamsChannel, sessions: Any
) -> None:
    anna = await _anna(channel, sessions)
    posts: list[str] = []

    def throttle(request: web.Request) -> web.StreamResponse | None:
        posts.append(request.path)
        return web.json_response({}, status=429, headers={"Retry-After": "30"})

    channel.connector.failures.append(throttle)

    response = await channel.post(channel.activity(anna, text="hjälp"))

    assert response.status == 200
    # One try: the transport leaves a 429 to its caller. And no apology after it: the turn was
    # saved, and the apology would say that nothing was.
    assert len(posts) == 1


async def test_a_saved_step_whose_reply_was_lost_gets_no_apology(
    channel: TeamsChannel, sessions: Any
) -> None:
    """The apology says nothing was saved. After a saved step that would be untrue, and the
    person would say "nästa" again and skip a step of the meeting."""
    await seed_meeting_world(sessions)
    anna = channel.user("anna", HANDLAGGARE[0], HANDLAGGARE[1])
    await channel.say(anna, "uppföljning ÄNG-042")
    channel.connector.failures.append(first_posts(SEND_ATTEMPTS, gateway_error(502)))
    posts_before = len(channel.connector.posts())

    response = await channel.post(channel.activity(anna, text="nästa"))

    assert response.status == 200
    assert (await the_meeting(sessions)).current_step == 2
    # Neither the step line nor an apology was posted (the card itself is updated in place).
    assert channel.connector.posts()[posts_before:] == []
    assert len(channel.connector.posts()) == posts_before
    channel.connector.failures.clear()
    await channel.say(anna, "nästa")
    assert step_of(channel.connector.cards()[-1]) == 3
