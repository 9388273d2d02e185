"""A message for someone who has not opened Korttid yet waits for them, and arrives when they do.

End to end over HTTP: the handläggare sets a home-going before the coordinator ever opened her
chat; the notice waits (not undeliverable); she installs Korttid and it arrives at once, once;
a second install event sends nothing again; a waiting message past its expiry is never sent.
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import date, timedelta

from aiohttp.test_utils import TestServer
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.app import NOTIFIER, WAITING_DELIVERY
from bot.demo import seed_demo
from bot.notify_commands import cmd_tick
from bot.settings import Settings
from notifications.outbox import enqueue
from storage.db import transaction
from storage.domain.clock import FixedClock
from storage.models import ConversationRef, OutboxMessage
from tests.channel import TeamsChannel, TeamsUser
from tests.connector import Sent
from tests.helpers import card_texts
from tests.nudging import headline, local, staff_id
from tests.stay_helpers import (
    HANNA,
    KARIN,
    SARA,
    outbox,
    plan_home_going,
    seed_people,
    seed_stay,
)
from tests.test_installation import install_personally, references

Sessions = async_sessionmaker[AsyncSession]


def _hanna(channel: TeamsChannel) -> TeamsUser:
    return channel.user("hanna", "hanna@kommun.se", "Hanna Handläggare")


def _karin(channel: TeamsChannel) -> TeamsUser:
    return channel.user("karin", "karin@kommun.se", "Karin Koordinator")


async def _notices(channel: TeamsChannel, karin: TeamsUser, within: float = 5.0) -> list[Sent]:
    """Karin's home-going cards, waiting up to ``within`` seconds for the first to arrive."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        found = [
            sent
            for sent in channel.connector.for_conversation(karin.conversation_id)
            if "Hemgång" in card_texts(sent.activity.get("attachments", [{}])[0].get("content", {}))
        ]
        if found or asyncio.get_running_loop().time() >= deadline:
            return found
        await asyncio.sleep(0.05)


async def _home_going_rows(sessions: Sessions) -> list[OutboxMessage]:
    return [m for m in await outbox(sessions) if m.kind.startswith("home_going_")]


async def test_a_notice_waits_for_the_coordinator_and_arrives_once_when_she_installs(
    channel: TeamsChannel, sessions: Sessions, app_server: TestServer, clock: FixedClock
) -> None:
    await seed_people(sessions, HANNA, SARA, KARIN)
    await seed_stay(sessions, clock, "ÄNG-042")
    hanna, karin = _hanna(channel), _karin(channel)
    await plan_home_going(channel, hanna, "ÄNG-042", "26/11 9:30")
    dispatcher = app_server.app[NOTIFIER].dispatcher

    report = await dispatcher.deliver_due(clock.now())

    assert (report.sent, report.waiting, report.undeliverable) == (0, 1, 0)
    [row] = await _home_going_rows(sessions)
    assert row.status == "waiting" and row.expires_at is not None
    assert "ÄNG-042" not in (row.last_error or "")
    # Later passes leave it alone: it is not retried, not given up, not sent anywhere.
    clock.set(clock.now() + timedelta(hours=2))
    await dispatcher.deliver_due(clock.now())
    assert (await _home_going_rows(sessions))[0].status == "waiting"
    channel.connector.clear()

    await install_personally(channel, karin)

    [notice] = await _notices(channel, karin)
    text = card_texts(notice.activity["attachments"][0]["content"])
    assert "ÄNG-042" in text and "torsdag 26 november 2026" in text
    await app_server.app[
        WAITING_DELIVERY
    ].close()  # the delivery pass the install started has ended
    assert (await _home_going_rows(sessions))[0].status == "sent"
    # Teams announces an install twice, and a person may reinstall: never a second notice.
    await install_personally(channel, karin)
    await channel.say(karin, "hjälp")
    await dispatcher.deliver_due(clock.now())
    await asyncio.sleep(0.2)
    assert len(await _notices(channel, karin, within=0)) == 1


