"""The engine end to end: the real app over HTTP, ticking through two simulated weeks.

Easter 2027 makes a hard fortnight: Good Friday (26 March), a weekend in which the clocks go
forward (28 March), Easter Monday (29 March). Each nudge must arrive once, at 07:00 Stockholm
time on the right working day, and not at all once its fact has changed.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from datetime import date, datetime, time, timedelta

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.app import NOTIFIER, SCHEDULER, create_app
from bot.demo import seed_demo
from bot.notifier import TICK_JOB_ID, run_tick
from bot.notify_commands import cmd_tick
from bot.settings import Settings
from notifications.notices import queue_home_going_notice
from notifications.tick import Notifier
from storage.db import transaction
from storage.domain.clock import STOCKHOLM, FixedClock
from storage.domain.readiness import CHECKLIST
from storage.models import OutboxMessage, Stay
from tests.cards import assert_valid_card
from tests.channel import TeamsChannel
from tests.connector import LocalConnector
from tests.nudging import (
    add_stay,
    change_stay,
    headline,
    install_team,
    local,
    mark_item,
    outbox,
    set_home_going,
)

Sessions = async_sessionmaker[AsyncSession]
Event = Callable[[], Awaitable[None]]
EASTER = date(2027, 3, 18)  # Thursday before the fortnight


async def notice(sessions: Sessions, stay_id: int, change: str, now: datetime) -> None:
    """What the meeting / stay dialogs do when a home-going is set or cancelled."""
    async with transaction(sessions) as session:
        stay = await session.get(Stay, stay_id)
        assert stay is not None
        await queue_home_going_notice(session, stay, change, now)  # type: ignore[arg-type]


class Recorder:
    """Who received which card at which local time."""

    def __init__(self, connector: LocalConnector, names: dict[str, str]) -> None:
        self.connector = connector
        self.names = names  # conversation id -> person
        self.seen = 0
        self.log: list[tuple[str, str, str, str | None]] = []

    def collect(self, now: datetime) -> None:
        for sent in self.connector.sent[self.seen :]:
            for attachment in sent.activity.get("attachments") or []:
                card = attachment["content"]
                assert_valid_card(card)
                when = now.astimezone(STOCKHOLM).strftime("%a %d/%m %H:%M")
                person = self.names[sent.conversation_id]
                self.log.append((when, person, headline(card), sent.activity_id))
        self.seen = len(self.connector.sent)

    def without(self, activity_ids: set[str | None]) -> list[tuple[str, str, str]]:
        return [entry[:3] for entry in self.log if entry[3] not in activity_ids]


def by_time(entry: tuple[str, ...]) -> tuple[str, ...]:
    """Chronological (day/month, then time), then by person and text."""
    day, clock_time = entry[0].split()[1:]
    return (day[3:], day[:2], clock_time, *entry[1:])


def is_digest(row: OutboxMessage) -> bool:
    """The weekly digest (issue 6) ticks along; these tests look at the nudges."""
    return "digest" in row.kind


async def test_two_weeks_over_easter_and_the_clock_change(
    channel: TeamsChannel,
    sessions: Sessions,
    settings: Settings,
    clock: FixedClock,
    app_server: TestServer,
) -> None:
    users = await install_team(channel, sessions)
    recorder = Recorder(channel.connector, {u.conversation_id: k for k, u in users.items()})
    start = local(EASTER, 0)
    clock.set(start)
    # A: never holds its meeting; day 7 is Easter Monday, so the deadline is Thursday 25th.
    a = await add_stay(sessions, "ÄNG-001", date(2027, 3, 22))
    # B: the meeting is held the day before its deadline; then no decision by day 14.
    b = await add_stay(sessions, "ÄNG-002", date(2027, 3, 17))
    # C: day 14 without a decision on Tuesday 23rd.
    await add_stay(sessions, "ÄNG-003", date(2027, 3, 10), held_on=date(2027, 3, 16))
    # D: home-going Wednesday 31st at 13:30, SIP wanted, items open.
    d = await add_stay(
        sessions,
        "ÄNG-004",
        date(2027, 3, 16),
        held_on=date(2027, 3, 19),
        home_going=date(2027, 3, 31),
        home_going_time=time(13, 30),
        sip_wanted=True,
        ready=("care_plan", "home_help", "alarm", "transport", "home_modification", "closing_note"),
    )
    # F: home-going Thursday 1 April, everything ready; cancelled on Tuesday 30th.
    f = await add_stay(
        sessions,
        "ÄNG-006",
        date(2027, 3, 20),
        held_on=date(2027, 3, 22),
        home_going=date(2027, 4, 1),
        home_going_time=time(9),
        ready=tuple(kind for kind, _ in CHECKLIST),
    )
    await notice(sessions, f, "set", start)

    async def create_e() -> None:
        # E: home-going set on Tuesday evening for Thursday; its 2-day reminder is due already
        # but it is evening, so it waits... and the nurse marks the item ready at 21:00.
        e = await add_stay(sessions, "ÄNG-005", date(2027, 3, 25), held_on=date(2027, 3, 29))
        async with transaction(sessions) as session:
            stay = await session.get(Stay, e)
            assert stay is not None
            await set_home_going(
                session, stay, date(2027, 4, 1), time(10), False,
                ready=("assistive_devices", "care_plan", "home_help", "alarm", "keys",
                       "transport", "home_modification", "closing_note"),
            )  # fmt: skip
        await notice(sessions, e, "set", local(date(2027, 3, 30), 19))
        events[local(date(2027, 3, 30), 21)] = lambda: mark_item(sessions, e, "medication")

    async def cancel_f() -> None:
        await change_stay(sessions, f, home_going_date=None, home_going_time=None)
        await notice(sessions, f, "cancelled", local(date(2027, 3, 30), 15))

    events: dict[datetime, Event] = {
        local(date(2027, 3, 23), 10): lambda: change_stay(
            sessions, b, followup_held_on=date(2027, 3, 23)
        ),
        local(date(2027, 3, 25), 12): lambda: mark_item(sessions, d, "assistive_devices"),
        local(date(2027, 3, 30), 15): cancel_f,
        local(date(2027, 3, 30), 19): create_e,
    }
    notifier: Notifier = app_server.app[NOTIFIER]
    restart_at = local(date(2027, 3, 27), 12)
    second: TestServer | None = None
    now = start
    try:
        while now < local(date(2027, 4, 2), 0):
            if now == restart_at:  # a new process: nothing carried over but the database
                second = TestServer(create_app(settings, clock=clock), host="127.0.0.1")
                await second.start_server()
                notifier = second.app[NOTIFIER]
            if now in events:
                await events.pop(now)()
            clock.set(now)
            await notifier.tick(now)
            recorder.collect(now)
            now += timedelta(minutes=30)
    finally:
        if second is not None:
            await second.close()

    rows = await outbox(sessions)
    digests = {r.sent_activity_id for r in rows if is_digest(r)}
    rows = [r for r in rows if not is_digest(r)]
    assert sorted(recorder.without(digests), key=by_time) == sorted(
        [
            ("Thu 18/03 07:00", "hanna", "Hemgång på eftermiddagen: ÄNG-004"),
            ("Thu 18/03 07:00", "karin", "Hemgång planerad: ÄNG-006"),
            ("Mon 22/03 07:00", "hanna", "Uppföljningsmöte snart: ÄNG-002"),
            ("Tue 23/03 07:00", "hanna", "Uppföljningsmöte snart: ÄNG-001"),
            ("Tue 23/03 07:00", "hanna", "Lång vistelse: ÄNG-003"),
            ("Tue 23/03 07:00", "cecilia", "Lång vistelse på ÄNG"),
            ("Wed 24/03 07:00", "hanna", "Kalla till SIP: ÄNG-004"),
            ("Thu 25/03 07:00", "hanna", "Uppföljningsmöte i dag: ÄNG-001"),
            ("Thu 25/03 07:00", "hanna", "Inför hemgång: ÄNG-004, rum 4"),
            ("Thu 25/03 07:00", "sara", "Inför hemgång: ÄNG-004, rum 4"),
            ("Thu 25/03 07:00", "rami", "Inför hemgång: ÄNG-004, rum 4"),
            # Good Friday, the weekend with the clock change, Easter Monday: silence.
            ("Tue 30/03 07:00", "hanna", "Försenat uppföljningsmöte: ÄNG-001"),
            ("Tue 30/03 07:00", "cecilia", "Försenat uppföljningsmöte på ÄNG"),
            ("Tue 30/03 07:00", "hanna", "Lång vistelse: ÄNG-002"),
            ("Tue 30/03 07:00", "cecilia", "Lång vistelse på ÄNG"),
            ("Tue 30/03 07:00", "hanna", "Inför hemgång: ÄNG-004, rum 4"),
            ("Tue 30/03 07:00", "sara", "Inför hemgång: ÄNG-004, rum 4"),
            ("Tue 30/03 07:00", "karin", "Hemgång i morgon: ÄNG-004"),
            ("Tue 30/03 15:00", "karin", "Hemgång inställd: ÄNG-006"),
            ("Wed 31/03 07:00", "karin", "Hemgång planerad: ÄNG-005"),
            ("Wed 31/03 07:00", "cecilia", "Hemgång utan klar checklista på ÄNG"),
            ("Wed 31/03 07:00", "karin", "Hemgång i morgon: ÄNG-005"),
        ],
        key=by_time,
    )
    withdrawn = [r for r in rows if r.status == "withdrawn"]
    # E's 2-day reminder to the nurse was queued in the evening and withdrawn when the item
    # became ready; B's "due today" never existed because the meeting was held first.
    assert [(r.kind, r.recipient_staff_id is not None) for r in withdrawn] == [
        ("nudge_readiness", True)
    ]
    assert {r.status for r in rows} == {"sent", "withdrawn"}
    assert [r for r in rows if r.kind == "nudge_followup_today" and r.stay_id == b] == []
    assert a  # A's rows are in the log above


@pytest.fixture
async def second_app(settings: Settings, clock: FixedClock, app_server: TestServer):  # type: ignore[no-untyped-def]
    server = TestServer(create_app(settings, clock=clock), host="127.0.0.1")
    await server.start_server()
    yield server
    await server.close()


async def test_two_instances_ticking_together_send_each_nudge_once(
    channel: TeamsChannel,
    sessions: Sessions,
    app_server: TestServer,
    second_app: TestServer,
    clock: FixedClock,
    settings: Settings,
) -> None:
    await install_team(channel, sessions)
    monday = date(2026, 11, 23)
    for number in range(12):  # stays at every stage of the follow-up and readiness chains
        await add_stay(
            sessions,
            f"ÄNG-{100 + number:03d}",
            monday - timedelta(days=3 + number),
            home_going=monday + timedelta(days=1 + number % 3) if number % 2 else None,
            home_going_time=time(9 + number),
        )
    first, other = app_server.app[NOTIFIER], second_app.app[NOTIFIER]

    for hour in (7, 8, 9):
        now = local(monday, hour)
        clock.set(now)
        await asyncio.gather(first.tick(now), other.tick(now), first.tick(now), other.tick(now))

    rows = [r for r in await outbox(sessions) if not is_digest(r)]
    digests = {r.sent_activity_id for r in await outbox(sessions) if is_digest(r)}
    sent = [(s.conversation_id, headline(card)) for s in channel.connector.sent
            for card in [s.activity["attachments"][0]["content"]]
            if s.activity_id not in digests]  # fmt: skip
    # A manager's cards name the unit, not the stay, so only staff headlines are unique per stay;
    # every delivery, the manager's too, is one sent outbox row.
    staff_sent = [pair for pair in sent if not pair[0].endswith(":cecilia")]
    assert len(staff_sent) == len(set(staff_sent)) > 10
    assert len(sent) == len([r for r in rows if r.status == "sent"])
    delivered = {s.activity_id for s in channel.connector.sent if s.activity_id not in digests}
    assert delivered == {r.sent_activity_id for r in rows}
    assert {r.status for r in rows} == {"sent"}


async def test_korttid_tick_on_the_demo_data_reaches_every_role_once(
    channel: TeamsChannel, sessions: Sessions, settings: Settings, capsys
) -> None:
    today = date(2026, 11, 23)
    async with transaction(sessions) as session:
        await seed_demo(session, today=today)
    people = ("handlaggare", "sjukskoterska", "koordinator", "chef", "rehab")
    users = {p: channel.user(p, f"{p}@demo.korttid.se") for p in people}
    for user in users.values():
        await channel.say(user, "hej")
    channel.connector.clear()

    assert await cmd_tick(argparse.Namespace(now="2026-11-23T08:00"), settings) == 0
    first = len(channel.connector.sent)
    assert await cmd_tick(argparse.Namespace(now="2026-11-23T08:30"), settings) == 0

    assert len(channel.connector.sent) == first  # once
    for person, user in users.items():
        cards = channel.connector.cards(user.conversation_id)
        assert cards, f"{person} got no nudge"
        for card in cards:
            assert_valid_card(card)
    assert "sent" in capsys.readouterr().out
    titles = {headline(c) for c in channel.connector.cards(users["koordinator"].conversation_id)}
    assert any(title.startswith("Hemgång i morgon") for title in titles)


async def test_serve_starts_the_scheduler_and_a_scheduled_tick_delivers(
    channel: TeamsChannel, sessions: Sessions, settings: Settings, clock: FixedClock
) -> None:
    users = await install_team(channel, sessions)
    await add_stay(sessions, "ÄNG-042", date(2026, 11, 18))  # follow-up due soon on Monday
    clock.set(local(date(2026, 11, 23), 9))
    enabled = settings.model_copy(update={"scheduler_enabled": True, "tick_seconds": 30})
    server = TestServer(create_app(enabled, clock=clock), host="127.0.0.1")
    await server.start_server()
    try:
        scheduler = server.app[SCHEDULER]
        assert scheduler.running
        job = scheduler.get_job(TICK_JOB_ID)
        assert job.trigger.interval == timedelta(seconds=30)
        await run_tick(server.app[NOTIFIER], clock)  # what the job runs, without waiting for it
    finally:
        await server.close()

    assert not scheduler.running
    hanna = channel.connector.cards(users["hanna"].conversation_id)
    assert [headline(card) for card in hanna] == ["Uppföljningsmöte snart: ÄNG-042"]
