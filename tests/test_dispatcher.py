"""Delivery over real HTTP to a local connector that fails the way Teams does: 429 with
Retry-After, 503s, 403. Delivered exactly once where possible, otherwise undeliverable and
visible: never lost."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.app import NOTIFIER
from bot.notify_commands import cmd_outbox_list
from bot.settings import Settings
from notifications.dispatcher import Dispatcher, retry_after_delay
from notifications.outbox import enqueue
from notifications.ratelimit import RateLimiter
from storage.db import transaction
from storage.domain.clock import FixedClock
from storage.models import ConversationKind, ConversationRef, OutboxMessage
from storage.repos.conversations import ConversationRepository
from storage.repos.delivery import DeliveryRepository
from storage.repos.units import UnitRepository
from tests.cards import assert_valid_card
from tests.channel import TeamsChannel
from tests.helpers import seed_staff
from tests.nudging import headline, install_team, outbox, staff_id

Sessions = async_sessionmaker[AsyncSession]
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # Monday 09:00 in Stockholm


def dispatcher_of(app_server: TestServer) -> Dispatcher:
    return app_server.app[NOTIFIER].dispatcher


async def queue(sessions: Sessions, recipient: int, key: str, *, at: datetime = NOW) -> None:
    async with transaction(sessions) as session:
        await enqueue(
            session,
            key=key,
            kind="nudge_long_stay",
            template="nudge_long_stay",
            payload={
                "stay_id": 1,
                "case_code": "ÄNG-042",
                "room": None,
                "day_number": 14,
                "arrival_text": "tisdag 10 november 2026",
            },
            due_at=at,
            recipient_staff_id=recipient,
        )


def script(
    conversation: str, *answers: web.Response
) -> Callable[[web.Request], web.Response | None]:
    """The connector answers a conversation's sends with these, in order, then accepts."""
    remaining = list(answers)

    def failure(request: web.Request) -> web.Response | None:
        if request.match_info["cid"] != conversation or not remaining:
            return None
        return remaining.pop(0)

    return failure


def error(status: int, **headers: str) -> web.Response:
    return web.json_response(
        {"error": {"code": "x", "message": "x"}}, status=status, headers=headers
    )


async def row(sessions: Sessions, key: str) -> OutboxMessage:
    return next(message for message in await outbox(sessions) if message.key == key)


async def test_throttled_then_unavailable_then_delivered_exactly_once(
    channel: TeamsChannel, sessions: Sessions, app_server: TestServer
) -> None:
    users = await install_team(channel, sessions)
    hanna = await staff_id(sessions, "hanna@kommun.se")
    conversation = users["hanna"].conversation_id
    channel.connector.failures.append(
        script(conversation, error(429, **{"Retry-After": "120"}), error(503), error(503))
    )
    await queue(sessions, hanna, "k1")
    dispatcher = dispatcher_of(app_server)

    first = await dispatcher.deliver_due(NOW)
    assert (first.sent, first.retried) == (0, 1)
    throttled = await row(sessions, "k1")
    assert throttled.status == "pending"
    assert throttled.next_attempt_at == NOW + timedelta(seconds=120)  # Retry-After honoured
    assert (await dispatcher.deliver_due(NOW + timedelta(seconds=119))).retried == 0

    await dispatcher.deliver_due(NOW + timedelta(seconds=120))  # 503
    after_503 = await row(sessions, "k1")
    delay = after_503.next_attempt_at - (NOW + timedelta(seconds=120))
    assert timedelta(seconds=30) <= delay <= timedelta(seconds=60)  # backoff 2 with jitter
    await dispatcher.deliver_due(after_503.next_attempt_at)  # 503 again
    again = await row(sessions, "k1")
    assert again.attempts == 3
    assert again.next_attempt_at - after_503.next_attempt_at >= timedelta(seconds=60)
    assert channel.connector.sent == []

    done = await dispatcher.deliver_due(again.next_attempt_at)

    assert done.sent == 1
    sent = channel.connector.for_conversation(conversation)
    assert len(sent) == 1
    delivered = await row(sessions, "k1")
    assert delivered.status == "sent"
    assert delivered.sent_activity_id == sent[0].activity_id
    card = channel.connector.cards(conversation)[0]
    assert_valid_card(card)
    assert headline(card) == "Lång vistelse: ÄNG-042"
    # A later pass finds nothing to send: exactly once.
    await dispatcher.deliver_due(again.next_attempt_at + timedelta(hours=1))
    assert len(channel.connector.sent) == 1


