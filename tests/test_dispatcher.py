"""Delivery over real HTTP to a local connector that fails the way Teams does: 429 with
Retry-After, 503s, 403. Delivered exactly once where possible, otherwise undeliverable and
visible: never lost."""

from __future__ import annotations

import argparse
import asyncio
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bench.connector import CONVERSATION_WINDOWS, find_marker
from bench.delivery import last_send_at, minimum_seconds
from bot.app import NOTIFIER
from bot.notify_commands import cmd_outbox_list
from bot.settings import Settings
from notifications.dispatcher import Dispatcher, SendFailed, retry_after_delay
from notifications.outbox import enqueue
from notifications.ratelimit import RateLimiter
from notifications.render import Renderer
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

    assert (report.sent, report.undeliverable, report.waiting, report.retried) == (1, 1, 1, 0)
    assert (await row(sessions, "to-sara")).last_error == "HTTP 403: conversation gone"
    # Olle has not opened Korttid yet: his message waits for him instead of being given up.
    assert (await row(sessions, "to-olle")).status == "waiting"
    assert "not opened Korttid" in ((await row(sessions, "to-olle")).last_error or "")
    async with transaction(sessions) as session:
        ref = await session.get(
            ConversationRef, (await row(sessions, "to-sara")).conversation_ref_id
        )
    assert ref is not None and not ref.active
    # Never retried blindly: a later pass does not touch Sara's conversation again, and a new
    # message for her waits until she installs Korttid again.
    await queue(sessions, sara, "to-sara-2")
    await dispatcher.deliver_due(NOW + timedelta(hours=2))
    assert len(channel.connector.for_conversation(users["sara"].conversation_id)) == 0
    assert (await row(sessions, "to-sara-2")).status == "waiting"
    assert len(channel.connector.sent) == 1  # Rami's

    capsys.readouterr()
    args = argparse.Namespace(status="undeliverable", limit=50)
    assert await cmd_outbox_list(args, settings) == 0
    listing = capsys.readouterr().out
    assert "sara@kommun.se" in listing and "olle@kommun.se" not in listing
    assert "HTTP 403" in listing and "rami@kommun.se" not in listing
    args = argparse.Namespace(status="waiting", limit=50)
    assert await cmd_outbox_list(args, settings) == 0
    listing = capsys.readouterr().out
    assert "olle@kommun.se" in listing and "waiting" in listing


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
    for index in range(7):  # a conversation's burst of 7, over tenants that have room
        assert limiter.wait("a", f"t{index}") == 0
        limiter.take("a", f"t{index}")
    assert limiter.wait("a", "t9") == pytest.approx(2.0)
    assert limiter.conversation_wait("a") == pytest.approx(2.0)
    assert limiter.wait("b", "t9") == 0  # another conversation, and a tenant with room
    limiter.take("b", "t9")
    assert limiter.wait("c", "t9") == pytest.approx(0.5 / 47)  # the tenant's 1.5 are spent
    now[0] = 0.5 / 47
    assert limiter.wait("c", "t9") == 0


def test_a_tenant_never_gets_50_sends_in_one_second() -> None:
    """Taking each token when it is there: whatever the moment, the last second holds at most
    48 sends (1.5 + 47), below Teams' 50, with room for replies to users."""
    now = [0.0]
    limiter = RateLimiter(monotonic=lambda: now[0])
    stamps: list[float] = []
    for index in range(500):
        if index % 100 == 0:
            now[0] += 5.0  # a quiet spell: the bucket fills up again
        now[0] += limiter.wait(f"c{index}", "t")
        limiter.take(f"c{index}", "t")
        stamps.append(now[0])
    busiest = max(sum(1 for t in stamps if start <= t <= start + 1.0) for start in stamps)
    assert busiest == 48
    steady = stamps[199] - stamps[102]  # within one stream, after its burst
    assert steady == pytest.approx(97 / 47)


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


# --- sending a few at a time --------------------------------------------------------------------


