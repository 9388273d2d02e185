"""Calling the follow-up meeting (issue 15): moving, cancelling, bad input, reminders, summary."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp.test_utils import TestServer
from sqlmodel import select

from bot.app import NOTIFIER
from storage.db import transaction
from storage.domain.clock import FixedClock
from storage.models import AuditEvent, MeetingCall, MeetingCallParticipant, MeetingUnderlag
from tests.cards import assert_valid_card
from tests.channel import TeamsChannel, TeamsUser
from tests.helpers import card_texts, seed_staff
from tests.meeting_helpers import HANDLAGGARE, NURSE, outbox, press, seed_meeting_world

REHAB = ("rut@kommun.se", "Rut Rehab", "rehab", "ÄNG")
USK = ("ulla@kommun.se", "Ulla Undersköterska", "omsorgspersonal", "ÄNG")


def user(channel: TeamsChannel, row: tuple[str, str, str, str]) -> TeamsUser:
    return channel.user(row[0].split("@")[0], row[0], row[1])


def texts(replies: list[Any]) -> str:
    return "\n".join(s.activity.get("text") or "" for s in replies)


def last_card(replies: list[Any]) -> dict[str, Any]:
    cards = [a["content"] for s in replies for a in s.activity.get("attachments") or []]
    assert cards, texts(replies)
    assert_valid_card(cards[-1])
    return cards[-1]


async def world(channel: TeamsChannel, sessions: Any) -> tuple[TeamsUser, ...]:
    await seed_meeting_world(sessions)
    await seed_staff(sessions, REHAB, USK)
    people = tuple(user(channel, row) for row in (HANDLAGGARE, NURSE, REHAB, USK))
    for person in people[1:]:
        await channel.say(person, "hjälp")
    return people


async def call(channel: TeamsChannel, anna: TeamsUser, *answers: str) -> list[Any]:
    replies = await channel.say(anna, "kalla ÄNG-042")
    for answer in answers:
        replies = await channel.say(anna, answer)
    return replies


def headlines(channel: TeamsChannel, person: TeamsUser) -> list[str]:
    return [str(c["body"][0]["text"]) for c in channel.connector.cards(person.conversation_id)]


async def rows(sessions: Any, model: Any) -> list[Any]:
    async with transaction(sessions) as session:
        return list((await session.exec(select(model))).all())


async def test_moving_adding_removing_and_cancelling_tell_each_person_once(
    channel: TeamsChannel, sessions: Any, app_server: TestServer, clock: FixedClock
) -> None:
    anna, sara, rut, ulla = await world(channel, sessions)
    await call(channel, anna, "imorgon", "10", "på enheten", "Rum 3", "1 2")
    notifier = app_server.app[NOTIFIER]
    await notifier.tick(clock.now())
    invitation = channel.connector.cards(sara.conversation_id)[-1]

    # Moved to Thursday, on Teams; Rut is taken off the list and Ulla is added.
    replies = await call(channel, anna, "torsdag", "10", "teams", "ingen", "1 3")
    assert "Kallelsen för ÄNG-042 är ändrad: torsdag 26 november 2026" in texts(replies)
    assert "efter sista dagen för uppföljningen, tisdag 24 november 2026" in texts(replies)
    await notifier.tick(clock.now())
    await notifier.tick(clock.now())  # a second tick sends nothing twice
    assert headlines(channel, sara)[-2:] == [
        "Kallelse till uppföljningsmöte: ÄNG-042",
        "Ändrad kallelse: ÄNG-042",
    ]
    update = channel.connector.cards(sara.conversation_id)[-1]
    assert "Ändrat: datum, form, plats eller länk" in card_texts(update)
    assert headlines(channel, rut)[-1] == "Inställt uppföljningsmöte: ÄNG-042"
    assert headlines(channel, ulla)[-1] == "Kallelse till uppföljningsmöte: ÄNG-042"
    assert len(headlines(channel, rut)) == 3  # help, invitation, cancellation
    assert len(headlines(channel, ulla)) == 2  # help, invitation

    # Cancelled from the status card: each one still called gets one cancellation.
    status = last_card(await channel.say(anna, "kallelse ÄNG-042"))
    replies = await channel.submit(anna, press(status, "Ställ in mötet"))
    assert "Mötet för ÄNG-042 är inställt. 2 kallade får besked." in texts(replies)
    await notifier.tick(clock.now())
    assert headlines(channel, sara)[-1] == "Inställt uppföljningsmöte: ÄNG-042"
    assert headlines(channel, ulla)[-1] == "Inställt uppföljningsmöte: ÄNG-042"
    assert len(headlines(channel, rut)) == 3

    # The old invitation pressed after the cancellation changes nothing.
    replies = await channel.submit(sara, press(invitation, "Jag kommer"))
    assert "är inställt, så det går inte att svara" in texts(replies)
    assert all(p.answer is None for p in await rows(sessions, MeetingCallParticipant))
    keys = [row.key for row in await outbox(sessions) if row.kind.startswith("meeting_call_")]
    assert len(keys) == len(set(keys)) == 7
    async with transaction(sessions) as session:
        actions = [e.action for e in (await session.exec(select(AuditEvent))).all()]
    assert actions.count("meeting_call.create") == 1
    assert actions.count("meeting_call.change") == 1
    assert actions.count("meeting_call.cancel") == 1
    for card in channel.connector.cards():  # invitations, updates, cancellations, status cards
        assert_valid_card(card)


async def test_bad_answers_are_explained_and_change_nothing(
    channel: TeamsChannel, sessions: Any
) -> None:
    anna, *_staff = await world(channel, sessions)
    await channel.say(anna, "kalla ÄNG-042")
    for wrong, expected in (
        ("blabla", "Jag förstår inte datumet"),
        ("20/11", "har redan varit"),
        ("28/11", "är ingen arbetsdag"),
    ):
        assert expected in texts(await channel.say(anna, wrong))
    await channel.say(anna, "i morgon")
    assert "Jag förstår inte klockslaget" in texts(await channel.say(anna, "25:00"))
    await channel.say(anna, "13.15")
    assert "Skriv **på enheten**" in texts(await channel.say(anna, "video"))
    await channel.say(anna, "teams")
    replies = await channel.say(anna, "https://zoom.us/j/123")
    assert "ingen länk till ett Teams-möte" in texts(replies)
    card = last_card(await channel.say(anna, "https://teams.live.com/meet/123"))
    participants = card["body"][-2]
    assert participants["isMultiSelect"] is True
    tampered = press(card, "Skicka kallelsen", participants="s9999")
    assert "finns inte bland dem jag föreslog" in texts(await channel.submit(anna, tampered))
    assert "Ingen legitimerad personal är vald" in texts(await channel.say(anna, "3"))
    assert await rows(sessions, MeetingCall) == []
    replies = await channel.say(anna, "3 utan legitimerad")
    assert "kallat utan legitimerad personal" in texts(replies)
    (saved,) = await rows(sessions, MeetingCall)
    assert saved.without_licensed and saved.place == "https://teams.live.com/meet/123"
    assert "Kallat utan legitimerad personal" in card_texts(last_card(replies))


async def test_underlag_guards_personal_numbers_and_other_steps(
    channel: TeamsChannel, sessions: Any, app_server: TestServer, clock: FixedClock
) -> None:
    anna, sara, rut, _ulla = await world(channel, sessions)
    await call(channel, anna, "imorgon", "10", "på enheten", "ingen", "1 2")
    await app_server.app[NOTIFIER].tick(clock.now())
    replies = await channel.say(sara, "underlag ÄNG-042 1: personen 19121212-1212 har sår")
    assert "personnummer" in texts(replies)
    invitation = channel.connector.cards(sara.conversation_id)[-1]
    form = last_card(await channel.submit(sara, press(invitation, "Lämna underlag")))
    other_step = {**press(form, "Spara underlaget"), "step_id": "health_rehab"}
    assert "Det steget är inte ditt" in texts(await channel.submit(sara, other_step))
    assert "Det steget är inte ditt" in texts(await channel.say(sara, "underlag ÄNG-042 steg 4"))
    assert await rows(sessions, MeetingUnderlag) == []
    # The handläggare records the physiotherapist's underlag on her behalf.
    replies = await channel.say(anna, "underlag ÄNG-042 steg 4 3: Rollator finns.")
    assert "Ditt underlag för steg 4" in texts(replies)
    (row,) = await rows(sessions, MeetingUnderlag)
    assert row.on_behalf and row.author_role == "rehab" and row.topics == ["assistive_devices"]
    status = last_card(await channel.say(anna, "kallelse ÄNG-042"))
    assert "0 har lämnat underlag" in card_texts(status)  # Rut herself has not
    assert rut is not None


async def test_reminders_the_working_day_before_over_a_holiday(
    channel: TeamsChannel, sessions: Any, app_server: TestServer, clock: FixedClock
) -> None:
    anna, sara, rut, ulla = await world(channel, sessions)
    await channel.say(anna, "hjälp")
    # Monday 28 December: the working day before is Wednesday 23 (julafton and juldagen between).
    await call(channel, anna, "28/12", "9", "på enheten", "ingen", "alla")
    notifier = app_server.app[NOTIFIER]
    await notifier.tick(clock.now())
    await channel.say(sara, "kommer ÄNG-042")
    await channel.say(rut, "kan inte ÄNG-042 semester")
    counts = {p.member.name: len(headlines(channel, p)) for p in (sara, rut, ulla, anna)}

    for instant in (
        datetime(2026, 12, 22, 13, 0, tzinfo=UTC),  # Tuesday 14:00 in Stockholm: too early
        datetime(2026, 12, 23, 12, 59, tzinfo=UTC),  # Wednesday 13:59
    ):
        await notifier.tick(instant)
    assert {p.member.name: len(headlines(channel, p)) for p in (sara, rut, ulla, anna)} == counts

    for _ in range(2):  # 14:00 the working day before, and a tick after it: once each
        await notifier.tick(datetime(2026, 12, 23, 13, 0, tzinfo=UTC))
    assert headlines(channel, ulla)[-1] == "Påminnelse: uppföljningsmöte ÄNG-042"
    assert_valid_card(channel.connector.cards(ulla.conversation_id)[-1])
    assert len(headlines(channel, ulla)) == counts["Ulla Undersköterska"] + 1
    assert len(headlines(channel, sara)) == counts["Sara Sjuksköterska"]  # she answered
    assert len(headlines(channel, rut)) == counts["Rut Rehab"]  # so did Rut
    absent = channel.connector.cards(anna.conversation_id)[-1]
    assert_valid_card(absent)
    assert "Rut Rehab (fysioterapeut/arbetsterapeut): semester" in card_texts(absent)
    assert len(headlines(channel, anna)) == counts["Anna Handläggare"] + 1


async def test_the_follow_up_nudge_names_a_booking_on_or_before_the_deadline(
    channel: TeamsChannel, sessions: Any, app_server: TestServer, clock: FixedClock
) -> None:
    anna, *_staff = await world(channel, sessions)
    await channel.say(anna, "hjälp")
    # The deadline is Tuesday 24 November; Anna calls the meeting for that very day.
    await call(channel, anna, "imorgon", "10", "på enheten", "ingen", "1")
    await app_server.app[NOTIFIER].tick(clock.now())
    nudge = channel.connector.cards(anna.conversation_id)[-1]
    assert_valid_card(nudge)
    text = card_texts(nudge)
    assert "Mötet är kallat till tisdag 24 november 2026 kl. 10.00." in text
    assert "Kalla legitimerad personal i tid" not in text
    assert "Kalla till möte" not in [a["title"] for a in nudge["actions"]]


async def test_without_a_booking_the_nudge_asks_to_call_and_offers_the_button(
    channel: TeamsChannel, sessions: Any, app_server: TestServer, clock: FixedClock
) -> None:
    anna, *_staff = await world(channel, sessions)
    await channel.say(anna, "hjälp")
    await app_server.app[NOTIFIER].tick(clock.now())
    nudge = channel.connector.cards(anna.conversation_id)[-1]
    assert "Kalla legitimerad personal i tid" in card_texts(nudge)
    button = next(a for a in nudge["actions"] if a["title"] == "Kalla till möte")
    card = last_card(await channel.submit(anna, button["data"]))
    assert "Vilken dag hålls mötet?" in card_texts(card)


async def test_retention_removes_the_free_text_of_calls_of_long_closed_stays(
    channel: TeamsChannel, sessions: Any, app_server: TestServer, clock: FixedClock
) -> None:
    from datetime import date

    from dialogs.retention import purge_closed_stay_notes
    from storage.models import Stay

    anna, sara, rut, _ulla = await world(channel, sessions)
    await call(channel, anna, "imorgon", "10", "på enheten", "Konferensrummet", "1 2")
    await channel.say(rut, "kan inte ÄNG-042 på kurs")
    await channel.say(sara, "underlag ÄNG-042 4: Såret läker.")
    await app_server.app[NOTIFIER].tick(clock.now())  # the invitations went out
    async with transaction(sessions) as session:
        (stay,) = (await session.exec(select(Stay))).all()
        stay.status, stay.departure_date = "closed", date(2024, 1, 2)
        session.add(stay)
    async with transaction(sessions) as session:
        await purge_closed_stay_notes(session, today=date(2026, 11, 23), months=24, now=clock.now())
    (saved,) = await rows(sessions, MeetingCall)
    assert saved.place is None
    assert [p.reason for p in await rows(sessions, MeetingCallParticipant)] == [None, None]
    (underlag,) = await rows(sessions, MeetingUnderlag)
    assert underlag.note is None and underlag.topics == ["wounds"]  # what counts stays
    payloads = [r.payload for r in await outbox(sessions) if r.kind.startswith("meeting_call")]
    assert payloads and all(p.get("place") is None for p in payloads if p)
