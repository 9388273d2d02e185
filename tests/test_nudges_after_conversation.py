"""Nudges that would repeat the conversation (issue 19, item 6), over HTTP.

A note the conversation has just given is recorded as given, so the rule's nudge never arrives
a minute later saying the same thing; a nudge that lands in the middle of a multi-step form is
followed by the form's current question again.
"""

from __future__ import annotations

from datetime import date, time
from typing import Any

from aiohttp.test_utils import TestServer

from bot.app import NOTIFIER, SESSIONS
from storage.db import transaction
from storage.domain.clock import FixedClock
from storage.models import Stay
from tests.channel import TeamsChannel, TeamsUser
from tests.helpers import card_texts
from tests.meeting_helpers import HANDLAGGARE, OTHER_HANDLAGGARE, seed_meeting_world

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