class FakeTime:
    """The dispatcher's clock in these tests: it moves only when the dispatcher sleeps."""

    def __init__(self, start: datetime) -> None:
        self.clock = FixedClock(start)

    def monotonic(self) -> float:
        return self.clock.now().timestamp()

    async def sleep(self, seconds: float) -> None:
        self.clock.set(self.clock.now() + timedelta(seconds=seconds))
        await asyncio.sleep(0)


class RecordingSender:
    """A ``Sender`` at the boundary: records each send (when, where, which row) and how many
    were in flight at once; a send's round trip lets the event loop run other sends."""

    def __init__(self, time: FakeTime, throttled: dict[str, int] | None = None) -> None:
        self.time = time
        self.throttled = dict(throttled or {})  # conversation -> 429s to answer first
        self.sent: list[tuple[float, str, str | None]] = []
        self.refused: list[tuple[float, str]] = []
        self.in_flight: Counter[str] = Counter()
        self.most_in_flight = 0
        self.most_in_one_conversation = 0

    async def send(
        self, reference: Mapping[str, Any], card: Mapping[str, Any], *, tenant_id: str | None
    ) -> str | None:
        conversation = str(reference["conversation"]["id"])
        at = self.time.monotonic()
        self.in_flight[conversation] += 1
        self.most_in_flight = max(self.most_in_flight, sum(self.in_flight.values()))
        self.most_in_one_conversation = max(
            self.most_in_one_conversation, self.in_flight[conversation]
        )
        try:
            for _ in range(3):
                await asyncio.sleep(0)
            if self.throttled.get(conversation):
                self.throttled[conversation] -= 1
                self.refused.append((at, conversation))
                raise SendFailed(429, retry_after="2")
            self.sent.append((at, conversation, find_marker(card)))
            return f"sent-{len(self.sent)}"
        finally:
            self.in_flight[conversation] -= 1


async def seed_conversations(sessions: Sessions, conversations: int, each: int) -> int:
    """``conversations`` chats with ``each`` rows apiece, interleaved by id as a tick queues
    them; row ``n`` carries ``n`` as the card's marker. Returns the number of rows."""
    async with transaction(sessions) as session:
        repo = ConversationRepository(session)
        refs = []
        for index in range(conversations):
            conversation_id = f"a:chat-{index}"
            refs.append(
                await repo.save(
                    conversation_id=conversation_id,
                    kind=ConversationKind.PERSONAL,
                    service_url="https://smba.example/",
                    reference={
                        "serviceUrl": "https://smba.example/",
                        "channelId": "msteams",
                        "conversation": {"id": conversation_id},
                        "bot": {"id": "28:korttid-bot"},
                    },
                    tenant_id="tenant",
                )
            )
        for number in range(conversations * each):
            await enqueue(
                session,
                key=f"row-{number}",
                kind="nudge_long_stay",
                template="nudge_long_stay",
                payload={
                    "stay_id": number,
                    "case_code": "ÄNG-042",
                    "room": None,
                    "day_number": 14,
                    "arrival_text": "tisdag 10 november 2026",
                },
                due_at=NOW,
                conversation_ref_id=refs[number % conversations].id,
            )
    return conversations * each


def dispatcher_with(
    sessions: Sessions, sender: RecordingSender, time: FakeTime, **options: Any
) -> Dispatcher:
    limiter = RateLimiter(monotonic=time.monotonic)
    return Dispatcher(sessions, Renderer(), sender, limiter=limiter, sleep=time.sleep, **options)


async def test_sends_overlap_across_conversations_but_one_chat_gets_one_at_a_time_in_order(
    sessions: Sessions,
) -> None:
    rows = await seed_conversations(sessions, conversations=12, each=4)
    time = FakeTime(NOW)
    sender = RecordingSender(time)

    report = await dispatcher_with(sessions, sender, time, concurrency=4).deliver_due(NOW)

    assert (report.sent, report.deferred, report.full) == (rows, 0, False)
    assert 1 < sender.most_in_flight <= 4
    assert sender.most_in_one_conversation == 1
    for index in range(12):
        markers = [int(m or -1) for _, c, m in sender.sent if c == f"a:chat-{index}"]
        assert markers == [index + 12 * k for k in range(4)]  # in row order
    assert sorted(int(m or -1) for _, _, m in sender.sent) == list(range(rows))  # each once
    assert {message.status for message in await outbox(sessions)} == {"sent"}


