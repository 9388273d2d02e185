"""Issue 17, item 4: one wording for the follow-up deadline, the seed's: "senast 7 dagar efter
ankomst" with the real date, also when the holiday rule moved the deadline earlier."""

from __future__ import annotations

import argparse
from datetime import date

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.notify_commands import cmd_tick
from bot.settings import Settings
from tests.cards import assert_valid_card
from tests.channel import TeamsChannel
from tests.helpers import card_texts
from tests.nudging import add_stay, install_team


async def test_followup_nudges_name_the_real_deadline_not_a_day_number(
    channel: TeamsChannel, sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    users = await install_team(channel, sessions)
    # Arrival + 7 is Good Friday 2027: the meeting must be held on Thursday 25 March.
    await add_stay(sessions, "ÄNG-301", date(2027, 3, 19))

    for day in (23, 25, 29, 30):  # two working days before, the day, the first working day after
        assert await cmd_tick(argparse.Namespace(now=f"2027-03-{day}T08:00"), settings) == 0

    cards = channel.connector.cards(users["hanna"].conversation_id)
    assert len(cards) == 3
    for card in cards:
        assert_valid_card(card)
    due, today, _overdue = (card_texts(card) for card in cards)
    assert "ska hållas senast 7 dagar efter ankomst, alltså senast torsdag 25 mars" in due
    assert "I dag är sista dagen för uppföljningsmötet: senast 7 dagar efter ankomst" in today
    assert "torsdag 25 mars" in today
    manager = " ".join(
        card_texts(c) for c in channel.connector.cards(users["cecilia"].conversation_id)
    )
    assert "senast 7 dagar efter ankomst, alltså senast torsdag 25 mars" in manager
    for text in (due, today, manager):
        assert "(dag 7)" not in text
