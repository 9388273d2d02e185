"""Figures kept as history (issue 17): later work never moves an earlier period's figures.

A stay arrives Tuesday 17 November (follow-up deadline Tuesday 24 November). Its first meeting is
held on the deadline and finished the next morning; a second meeting a week later extends the
stay again, and then a home-going is set and moved. The follow-up and decision figures of the
earlier week are computed before and after, over the report's CSV and at the repository level.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.cli import build_parser
from bot.settings import Settings
from notifications.indicators import Figures, compute_indicators
from storage.db import transaction
from storage.domain.clock import FixedClock
from storage.domain.periods import parse_period
from storage.models import DecisionEvent, FollowUpMeeting, MeetingStatus
from tests.cards import assert_valid_card
from tests.channel import TeamsChannel, TeamsUser
from tests.helpers import card_texts
from tests.meeting_helpers import HANDLAGGARE, press, seed_meeting_world, the_stay
from tests.stay_helpers import plan_home_going

EXTENSION = ["förlängning", "15/12", "Behöver mer träning", "nej", "nej"]
SECOND_EXTENSION = ["förlängning", "22/12", "Hemmet anpassas", "nej", "nej"]


def anna(channel: TeamsChannel) -> TeamsUser:
    return channel.user("anna", HANDLAGGARE[0], HANDLAGGARE[1])


def at(clock: FixedClock, day: int, month: int = 11, hour: int = 8) -> None:
    """Set the clock to 09:00 (hour + 1) Stockholm time on the day."""
    clock.set(datetime(2026, month, day, hour, 0, tzinfo=UTC))


def texts(replies: list[Any]) -> str:
    return "\n".join(sent.activity.get("text") or "" for sent in replies)


def cards(replies: list[Any]) -> list[dict[str, Any]]:
    return [a["content"] for sent in replies for a in sent.activity.get("attachments") or []]


async def to_last_step(channel: TeamsChannel, decision: list[str]) -> dict[str, Any]:
    """Open the meeting, type through it with the decision; returns the last step's card."""
    who = anna(channel)
    await channel.say(who, "uppföljning äng-042")
    for _ in range(7):
        await channel.say(who, "nästa")
    for answer in decision:
        await channel.say(who, answer)
    found = cards(await channel.say(who, "nästa"))
    assert found and "steg 10 av 10" in card_texts(found[-1])
    return found[-1]


async def csv_figures(
    settings: Settings, tmp_path: Path, period: str, today: str
) -> dict[str, str]:
    out = tmp_path / f"{period}-{today}.csv"
    parsed = build_parser().parse_args(
        ["report", "--today", today, "--out", str(out), "--period", period, "--format", "csv"]
    )
    assert await parsed.run(parsed, settings) == 0
    rows = list(csv.DictReader(io.StringIO(out.read_bytes().decode("utf-8-sig")), delimiter=";"))
    return next(row for row in rows if row["Period"] == period and row["Enhet"] == "Alla enheter")


async def figures(sessions: async_sessionmaker[AsyncSession], period: str, today: date) -> Figures:
    async with transaction(sessions) as session:
        return (await compute_indicators(session, parse_period(period), today)).total


def decision_figures(row: dict[str, str]) -> tuple[str, ...]:
    names = ("Uppföljningar att hålla", "Uppföljningar i tid", "Förlängningar", "Hemgångsbeslut")
    return tuple(row[name] for name in names)