async def test_concurrent_sends_keep_the_tenant_under_50_a_second_at_47(
    sessions: Sessions,
) -> None:
    rows = await seed_conversations(sessions, conversations=40, each=5)
    time = FakeTime(NOW)
    sender = RecordingSender(time)

    report = await dispatcher_with(sessions, sender, time, concurrency=10).deliver_due(NOW)

    assert report.sent == rows
    stamps = sorted(at for at, _, _ in sender.sent)
    busiest = max(sum(1 for t in stamps if start <= t <= start + 1.0) for start in stamps)
    assert busiest <= 48
    # The rate sets the pace (the fake clock counts in whole microseconds).
    assert stamps[-1] - stamps[0] == pytest.approx((rows - 1.5) / 47, abs=0.001)


async def test_a_pass_that_stops_at_its_row_limit_is_followed_at_once(
    sessions: Sessions,
) -> None:
    rows = await seed_conversations(sessions, conversations=3, each=4)
    time = FakeTime(NOW)
    sender = RecordingSender(time)
    dispatcher = dispatcher_with(sessions, sender, time, max_rows_per_pass=5, batch_size=2)

    first = await dispatcher.deliver_due(NOW)
    more = await dispatcher.follow_up(first, time.clock)

    assert (first.sent, first.full) == (5, True)
    assert [(report.sent, report.full) for report in more] == [(5, True), (2, False)]
    assert time.clock.now() - NOW < timedelta(seconds=1)  # not a tick later
    assert sorted(int(m or -1) for _, _, m in sender.sent) == list(range(rows))


async def test_a_row_throttled_for_seconds_goes_in_the_same_tick_after_its_retry_after(
    sessions: Sessions,
) -> None:
    await seed_conversations(sessions, conversations=2, each=2)
    time = FakeTime(NOW)
    sender = RecordingSender(time, throttled={"a:chat-0": 1})
    dispatcher = dispatcher_with(sessions, sender, time)

    first = await dispatcher.deliver_due(NOW)
    assert (first.sent, first.retried, first.deferred) == (2, 1, 1)  # chat 0 left alone
    more = await dispatcher.follow_up(first, time.clock)

    assert sum(report.sent for report in more) == 2
    refused_at = sender.refused[0][0]
    chat_0 = [at for at, conversation, _ in sender.sent if conversation == "a:chat-0"]
    assert len(chat_0) == 2 and min(chat_0) >= refused_at + 2  # Retry-After: 2 honoured
    rows = await outbox(sessions)
    assert {message.status for message in rows} == {"sent"}
    assert sorted(message.attempts for message in rows) == [0, 0, 0, 1]


async def test_two_instances_sending_at_once_send_every_row_exactly_once(
    sessions: Sessions,
) -> None:
    rows = await seed_conversations(sessions, conversations=10, each=6)
    time = FakeTime(NOW)
    sender = RecordingSender(time)
    instances = [dispatcher_with(sessions, sender, time, batch_size=7) for _ in range(2)]

    reports = await asyncio.gather(*(instance.deliver_due(NOW) for instance in instances))

    assert sum(report.sent for report in reports) == rows
    assert sorted(int(m or -1) for _, _, m in sender.sent) == list(range(rows))
    sent_ids = {message.sent_activity_id for message in await outbox(sessions)}
    assert len(sent_ids) == rows


def test_the_benchmarks_minimum_is_the_later_of_the_tenant_and_the_busiest_chat() -> None:
    assert minimum_seconds(10_000, 2_000) == 199.0  # 50 a second: the 10 000th at 199 s
    assert minimum_seconds(2_000, 400) == 39.0
    assert minimum_seconds(40, 10) == 0.0  # all in one burst
    # One chat: 7 a second until 60 in 30 s; the 61st waits for the first to leave the window.
    assert last_send_at(61, CONVERSATION_WINDOWS) == 30.0
    assert minimum_seconds(100, 1) == last_send_at(100, CONVERSATION_WINDOWS) > 30.0
