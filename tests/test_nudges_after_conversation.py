"""Nudges that would repeat the conversation (issue 19, item 6), over HTTP.

A note the conversation has just given is recorded as given, so the rule's nudge never arrives
a minute later saying the same thing; a nudge that lands in the middle of a multi-step form is
followed by the form's current question again.
"""

from __future__ import annotations

from datetime import date, time, timedelta
from typing import Any

from aiohttp.test_utils import TestServer

from bot.app import NOTIFIER, SESSIONS
from storage.db import transaction
from storage.domain.clock import FixedClock
from storage.models import Stay
from tests.cards import assert_valid_card
from tests.channel import TeamsChannel, TeamsUser
from tests.helpers import card_texts
from tests.meeting_helpers import HANDLAGGARE, OTHER_HANDLAGGARE, seed_meeting_world
from tests.stay_helpers import (
    HANNA,
    KARIN,
    SARA,
    last_card,
    plan_home_going,
    seed_people,
    seed_stay,
    stay_by_code,
    texts,
)

AFTERNOON_NUDGE = "Hemgång på eftermiddagen: ÄNG-042"


def user(channel: TeamsChannel, row: tuple[str, str, str, str]) -> TeamsUser:
    return channel.user(row[0].split("@")[0], row[0], row[1])


def afternoon_nudges(channel: TeamsChannel, person: TeamsUser) -> list[dict[str, Any]]:
    cards = channel.connector.cards(person.conversation_id)
    return [card for card in cards if AFTERNOON_NUDGE in card_texts(card)]


async def hold_meeting_with_home_going_at(channel: TeamsChannel, anna: TeamsUser, at: str) -> str:
    """The typed meeting for ÄNG-042 deciding home-going on 3 December at ``at``; returns what
    the bot said when the time was typed."""
    await channel.say(anna, "uppföljning ÄNG-042")
    for _ in range(7):
        await channel.say(anna, "nästa")
    await channel.say(anna, "hemgång")
    await channel.say(anna, "3 dec")
    replies = await channel.say(anna, at)
    said = " ".join(sent.activity.get("text") or "" for sent in replies)
    for answer in ("färdtjänst", "ja", "Hemtjänst Centrum", "010-123 45 67", "nej", "nej"):
        await channel.say(anna, answer)
    await channel.say(anna, "nästa")
    replies = await channel.say(anna, "nästa")
    assert any("är sparat" in (sent.activity.get("text") or "") for sent in replies)
    return said


async def test_the_meeting_gave_the_afternoon_note_so_no_nudge_repeats_it(
    channel: TeamsChannel, app_server: TestServer, clock: FixedClock
) -> None:
    await seed_meeting_world(app_server.app[SESSIONS])
    anna, henrik = user(channel, HANDLAGGARE), user(channel, OTHER_HANDLAGGARE)
    await channel.say(henrik, "hjälp")  # his chat is known: he can be nudged

    said = await hold_meeting_with_home_going_at(channel, anna, "14.00")
    await app_server.app[NOTIFIER].tick(clock.now())

    assert "Hemgång på förmiddagen är att föredra" in said
    assert afternoon_nudges(channel, anna) == []
    # Henrik, the unit's other handläggare, was not in the meeting: he is still told.
    assert len(afternoon_nudges(channel, henrik)) == 1


async def test_an_afternoon_time_set_without_the_conversation_is_still_nudged(
    channel: TeamsChannel, app_server: TestServer, clock: FixedClock
) -> None:
    sessions = app_server.app[SESSIONS]
    stay_id = await seed_meeting_world(sessions)
    anna = user(channel, HANDLAGGARE)
    await channel.say(anna, "hjälp")
    async with transaction(sessions) as session:  # e.g. an import: no conversation said it
        stay = await session.get(Stay, stay_id)
        assert stay is not None
        stay.home_going_date, stay.home_going_time = date(2026, 12, 3), time(14, 0)
        session.add(stay)

    await app_server.app[NOTIFIER].tick(clock.now())

    assert len(afternoon_nudges(channel, anna)) == 1


async def test_hemgang_typed_in_the_afternoon_is_not_nudged_again(
    channel: TeamsChannel, app_server: TestServer, clock: FixedClock
) -> None:
    sessions = app_server.app[SESSIONS]
    await seed_people(sessions, HANNA, SARA, KARIN)
    await seed_stay(sessions, clock, "ÄNG-042")
    hanna = channel.user("hanna", *HANNA[:2])

    said = texts(await plan_home_going(channel, hanna, "ÄNG-042", "3/12 14:00"))
    await app_server.app[NOTIFIER].tick(clock.now())

    assert "Hemgång på förmiddagen är att föredra" in said
    assert afternoon_nudges(channel, hanna) == []