async def test_forbidden_retires_the_chat_and_nothing_is_silently_dropped(
    channel: TeamsChannel, sessions: Sessions, app_server: TestServer, settings: Settings, capsys
) -> None:
    users = await install_team(channel, sessions)
    await seed_staff(sessions, ("olle@kommun.se", "Olle Omsorg", "omsorgspersonal", "ÄNG"))
    sara, rami = (
        await staff_id(sessions, "sara@kommun.se"),
        await staff_id(sessions, "rami@kommun.se"),
    )
    olle = await staff_id(sessions, "olle@kommun.se")  # never opened a chat with the bot
    channel.connector.failures.append(script(users["sara"].conversation_id, error(403)))
    for key, person in (("to-sara", sara), ("to-olle", olle), ("to-rami", rami)):
        await queue(sessions, person, key)
    dispatcher = dispatcher_of(app_server)

    report = await dispatcher.deliver_due(NOW)

    assert (report.sent, report.undeliverable, report.retried) == (1, 2, 0)
    assert (await row(sessions, "to-sara")).last_error == "HTTP 403: conversation gone"
    assert (await row(sessions, "to-olle")).status == "undeliverable"
    assert "not installed" in ((await row(sessions, "to-olle")).last_error or "")
    async with transaction(sessions) as session:
        ref = await session.get(
            ConversationRef, (await row(sessions, "to-sara")).conversation_ref_id
        )
    assert ref is not None and not ref.active
    # Never retried blindly: a later pass does not touch Sara's conversation again, and a new
    # message for her is undeliverable until she talks to the bot again.
    await queue(sessions, sara, "to-sara-2")
    await dispatcher.deliver_due(NOW + timedelta(hours=2))
    assert len(channel.connector.for_conversation(users["sara"].conversation_id)) == 0
    assert (await row(sessions, "to-sara-2")).status == "undeliverable"
    assert len(channel.connector.sent) == 1  # Rami's

    capsys.readouterr()
    args = argparse.Namespace(status="undeliverable", limit=50)
    assert await cmd_outbox_list(args, settings) == 0
    listing = capsys.readouterr().out
    assert "sara@kommun.se" in listing and "olle@kommun.se" in listing
    assert "HTTP 403" in listing and "rami@kommun.se" not in listing


async def test_a_throttled_conversation_is_left_alone_for_the_rest_of_the_pass(
    channel: TeamsChannel, sessions: Sessions, app_server: TestServer
) -> None:
    users = await install_team(channel, sessions)
    hanna, karin = (
        await staff_id(sessions, "hanna@kommun.se"),
        await staff_id(sessions, "karin@kommun.se"),
    )
    channel.connector.failures.append(
        script(users["hanna"].conversation_id, error(429, **{"Retry-After": "30"}))
    )
    for index in range(3):
        await queue(sessions, hanna, f"h{index}")
    await queue(sessions, karin, "k")

    report = await dispatcher_of(app_server).deliver_due(NOW)

    assert (report.sent, report.retried, report.deferred) == (1, 1, 2)
    rows = {message.key: message for message in await outbox(sessions)}
    assert rows["k"].status == "sent"
    assert [rows[f"h{i}"].attempts for i in range(3)] == [1, 0, 0]  # deferring is not a try
    assert {rows[f"h{i}"].next_attempt_at for i in range(3)} == {NOW + timedelta(seconds=30)}

    later = await dispatcher_of(app_server).deliver_due(NOW + timedelta(seconds=30))

    assert later.sent == 3
    assert len(channel.connector.for_conversation(users["hanna"].conversation_id)) == 3


async def test_transient_failures_give_up_visibly_after_the_last_attempt(
    channel: TeamsChannel, sessions: Sessions, app_server: TestServer
) -> None:
    users = await install_team(channel, sessions)
    channel.connector.failures.append(
        script(users["hanna"].conversation_id, *(error(502) for _ in range(20)))
    )
    await queue(sessions, await staff_id(sessions, "hanna@kommun.se"), "k")
    dispatcher = dispatcher_of(app_server)
    dispatcher.max_attempts = 3
    now = NOW

    for _ in range(3):
        await dispatcher.deliver_due(now)
        now = (await row(sessions, "k")).next_attempt_at

    given_up = await row(sessions, "k")
    assert given_up.status == "undeliverable"
    assert given_up.last_error == "gave up after 3: HTTP 502"


async def test_nothing_is_sent_in_the_evening_it_waits_for_the_next_working_morning(
    channel: TeamsChannel, sessions: Sessions, app_server: TestServer
) -> None:
    await install_team(channel, sessions)
    evening = datetime(2026, 11, 27, 17, 30, tzinfo=UTC)  # Friday 18:30 in Stockholm
    await queue(sessions, await staff_id(sessions, "hanna@kommun.se"), "k", at=evening)
    dispatcher = dispatcher_of(app_server)

    for instant in (evening, evening + timedelta(hours=14), evening + timedelta(days=2)):
        assert (await dispatcher.deliver_due(instant)).sent == 0
    monday_morning = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)  # 07:00 local

    assert (await dispatcher.deliver_due(monday_morning)).sent == 1


