"""Issue 17: Korttid writes times the Swedish way, "kl. 09.30", in every text and card a person
reads; what people type (9, 9.30, 09:30, 0930) is still understood, and the values a card's time
field holds stay HH:MM. The clock starts on Monday 23 November 2026, 09:00 in Stockholm."""

from __future__ import annotations

import re
from datetime import date, time

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.app import NOTIFIER
from dialogs.parsing import InvalidInput, parse_time
from storage.domain.clock import FixedClock
from tests.cards import assert_valid_card
from tests.channel import TeamsChannel
from tests.helpers import card_texts
from tests.meeting_helpers import press, walk
from tests.nudging import add_stay, install_team, local
from tests.stay_helpers import HOME_GOING_ANSWERS, last_card, texts

Sessions = async_sessionmaker[AsyncSession]
COLON_TIME = re.compile(r"\b\d{1,2}:\d{2}\b")


def _time_inputs(card: dict[str, object]) -> list[str]:
    return [str(node.get("value")) for node in walk(card) if node.get("type") == "Input.Time"]


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("9", time(9)), ("9:30", time(9, 30)), ("09:30", time(9, 30)), ("9.30", time(9, 30)),
     ("0930", time(9, 30)), ("kl. 13.15", time(13, 15)), ("1415", time(14, 15))],
)  # fmt: skip
def test_typed_times_are_understood(typed: str, expected: time) -> None:
    assert parse_time(typed) == expected


@pytest.mark.parametrize("typed", ["2460", "930a", "12345", "25.00"])
def test_impossible_times_are_refused(typed: str) -> None:
    with pytest.raises(InvalidInput):
        parse_time(typed)


async def test_a_home_going_is_shown_as_kl_09_30_everywhere(
    channel: TeamsChannel, sessions: Sessions, clock: FixedClock, app_server: TestServer
) -> None:
    users = await install_team(channel, sessions)
    hanna, karin = users["hanna"], users["karin"]
    await add_stay(sessions, "ÄNG-042", date(2026, 11, 20))

    sent = list(await channel.say(hanna, "hemgång ÄNG-042 26/11 0930"))
    for answer in HOME_GOING_ANSWERS:
        sent += await channel.say(hanna, answer)
    said = texts(sent)
    assert "går hem torsdag 26 november 2026 kl. 09.30." in said
    assert not COLON_TIME.search(said), said

    card = last_card(await channel.say(hanna, "vistelse ÄNG-042"))
    assert "torsdag 26 november 2026 kl. 09.30" in card_texts(card)
    assert not COLON_TIME.search(card_texts(card))

    await app_server.app[NOTIFIER].tick(clock.now())
    notice = channel.connector.cards(karin.conversation_id)[-1]
    assert_valid_card(notice)
    assert "09.30" in card_texts(notice) and not COLON_TIME.search(card_texts(notice))

    # The form to change it holds the value the time field needs.
    form = last_card(await channel.say(hanna, "hemgång ÄNG-042"))
    assert _time_inputs(form) == ["09:30"]

    # An afternoon home-going: the note and the nudge say "kl. 14.15".
    moved = texts(await channel.say(hanna, "hemgång ÄNG-042 26/11 1415"))
    assert "Noterat: hemgång kl. 14.15." in moved
    clock.set(local(date(2026, 11, 24), 8))
    await app_server.app[NOTIFIER].tick(clock.now(), every_slice=True)
    cards = channel.connector.cards(hanna.conversation_id)
    nudges = [card_texts(c) for c in cards if not _time_inputs(c)]  # forms hold HH:MM values
    assert any("kl. 14.15" in text for text in nudges)
    assert not any(COLON_TIME.search(text) for text in nudges)


async def test_a_called_meeting_is_shown_as_kl_10_15(
    channel: TeamsChannel, sessions: Sessions, clock: FixedClock, app_server: TestServer
) -> None:
    users = await install_team(channel, sessions)
    hanna, sara = users["hanna"], users["sara"]
    await add_stay(sessions, "ÄNG-042", date(2026, 11, 20))

    replies = []
    for answer in ("kalla ÄNG-042", "imorgon", "1015", "på enheten", "Rum 3", "alla"):
        replies = await channel.say(hanna, answer)
    said = texts(replies)
    assert "kallat till tisdag 24 november 2026 kl. 10.15" in said
    status = last_card(replies)
    assert "10.15" in card_texts(status) and not COLON_TIME.search(card_texts(status))

    await app_server.app[NOTIFIER].tick(clock.now())
    invitation = channel.connector.cards(sara.conversation_id)[-1]
    assert "10.15" in card_texts(invitation) and not COLON_TIME.search(card_texts(invitation))
    answered = texts(await channel.say(sara, "kommer ÄNG-042"))
    assert "tisdag 24 november 2026 kl. 10.15" in answered

    # "Ändra" on the status card asks again; the time question's field holds 10:15.
    await channel.submit(hanna, press(status, "Ändra"))
    time_card = last_card(await channel.say(hanna, "imorgon"))
    assert _time_inputs(time_card) == ["10:15"]
