"""An escalation about one stay to the unit's own enhetschef names the stay's case code (and
room and handläggare) so the manager can act on it (issue 17, item 14; it reverses part of
issue 9), but offers nothing that opens the stay; over a week of ticks on the demo data."""

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


async def test_every_escalation_to_an_enhetschef_names_its_stay_and_opens_nothing(
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
    escalations = ("Försenat uppföljningsmöte på", "Lång vistelse på", "Hemgång utan klar")
    for escalation in escalations:
        assert any(title.startswith(escalation) for title in titles), escalation
    for card in cards:
        assert_valid_card(card)
        named = CASE_CODE.search(json.dumps(card, ensure_ascii=False))
        if headline(card).startswith(escalations):
            assert named, headline(card)
            assert "actions" not in card  # nothing a manager could open
        else:  # the weekly digest stays aggregate
            assert headline(card).startswith("Veckorapport") and not named
    # The same week, the handläggare's cards still say which stay.
    own = channel.connector.cards(handlaggare.conversation_id)
    assert any(CASE_CODE.search(headline(card)) for card in own)