async def test_later_meetings_extensions_and_home_goings_never_move_an_earlier_week(
    channel: TeamsChannel,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    clock: FixedClock,
    tmp_path: Path,
) -> None:
    stay_id = await seed_meeting_world(sessions)
    who = anna(channel)

    # Held on the deadline (Tuesday 24th), finished on Wednesday morning: typed "hölls i går".
    at(clock, 25)
    await to_last_step(channel, EXTENSION)
    said = texts(await channel.say(who, "hölls i går"))
    assert "Uppföljningsmötet för ÄNG-042 är sparat." in said
    assert "Mötesdatum: tisdag 24 november 2026" in said
    assert "mötet hölls 7 dagar efter ankomst" in said
    stay = await the_stay(sessions, stay_id)
    assert stay.followup_held_on == date(2026, 11, 24)

    before_csv = await csv_figures(settings, tmp_path, "2026-W48", "2026-11-25")
    before = await figures(sessions, "2026-W48", date(2026, 11, 25))
    assert decision_figures(before_csv) == ("1", "1", "1", "0")
    assert before_csv["Uppföljning inom 7 dagar"] == "100,0"

    # A second meeting on Tuesday 1 December extends again; then a home-going is set and moved.
    at(clock, 1, 12)
    await to_last_step(channel, SECOND_EXTENSION)
    assert "är sparat" in texts(await channel.say(who, "nästa"))
    assert "Hemgång" in texts(await plan_home_going(channel, who, "ÄNG-042", "18/12 9:30"))
    await channel.say(who, "hemgång ÄNG-042 21/12 9:30")

    after_csv = await csv_figures(settings, tmp_path, "2026-W48", "2026-12-01")
    after = await figures(sessions, "2026-W48", date(2026, 12, 1))
    assert decision_figures(after_csv) == decision_figures(before_csv)
    assert after_csv["Uppföljning inom 7 dagar"] == "100,0"
    assert (after.followup_due, after.followup_on_time) == (1, 1)
    assert (after.extensions, after.home_going_plannings) == (before.extensions, 0)
    assert after.extensions == 1
    # The week of the later work counts it: the second extension and one home-going decision
    # (moving the date is the same decision), and no follow-up is due in it.
    later = await figures(sessions, "2026-W49", date(2026, 12, 1))
    assert (later.extensions, later.home_going_plannings, later.followup_due) == (1, 1, 0)

    stay = await the_stay(sessions, stay_id)
    assert stay.followup_held_on == date(2026, 11, 24)  # the first meeting's, never moved
    async with transaction(sessions) as session:
        meetings = (
            await session.exec(select(FollowUpMeeting).order_by(col(FollowUpMeeting.id)))
        ).all()
        events = (await session.exec(select(DecisionEvent).order_by(col(DecisionEvent.id)))).all()
    assert [(m.status, m.held_on) for m in meetings] == [
        (MeetingStatus.HELD, date(2026, 11, 24)),
        (MeetingStatus.HELD, date(2026, 12, 1)),
    ]
    assert [(e.kind, e.new_end_date, e.home_going_date) for e in events] == [
        ("extension", date(2026, 12, 15), None),
        ("extension", date(2026, 12, 22), None),
        ("home_going_set", None, date(2026, 12, 18)),
        ("home_going_changed", None, date(2026, 12, 21)),
    ]
    assert {e.author_id for e in events} == {meetings[0].owner_id}
    assert events[0].reason == "Behöver mer träning"

    # Cancelling the home-going is a decision of its own: the one taken before still counts.
    await channel.say(who, "hemgång ÄNG-042 ställ in")
    async with transaction(sessions) as session:
        query = select(DecisionEvent).order_by(col(DecisionEvent.id).desc())
        last = (await session.exec(query)).first()
    assert last is not None and last.kind == "home_going_cancelled"
    assert last.author_id == events[0].author_id
    again = await figures(sessions, "2026-W49", date(2026, 12, 1))
    assert (again.extensions, again.home_going_plannings) == (1, 1)

    # The stay card: the first meeting is the follow-up, the later one is listed after it.
    card = cards(await channel.say(who, "vistelse äng-042"))[-1]
    assert_valid_card(card)
    text = card_texts(card)
    assert "24 nov" in text and "Nytt uppföljningsmöte" in text
    timeline = text[text.index("Ankomst") :]
    assert timeline.index("Uppföljningsmöte") < timeline.index("Nytt uppföljningsmöte")


async def test_the_held_day_is_asked_on_the_last_step_and_checked(
    channel: TeamsChannel,
    sessions: async_sessionmaker[AsyncSession],
    clock: FixedClock,
) -> None:
    stay_id = await seed_meeting_world(sessions)
    who = anna(channel)
    at(clock, 25)
    card = await to_last_step(channel, EXTENSION)
    assert_valid_card(card)
    held_input = next(
        node for node in card["body"] if node.get("id") == "held_on"
    )  # today by default, never later, never before the arrival
    assert (held_input["value"], held_input["max"], held_input["min"]) == (
        "2026-11-25",
        "2026-11-25",
        "2026-11-17",
    )

    future = texts(await channel.say(who, "hölls 26/11"))
    assert "Mötet kan inte ha hållits torsdag 26 november 2026" in future
    before_arrival = texts(await channel.say(who, "hölls 16/11"))
    assert "före ankomsten tisdag 17 november 2026" in before_arrival
    assert (await the_stay(sessions, stay_id)).followup_held_on is None  # nothing changed

    # The card's date: a meeting held on Monday, finished on Wednesday, is on time.
    card = cards(await channel.say(who, "tillbaka"))[-1]
    card = cards(await channel.say(who, "nästa"))[-1]
    replies = await channel.submit(who, press(card, "Avsluta mötet", held_on="2026-11-23"))
    assert "Mötesdatum: måndag 23 november 2026" in texts(replies)
    assert (await the_stay(sessions, stay_id)).followup_held_on == date(2026, 11, 23)
