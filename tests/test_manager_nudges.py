"""An enhetschef sees figures, not people (DOMAIN.md, issue 9): the escalations that reach a
manager over a week of ticks on the demo data name the unit, never a stay."""

from __future__ import annotations

import argparse
import json
import re
from datetime import date, timedelta

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.demo import seed_demo
from bot.notify_commands import cmd_tick
from bot.settings import Settings
from storage.db import transaction
from tests.cards import assert_valid_card
from tests.channel import TeamsChannel
from tests.nudging import headline

CASE_CODE = re.compile(r"[A-ZÅÄÖ]{2,4}-\d{3}")


async def test_no_card_to_an_enhetschef_names_a_stay(
    channel: TeamsChannel, sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    monday = date(2026, 11, 23)
    async with transaction(sessions) as session:
        await seed_demo(session, today=monday)
    chef = channel.user("chef", "chef@demo.korttid.se", "Cecilia Enhetschef")
    handlaggare = channel.user("handlaggare", "handlaggare@demo.korttid.se")
    for user in (chef, handlaggare):
        await channel.say(user, "hej")
    channel.connector.clear()

    for day in range(5):  # the working week: overdue meetings, long stays, escalations
        now = f"{monday + timedelta(days=day)}T08:00"
        assert await cmd_tick(argparse.Namespace(now=now), settings) == 0

    cards = channel.connector.cards(chef.conversation_id)
    titles = {headline(card) for card in cards}
    for escalation in ("Försenat uppföljningsmöte på", "Lång vistelse på", "Hemgång utan klar"):
        assert any(title.startswith(escalation) for title in titles), escalation
    for card in cards:
        assert_valid_card(card)
        assert not CASE_CODE.search(json.dumps(card, ensure_ascii=False)), headline(card)
        assert "actions" not in card  # nothing a manager could open
    # The same week, the handläggare's cards still say which stay.
    own = channel.connector.cards(handlaggare.conversation_id)
    assert any(CASE_CODE.search(headline(card)) for card in own)
