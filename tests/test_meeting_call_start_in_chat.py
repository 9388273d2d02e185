"""Issue 16: "Starta i chatten" on the handläggare's status card of a called meeting.

The status card lives in her personal chat (``kallelse KOD``), where a meeting would start in the
personal chat; so the button opens the steps to start it where the team is, and following them
in a group chat of the unit's staff starts the shared meeting.
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp.test_utils import TestServer

from tests.channel import TeamsChannel
from tests.helpers import card_texts
from tests.test_meeting_call_changes import call, last_card, world
from tests.test_meeting_shared import cards, in_group

GROUP = "19:korttid-test-group@thread.v2"


def show_card(card: dict[str, Any], title: str) -> dict[str, Any]:
    found = [a for a in card.get("actions") or [] if a.get("title") == title]
    assert found, [a.get("title") for a in card.get("actions") or []]
    assert found[0]["type"] == "Action.ShowCard"
    shown: dict[str, Any] = found[0]["card"]
    return shown


async def test_starta_i_chatten_tells_how_and_following_it_starts_the_shared_meeting(
    channel: TeamsChannel, sessions: Any, app_server: TestServer
) -> None:
    anna, sara, rut, ulla = await world(channel, sessions)
    await call(channel, anna, "imorgon", "10", "teams", "ingen", "1 2 3")
    status = last_card(await channel.say(anna, "kallelse ÄNG-042"))

    steps = card_texts(show_card(status, "Starta i chatten"))
    assert "Lägg till Korttid i chatten." in steps
    typed = re.search(r"Skriv @Korttid (.+) där\.", steps)
    assert typed is not None and typed.group(1) == "uppföljning ÄNG-042"
    assert "alla i chatten är personal på enheten" in steps

    # Following the steps in a group chat of the unit's staff starts the meeting there.
    channel.connector.chats[GROUP] = [p.member.id for p in (anna, sara, rut, ulla)]
    started = await channel.say(anna, typed.group(1), **in_group())
    shared = cards(started)
    assert shared and "Inledning och presentation" in card_texts(shared[-1])
    assert all(s.activity["conversation"]["id"] == GROUP for s in started)
