"""Issue 17, item 7 (seed 003): a care home granted during the stay, or the stay closed to one,
gives the nurse the task of telling the health centre and tells the coordinator; the coordinator
also hears of every extension with its new end date.

The clock stands at Monday 23 November 2026, 09:00 in Stockholm.
"""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestServer

from bot.app import NOTIFIER
from storage.domain.clock import FixedClock
from tests.cards import assert_valid_card
from tests.channel import TeamsChannel, TeamsUser
from tests.helpers import card_texts
from tests.meeting_helpers import (
    COORDINATOR,
    HANDLAGGARE,
    NURSE,
    items,
    outbox,
    seed_meeting_world,
    step_of,
)


def _user(channel: TeamsChannel, row: tuple[str, str, str, str]) -> TeamsUser:
    return channel.user(row[0].split("@")[0], row[0], row[1])


async def _hold(channel: TeamsChannel, *answers: str) -> str:
    anna = _user(channel, HANDLAGGARE)
    await channel.say(anna, "uppföljning ÄNG-042")
    for _ in range(7):
        await channel.say(anna, "nästa")
    assert step_of(channel.connector.cards()[-1]) == 8
    said: list[str] = []
    for text in (*answers, "nästa", "nästa"):
        said += [sent.activity.get("text") or "" for sent in await channel.say(anna, text)]
    return "\n".join(said)


async def _delivered(
    app_server: TestServer, clock: FixedClock, channel: TeamsChannel, user: TeamsUser
) -> list[dict[str, Any]]:
    await app_server.app[NOTIFIER].dispatcher.deliver_due(clock.now())
    cards = channel.connector.cards(user.conversation_id)
    for card in cards:
        assert_valid_card(card)
    return cards


async def _open_chats(channel: TeamsChannel) -> tuple[TeamsUser, TeamsUser]:
    sara, karin = _user(channel, NURSE), _user(channel, COORDINATOR)
    for person in (sara, karin):
        await channel.say(person, "hjälp")  # their chats are known
    return sara, karin


async def test_a_care_home_decision_gives_the_nurse_a_task_and_tells_the_coordinator(
    channel: TeamsChannel, sessions, app_server: TestServer, clock: FixedClock
) -> None:
    stay_id = await seed_meeting_world(sessions)
    sara, karin = await _open_chats(channel)

    said = await _hold(channel, "väntplats", "nej")

    assert "Korttidskoordinatorn får besked om beslutet." in said
    nurse = card_texts((await _delivered(app_server, clock, channel, sara))[-1])
    assert "Särskilt boende: ÄNG-042" in nurse and "hälsocentralen" in nurse
    coordinator = card_texts((await _delivered(app_server, clock, channel, karin))[-1])
    assert "Väntar på särskilt boende: ÄNG-042" in coordinator
    task = {item.kind: item.status for item in await items(sessions, stay_id)}
    assert task == {"care_home_notice": "not_ready"}
    await channel.say(sara, "klar hälsocentral ÄNG-042")
    task = {item.kind: item.status for item in await items(sessions, stay_id)}
    assert task["care_home_notice"] == "ready"


async def test_every_extension_tells_the_coordinator_the_new_end_date(
    channel: TeamsChannel, sessions, app_server: TestServer, clock: FixedClock
) -> None:
    await seed_meeting_world(sessions)
    _sara, karin = await _open_chats(channel)

    await _hold(channel, "förlängning", "2026-12-20", "Ny bedömning", "nej")
    await _hold(channel, "förlängning", "2026-12-30", "Väntar på hjälpmedel", "nej")

    cards = [card_texts(c) for c in await _delivered(app_server, clock, channel, karin)]
    extended = [text for text in cards if "Vistelsen förlängd: ÄNG-042" in text]
    assert len(extended) == 2
    assert "söndag 20 december 2026" in extended[0]
    assert "onsdag 30 december 2026" in extended[1]
    assert [m.kind for m in await outbox(sessions)] == ["stay_extension", "stay_extension"]


async def test_a_stay_closed_to_a_care_home_tells_the_nurse_and_the_coordinator(
    channel: TeamsChannel, sessions, app_server: TestServer, clock: FixedClock
) -> None:
    stay_id = await seed_meeting_world(sessions)
    sara, karin = await _open_chats(channel)
    anna = _user(channel, HANDLAGGARE)

    for text in ("avsluta ÄNG-042", "säbo", "idag"):
        await channel.say(anna, text)
    said = "\n".join(s.activity.get("text") or "" for s in await channel.say(anna, "ja"))

    assert "platsen är ledig" in said
    nurse = card_texts((await _delivered(app_server, clock, channel, sara))[-1])
    assert "Personen har flyttat till särskilt boende" in nurse
    coordinator = card_texts((await _delivered(app_server, clock, channel, karin))[-1])
    assert "Flyttat till särskilt boende: ÄNG-042" in coordinator
    assert [item.kind for item in await items(sessions, stay_id)] == ["care_home_notice"]