async def test_waiting_messages_arrive_oldest_first(
    channel: TeamsChannel, sessions: Sessions, app_server: TestServer, clock: FixedClock
) -> None:
    await seed_people(sessions, HANNA, SARA, KARIN)
    await seed_stay(sessions, clock, "ÄNG-042")
    hanna, karin = _hanna(channel), _karin(channel)
    await plan_home_going(channel, hanna, "ÄNG-042", "26/11 9:30")
    await channel.say(hanna, "hemgång ÄNG-042 27/11 kl 10")
    await app_server.app[NOTIFIER].dispatcher.deliver_due(clock.now())
    channel.connector.clear()

    await install_personally(channel, karin)

    deadline = asyncio.get_running_loop().time() + 5
    while len(await _notices(channel, karin, 0)) < 2:
        assert asyncio.get_running_loop().time() < deadline, "waiting notices did not arrive"
        await asyncio.sleep(0.05)
    first, second = (
        card_texts(sent.activity["attachments"][0]["content"])
        for sent in await _notices(channel, karin, 0)
    )
    assert "Hemgång planerad" in first and "torsdag 26 november" in first
    assert "Hemgång ändrad" in second and "fredag 27 november" in second


async def test_an_expired_waiting_notice_is_never_sent(
    channel: TeamsChannel, sessions: Sessions, app_server: TestServer, clock: FixedClock
) -> None:
    await seed_people(sessions, HANNA, SARA, KARIN)
    await seed_stay(sessions, clock, "ÄNG-042")
    hanna, karin = _hanna(channel), _karin(channel)
    await plan_home_going(channel, hanna, "ÄNG-042", "24/11 9:30")
    dispatcher = app_server.app[NOTIFIER].dispatcher
    await dispatcher.deliver_due(clock.now())
    assert (await _home_going_rows(sessions))[0].status == "waiting"

    # The home-going day (Tuesday 24 November) is over when Karin first opens Korttid.
    clock.set(clock.now() + timedelta(days=2))
    report = await dispatcher.deliver_due(clock.now())
    await install_personally(channel, karin)
    await asyncio.sleep(0.3)

    assert report.expired == 1
    assert (await _home_going_rows(sessions))[0].status == "expired"
    assert await _notices(channel, karin, within=0) == []


async def test_expired_before_any_pass_is_never_sent_when_she_installs(
    channel: TeamsChannel, sessions: Sessions, app_server: TestServer, clock: FixedClock
) -> None:
    await seed_people(sessions, HANNA, SARA, KARIN)
    await seed_stay(sessions, clock, "ÄNG-042")
    hanna, karin = _hanna(channel), _karin(channel)
    await plan_home_going(channel, hanna, "ÄNG-042", "24/11 9:30")
    await app_server.app[NOTIFIER].dispatcher.deliver_due(clock.now())

    clock.set(clock.now() + timedelta(days=2))  # no pass ran since: the row is still waiting
    await install_personally(channel, karin)
    await asyncio.sleep(0.3)

    assert await _notices(channel, karin, within=0) == []
    assert (await _home_going_rows(sessions))[0].status == "expired"


async def test_a_stranger_installing_stores_nothing_and_receives_nothing(
    channel: TeamsChannel, sessions: Sessions, app_server: TestServer, clock: FixedClock
) -> None:
    await seed_people(sessions, HANNA, SARA, KARIN)
    await seed_stay(sessions, clock, "ÄNG-042")
    await plan_home_going(channel, _hanna(channel), "ÄNG-042", "26/11 9:30")
    await app_server.app[NOTIFIER].dispatcher.deliver_due(clock.now())
    before = [ref.conversation_id for ref in await references(sessions)]
    # Someone not in the registry, claiming Karin's name, installs Korttid.
    stranger = channel.user("x", "karin@annan.se", "Karin Koordinator")
    channel.connector.clear()

    await install_personally(channel, stranger)
    await asyncio.sleep(0.3)

    assert [ref.conversation_id for ref in await references(sessions)] == before
    assert channel.connector.cards() == []
    assert "finns inte i personalregistret" in channel.connector.sent[0].activity["text"]
    assert (await _home_going_rows(sessions))[0].status == "waiting"
    assert all(isinstance(ref, ConversationRef) for ref in await references(sessions))


async def test_she_opens_korttid_in_the_evening_and_gets_hers_at_once_but_nobody_else_does(
    channel: TeamsChannel, sessions: Sessions, app_server: TestServer, clock: FixedClock
) -> None:
    await seed_people(sessions, HANNA, SARA, KARIN)
    await seed_stay(sessions, clock, "ÄNG-042")
    hanna, karin, sara = _hanna(channel), _karin(channel), channel.user("sara", SARA[0], SARA[1])
    await channel.say(sara, "hej")
    await plan_home_going(channel, hanna, "ÄNG-042", "26/11 9:30")
    await app_server.app[NOTIFIER].dispatcher.deliver_due(clock.now())
    # 20:00 in Stockholm: Korttid is silent, but Karin is in Teams right now.
    clock.set(clock.now().replace(hour=19))
    async with transaction(sessions) as session:
        await enqueue(
            session, key="evening:sara", kind="nudge_readiness", template="nudge_readiness",
            payload={}, due_at=clock.now(), recipient_staff_id=(await staff_id(sessions, SARA[0])),
        )  # fmt: skip
    channel.connector.clear()

    await install_personally(channel, karin)
    await app_server.app[WAITING_DELIVERY].close()

    assert len(await _notices(channel, karin, within=0)) == 1
    assert channel.connector.for_conversation(sara.conversation_id) == []
    assert (await _home_going_rows(sessions))[0].status == "sent"