async def test_a_nudge_in_the_middle_of_ny_vistelse_is_followed_by_its_question(
    channel: TeamsChannel, app_server: TestServer, clock: FixedClock
) -> None:
    sessions = app_server.app[SESSIONS]
    await seed_people(sessions, HANNA, SARA, KARIN)
    stay_id = await seed_stay(sessions, clock, "ÄNG-042")
    hanna = channel.user("hanna", *HANNA[:2])
    await channel.say(hanna, "ny vistelse")
    await channel.say(hanna, "ÄNG-014")
    asked = last_card(await channel.say(hanna, "5"))
    assert "Vilket datum kom personen" in card_texts(asked)
    async with transaction(sessions) as session:  # a nudge becomes due for ÄNG-042
        stay = await session.get(Stay, stay_id)
        assert stay is not None
        stay.home_going_date, stay.home_going_time = date(2026, 12, 3), time(14, 0)
        session.add(stay)
    before = len(channel.connector.for_conversation(hanna.conversation_id))

    await app_server.app[NOTIFIER].tick(clock.now())

    arrived = channel.connector.cards(hanna.conversation_id)[-2:]
    assert len(channel.connector.for_conversation(hanna.conversation_id)) == before + 2
    assert AFTERNOON_NUDGE in card_texts(arrived[0])
    assert_valid_card(arrived[1])
    assert "Vilket datum kom personen" in card_texts(arrived[1])
    # The form goes on where it was: the answers given before the nudge are kept.
    for answer in ("i går", "om två veckor", "ja", "Träna förflyttning", "nej", "1"):
        replies = await channel.say(hanna, answer)
    assert "Stämmer det här?" in card_texts(last_card(replies))
    assert "Vistelsen ÄNG-014 är registrerad" in texts(await channel.say(hanna, "spara"))
    registered = await stay_by_code(sessions, "ÄNG-014")
    assert registered is not None
    assert (registered.room, registered.arrival_date) == ("5", date(2026, 11, 22))


async def test_a_nudge_outside_any_dialog_comes_alone(
    channel: TeamsChannel, app_server: TestServer, clock: FixedClock
) -> None:
    sessions = app_server.app[SESSIONS]
    await seed_people(sessions, HANNA, SARA, KARIN)
    await seed_stay(sessions, clock, "ÄNG-042")
    hanna = channel.user("hanna", *HANNA[:2])
    await channel.say(hanna, "ny vistelse")
    await channel.say(hanna, "avbryt")
    await plan_home_going(channel, hanna, "ÄNG-042", "3/12 09:00")
    channel.connector.clear()
    async with transaction(sessions) as session:
        stay = await stay_by_code(sessions, "ÄNG-042")
        assert stay is not None
        stay.home_going_time = time(15, 0)  # changed elsewhere: no conversation said it
        session.add(await session.merge(stay))

    await app_server.app[NOTIFIER].tick(clock.now())

    cards = channel.connector.cards(hanna.conversation_id)
    assert [AFTERNOON_NUDGE in card_texts(card) for card in cards] == [True]


async def test_a_question_left_hours_ago_is_not_asked_again_after_a_nudge(
    channel: TeamsChannel, app_server: TestServer, clock: FixedClock
) -> None:
    sessions = app_server.app[SESSIONS]
    await seed_people(sessions, HANNA, SARA, KARIN)
    stay_id = await seed_stay(sessions, clock, "ÄNG-042")
    hanna = channel.user("hanna", *HANNA[:2])
    await channel.say(hanna, "ny vistelse")
    await channel.say(hanna, "ÄNG-014")  # then left unanswered: the form has expired
    async with transaction(sessions) as session:
        stay = await session.get(Stay, stay_id)
        assert stay is not None
        stay.home_going_date, stay.home_going_time = date(2026, 12, 3), time(14, 0)
        session.add(stay)
    clock.set(clock.now() + timedelta(hours=5))
    channel.connector.clear()

    await app_server.app[NOTIFIER].tick(clock.now())

    cards = channel.connector.cards(hanna.conversation_id)
    assert [AFTERNOON_NUDGE in card_texts(card) for card in cards] == [True]
