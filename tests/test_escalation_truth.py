"""An escalation tells the enhetschef what actually happened to the handläggare's reminder.

End to end over HTTP with the tick: a follow-up meeting is overdue; the enhetschef's card says
when the handläggare got the reminder, or that it still waits because the handläggare has not
opened Korttid. Never "Handläggaren har fått en påminnelse" when she did not.
"""

from __future__ import annotations

from datetime import date

from aiohttp.test_utils import TestServer
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.app import NOTIFIER
from tests.cards import assert_valid_card
from tests.channel import TeamsChannel
from tests.helpers import card_texts, seed_staff
from tests.nudging import PEOPLE, add_stay, headline, local

Sessions = async_sessionmaker[AsyncSession]
ARRIVAL = date(2026, 11, 16)  # deadline Monday 23 November; overdue Tuesday 24 November
DEADLINE, OVERDUE = date(2026, 11, 23), date(2026, 11, 24)


async def _escalation(channel: TeamsChannel, conversation_id: str) -> str:
    [card] = [
        card
        for card in channel.connector.cards(conversation_id)
        if headline(card).startswith("Försenat uppföljningsmöte på")
    ]
    assert_valid_card(card)
    return card_texts(card)


async def test_the_escalation_says_when_the_handlaggare_was_reminded(
    channel: TeamsChannel, sessions: Sessions, app_server: TestServer
) -> None:
    await seed_staff(sessions, *((email, name, role, "ÄNG") for _, email, name, role in PEOPLE))
    hanna = channel.user("hanna", "hanna@kommun.se", "Hanna Handläggare")
    cecilia = channel.user("cecilia", "cecilia@kommun.se", "Cecilia Enhetschef")
    for person in (hanna, cecilia):
        await channel.say(person, "hej")
    await add_stay(sessions, "ÄNG-001", ARRIVAL)
    notifier = app_server.app[NOTIFIER]

    await notifier.tick(local(DEADLINE, 7, 5))
    await notifier.tick(local(OVERDUE, 7, 0))

    text = await _escalation(channel, cecilia.conversation_id)
    assert "Handläggaren fick en påminnelse måndag 23 november 2026 kl. 07.05." in text
    assert "ÄNG-001, rum 4" in text  # the unit's own enhetschef is told which stay (issue 17)


async def test_the_escalation_says_the_reminder_still_waits(
    channel: TeamsChannel, sessions: Sessions, app_server: TestServer
) -> None:
    await seed_staff(sessions, *((email, name, role, "ÄNG") for _, email, name, role in PEOPLE))
    cecilia = channel.user("cecilia", "cecilia@kommun.se", "Cecilia Enhetschef")
    await channel.say(cecilia, "hej")  # Hanna, the handläggare, never opened Korttid
    await add_stay(sessions, "ÄNG-001", ARRIVAL)
    notifier = app_server.app[NOTIFIER]

    await notifier.tick(local(DEADLINE, 7, 5))
    await notifier.tick(local(OVERDUE, 7, 0))

    text = await _escalation(channel, cecilia.conversation_id)
    assert "Handläggaren har inte öppnat Korttid än, så påminnelsen väntar på att nå fram." in text
    assert "fick en påminnelse" not in text and "har fått en påminnelse" not in text