def _unreached_cards(channel: TeamsChannel, hanna: TeamsUser) -> list[str]:
    return [
        card_texts(card)
        for card in channel.connector.cards(hanna.conversation_id)
        if "Koordinatorn har inte fått beskedet" in card_texts(card)
    ]


async def test_the_handlaggare_is_nudged_once_when_the_notice_still_waits_the_day_before(
    channel: TeamsChannel, sessions: Sessions, app_server: TestServer, clock: FixedClock
) -> None:
    await seed_people(sessions, HANNA, SARA, KARIN)
    await seed_stay(sessions, clock, "ÄNG-042")
    hanna, karin = _hanna(channel), _karin(channel)
    await plan_home_going(channel, hanna, "ÄNG-042", "26/11 9:30")  # Thursday
    notifier = app_server.app[NOTIFIER]

    await notifier.tick(local(date(2026, 11, 25), 15, 55))  # Wednesday, before 16:00
    assert _unreached_cards(channel, hanna) == []
    for minute in (0, 30):
        await notifier.tick(local(date(2026, 11, 25), 16, minute))

    [text] = _unreached_cards(channel, hanna)
    assert "Koordinatorn har inte fått beskedet: ÄNG-042" in text
    assert "Karin Koordinator har inte öppnat Korttid än" in text and "Ring Karin" in text
    assert "torsdag 26 november 2026" in text
    assert channel.connector.for_conversation(karin.conversation_id) == []


async def test_no_nudge_when_the_coordinator_got_the_notice(
    channel: TeamsChannel, sessions: Sessions, app_server: TestServer, clock: FixedClock
) -> None:
    await seed_people(sessions, HANNA, SARA, KARIN)
    await seed_stay(sessions, clock, "ÄNG-042")
    hanna, karin = _hanna(channel), _karin(channel)
    await plan_home_going(channel, hanna, "ÄNG-042", "26/11 9:30")
    notifier = app_server.app[NOTIFIER]
    await notifier.tick(clock.now())
    await install_personally(channel, karin)  # the notice reaches her
    await app_server.app[WAITING_DELIVERY].close()

    await notifier.tick(local(date(2026, 11, 25), 16, 0))

    assert _unreached_cards(channel, hanna) == []
    notices = [
        card_texts(sent.activity["attachments"][0]["content"])
        for sent in await _notices(channel, karin, within=0)
    ]
    assert sum("Hemgång planerad: ÄNG-042" in text for text in notices) == 1


async def test_the_demo_tick_recipe_shows_the_nurse_her_nudges_when_she_opens_korttid(
    channel: TeamsChannel, sessions: Sessions, app_server: TestServer, settings: Settings
) -> None:
    """README: `korttid tick --now` a coming working day, then open the playground as the nurse.
    The server's own ticks in between (at the real, earlier time) must not withdraw them."""
    async with transaction(sessions) as session:
        await seed_demo(session, today=date(2026, 11, 23))
    assert await cmd_tick(argparse.Namespace(now="2026-11-24T08:00"), settings) == 0
    nurse_id = await staff_id(sessions, "sjukskoterska@demo.korttid.se")
    nudges = {
        m.key
        for m in await outbox(sessions)
        if m.kind == "nudge_readiness" and m.recipient_staff_id == nurse_id
    }
    assert nudges and all(m.status == "waiting" for m in await outbox(sessions) if m.key in nudges)
    await app_server.app[NOTIFIER].tick(local(date(2026, 11, 23), 9, 5))  # the demo's scheduler

    nurse = channel.user("sjukskoterska", "sjukskoterska@demo.korttid.se")
    await install_personally(channel, nurse)
    await app_server.app[WAITING_DELIVERY].close()

    titles = [headline(card) for card in channel.connector.cards(nurse.conversation_id)]
    assert any(title.startswith("Inför hemgång: ") for title in titles), titles
    # Tuesday's own nudges, not only the ones the Monday tick found due.
    assert {m.status for m in await outbox(sessions) if m.key in nudges} == {"sent"}