async def test_a_claim_whose_lease_ran_out_is_taken_over(
    channel: TeamsChannel, sessions: Sessions, app_server: TestServer
) -> None:
    await install_team(channel, sessions)
    await queue(sessions, await staff_id(sessions, "hanna@kommun.se"), "k")
    async with transaction(sessions) as session:  # an instance claims it, then dies
        claimed = await DeliveryRepository(session).claim_due(NOW, NOW + timedelta(minutes=5), 10)
    assert len(claimed) == 1
    dispatcher = dispatcher_of(app_server)

    assert (await dispatcher.deliver_due(NOW + timedelta(minutes=4))).sent == 0
    assert (await dispatcher.deliver_due(NOW + timedelta(minutes=6))).sent == 1
    assert len(channel.connector.sent) == 1


async def test_send_rate_stays_within_the_conversation_limit(
    channel: TeamsChannel, sessions: Sessions, app_server: TestServer, clock: FixedClock
) -> None:
    users = await install_team(channel, sessions)
    hanna = await staff_id(sessions, "hanna@kommun.se")
    for index in range(9):
        await queue(sessions, hanna, f"k{index}")
    dispatcher = dispatcher_of(app_server)
    clock.set(NOW)

    first = await dispatcher.deliver_due(NOW)

    assert (first.sent, first.deferred) == (7, 2)  # a burst of 7, then one every 2 seconds
    clock.set(NOW + timedelta(seconds=4))
    second = await dispatcher.deliver_due(NOW + timedelta(seconds=4))
    assert second.sent == 2
    assert len(channel.connector.for_conversation(users["hanna"].conversation_id)) == 9
    assert all(message.attempts == 0 for message in await outbox(sessions))


def test_rate_limiter_buckets_per_conversation_and_tenant() -> None:
    now = [0.0]
    limiter = RateLimiter(monotonic=lambda: now[0])
    for _ in range(7):
        assert limiter.wait("a", "t") == 0
        limiter.take("a", "t")
    assert limiter.wait("a", "t") == pytest.approx(2.0)
    assert limiter.wait("b", "t") == 0  # another conversation of the tenant
    for index in range(30):
        limiter.take(f"c{index}", "t")
    assert limiter.wait("d", "t") > 0  # the tenant's burst is spent
    now[0] = 1.0
    assert limiter.wait("d", "t") == 0


def test_retry_after_as_seconds_or_http_date() -> None:
    assert retry_after_delay("7", NOW) == timedelta(seconds=7)
    assert retry_after_delay("Mon, 23 Nov 2026 08:01:00 GMT", NOW) == timedelta(seconds=60)
    assert retry_after_delay("soon", NOW) is None
    assert retry_after_delay(None, NOW) is None


async def test_a_row_for_a_unit_goes_to_the_units_linked_channel(
    channel: TeamsChannel, sessions: Sessions, app_server: TestServer
) -> None:
    await install_team(channel, sessions)
    async with transaction(sessions) as session:
        unit = await UnitRepository(session).by_code("ÄNG")
        assert unit is not None and unit.id is not None
        conversations = ConversationRepository(session)
        ref = await conversations.save(
            conversation_id="19:team-channel@thread.tacv2",
            kind=ConversationKind.CHANNEL,
            service_url=channel.connector.url,
            reference={
                "serviceUrl": channel.connector.url,
                "channelId": "msteams",
                "conversation": {"id": "19:team-channel@thread.tacv2", "isGroup": True},
                "bot": {"id": "28:korttid-bot"},
            },
            tenant_id="tenant",
            team_id="team-1",
        )
        await conversations.link_unit(ref, unit.id)
        await enqueue(
            session,
            key="unit-message",
            kind="nudge_long_stay",
            template="nudge_long_stay",
            payload={
                "stay_id": 1,
                "case_code": "ÄNG-042",
                "room": None,
                "day_number": 14,
                "arrival_text": "tisdag 10 november 2026",
            },
            due_at=NOW,
            unit_id=unit.id,
        )

    report = await dispatcher_of(app_server).deliver_due(NOW)

    assert report.sent == 1
    sent = channel.connector.for_conversation("19:team-channel@thread.tacv2")
    assert len(sent) == 1
    assert sent[0].activity["channelData"] == {"tenant": {"id": "tenant"}}
