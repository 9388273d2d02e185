"""The meeting's decision form, refusals and notes in a shared chat (issue 16), over HTTP.

The decision form behaves like the step card: Action.Execute, answered in the invoke response.
Whatever a press may not do, and whatever it got wrong, is told to the presser alone (the invoke
answer), never posted to the chat. Two notes saved at once from cards showing the same old note
both stay: the stored text, then what the second presser added.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer

from bot.app import create_app
from bot.settings import Settings
from storage.domain.clock import FixedClock
from tests.cards import assert_valid_card
from tests.channel import TeamsChannel, TeamsUser
from tests.meeting_helpers import OTHER_HANDLAGGARE, card_inputs, step_of, the_meeting, walk
from tests.test_meeting_shared import (
    CARD_TYPE,
    GROUP,
    MESSAGE_TYPE,
    answered_card,
    button,
    cards,
    group_of_four,
    in_group,
    press,
    texts,
    user,
)

PNR = "19121212-1212"
GOOD_DECISION = {
    "date": "2026-12-03",
    "time": "09:30",
    "transport": "fardtjanst",
    "home_help_meets": "true",
    "provider_name": "Hemtjänst Centrum",
    "provider_contact": "010-123 45 67",
}


async def started(channel: TeamsChannel, owner: TeamsUser) -> dict[str, Any]:
    [card] = cards(await channel.say(owner, "uppföljning ÄNG-042", **in_group()))
    return card


async def to_step(
    channel: TeamsChannel, owner: TeamsUser, card: dict[str, Any], step: int
) -> dict[str, Any]:
    while step_of(card) < step:
        card = answered_card((await press(channel, owner, card, "Nästa"))[0])
    return card


async def the_form(channel: TeamsChannel, owner: TeamsUser) -> dict[str, Any]:
    """The owner has walked to the decision step and chosen home-going: the form is open."""
    card = await to_step(channel, owner, await started(channel, owner), 8)
    body, _sent = await press(channel, owner, card, "Hemgång")
    return answered_card(body)


def is_private_refusal(body: dict[str, Any], sent: list[Any], words: str) -> bool:
    """The presser alone was told (the invoke answer), naming no stay; the chat got nothing."""
    return (
        body["type"] == MESSAGE_TYPE
        and words in body["value"]
        and "ÄNG-042" not in body["value"]
        and sent == []
    )


def note_of(card: dict[str, Any]) -> str:
    [note] = [n for n in walk(card) if n.get("id") == "note"]
    return str(note["value"])


async def stored_note(sessions: Any, step_id: str = "health_nurse") -> str | None:
    note = (await the_meeting(sessions)).steps.get(step_id, {}).get("note")
    return None if note is None else str(note)


async def test_the_decision_form_in_a_group_is_pressed_like_the_step_card(
    channel: TeamsChannel, sessions: Any
) -> None:
    anna, sara, _per, _ulla = await group_of_four(channel, sessions)
    form = await the_form(channel, anna)
    assert "Beslut: Hemgång" in json.dumps(form, ensure_ascii=False)
    save = button(form, "Spara beslutet")
    assert save["type"] == "Action.Execute" and save["verb"] == "meeting"
    assert form["refresh"]["userIds"] == channel.connector.chats[GROUP]

    # The nurse presses the owner's buttons: she alone hears it is not hers; nothing is recorded.
    for title in ("Spara beslutet", "Tillbaka"):
        body, sent = await press(channel, sara, form, title, **GOOD_DECISION)
        assert is_private_refusal(body, sent, "sparar beslutet"), (title, body, sent)
    meeting = await the_meeting(sessions)
    assert meeting.current_step == 8
    assert meeting.decision is not None and "final" not in meeting.decision
    assert meeting.decision["draft"]["kind"] == "home_going"  # the owner's form is still open

    # The owner saves it: the answer is the next step's card, and the chat's card follows.
    body, sent = await press(channel, anna, form, "Spara beslutet", **GOOD_DECISION)
    card = answered_card(body)
    assert step_of(card) == 9
    assert "Beslutet är noterat: Hemgång" in " ".join(texts(sent))
    assert [s.method for s in sent if cards([s])] == ["PUT"]
    assert (await the_meeting(sessions)).decision["final"]["kind"] == "home_going"  # type: ignore[index]


async def test_the_nurse_choosing_a_decision_kind_is_told_privately(
    channel: TeamsChannel, sessions: Any
) -> None:
    anna, sara, _per, _ulla = await group_of_four(channel, sessions)
    card = await to_step(channel, anna, await started(channel, anna), 8)
    body, sent = await press(channel, sara, card, "Hemgång")
    assert is_private_refusal(body, sent, "sparar beslutet")
    assert (await the_meeting(sessions)).decision is None


async def test_a_form_with_mistakes_goes_back_to_the_owner_alone_with_her_values(
    channel: TeamsChannel, sessions: Any
) -> None:
    anna, _sara, _per, _ulla = await group_of_four(channel, sessions)
    form = await the_form(channel, anna)
    typed = {
        **GOOD_DECISION,
        "date": "2027-03-01",  # after the decided end, 8 December 2026
        "provider_contact": "ring henne",
        "provider_name": f"Hemtjänst {PNR}",
    }
    body, sent = await press(channel, anna, form, "Spara beslutet", **typed)

    assert sent == []  # no line in the chat, and the chat's card is not touched
    back = answered_card(body)
    assert "refresh" not in back  # an automatic refresh would wipe what she typed
    shown = json.dumps(back, ensure_ascii=False)
    assert "Beslutet är inte sparat än" in shown
    assert "personnummer" in shown and "ring henne" in shown
    inputs = card_inputs(back)
    assert inputs["date"] == "2027-03-01" and inputs["provider_contact"] == "ring henne"
    assert inputs["transport"] == "fardtjanst"
    assert button(back, "Spara beslutet")["type"] == "Action.Execute"
    meeting = await the_meeting(sessions)
    assert meeting.decision is not None and "final" not in meeting.decision
    assert meeting.current_step == 8

    # Fixed from the card she got back, it is saved.
    body, _sent = await press(channel, anna, back, "Spara beslutet", **GOOD_DECISION)
    assert step_of(answered_card(body)) == 9


async def test_the_owner_refreshing_the_open_form_keeps_the_form(
    channel: TeamsChannel, sessions: Any
) -> None:
    anna, sara, _per, _ulla = await group_of_four(channel, sessions)
    form = await the_form(channel, anna)
    refresh = form["refresh"]["action"]

    async def refreshed(who: TeamsUser) -> dict[str, Any]:
        body, sent = await channel.execute(
            who, refresh["verb"], refresh["data"], trigger="automatic", **in_group()
        )
        assert sent == []
        return answered_card(body)

    owners = await refreshed(anna)
    assert button(owners, "Spara beslutet")["type"] == "Action.Execute"
    nurses = await refreshed(sara)  # the decision step, read-only: no form, no buttons
    assert step_of(nurses) == 8
    assert not [n for n in walk(nurses) if str(n.get("type")).startswith("Action.")]


async def test_a_personal_number_in_a_note_is_refused_to_the_presser_alone(
    channel: TeamsChannel, sessions: Any
) -> None:
    anna, sara, _per, _ulla = await group_of_four(channel, sessions)
    card = await to_step(channel, anna, await started(channel, anna), 3)
    note = f"Ring dottern om {PNR}"
    for who, title in ((sara, "Spara"), (anna, "Nästa")):
        body, sent = await press(channel, who, card, title, note=note)
        assert is_private_refusal(body, sent, "personnummer"), (title, body, sent)
    assert await stored_note(sessions) is None
    assert (await the_meeting(sessions)).current_step == 3
    assert all(PNR not in json.dumps(s.activity) for s in channel.connector.sent)


async def test_a_note_too_long_is_refused_to_the_presser_alone(
    channel: TeamsChannel, sessions: Any
) -> None:
    anna, sara, _per, _ulla = await group_of_four(channel, sessions)
    card = await to_step(channel, anna, await started(channel, anna), 3)
    body, sent = await press(channel, sara, card, "Spara", note="Lång text. " * 60)
    back = answered_card(body)  # her card, with her text to shorten (tests/test_meeting_note_kept)
    assert "Korta den" in json.dumps(back, ensure_ascii=False) and sent == []
    assert await stored_note(sessions) is None


async def test_two_notes_saved_at_once_both_stay(channel: TeamsChannel, sessions: Any) -> None:
    anna, sara, _per, _ulla = await group_of_four(channel, sessions)
    card = await to_step(channel, anna, await started(channel, anna), 3)
    first = answered_card((await press(channel, sara, card, "Spara", note="Såret läker."))[0])
    assert note_of(first) == "Såret läker."

    # Both add a line to the note shown on the same card and press at the same moment.
    (a, _), (b, _) = await asyncio.gather(
        press(channel, sara, first, "Spara", note="Såret läker.\nNy kontroll fredag."),
        press(channel, anna, first, "Spara", note="Såret läker. Dottern vill vara med."),
    )
    assert a["type"] == CARD_TYPE and b["type"] == CARD_TYPE, (a, b)
    note = await stored_note(sessions)
    assert note is not None
    assert note.count("Såret läker.") == 1
    assert "Ny kontroll fredag." in note and "Dottern vill vara med." in note
    # The chat's card shows the note as kept.
    assert note_of(cards(channel.connector.updates(GROUP)[-1:])[0]) == note


async def test_an_untouched_note_field_never_writes_an_older_note_back(
    channel: TeamsChannel, sessions: Any
) -> None:
    """A typed "not: …" and a press from a card shown before it: the typed note stays."""
    anna, sara, _per, _ulla = await group_of_four(channel, sessions)
    card = await to_step(channel, anna, await started(channel, anna), 3)
    card = answered_card((await press(channel, sara, card, "Spara", note="Såret läker."))[0])
    await channel.say(sara, "not: Ingen ny medicinering.", **in_group())
    topic = next(n["id"] for n in walk(card) if n.get("type") == "Input.Toggle")

    # The owner ticks a topic on the card she had: its note field still shows the old note.
    body, _sent = await press(channel, anna, card, "Spara", **{topic: "true"})
    assert body["type"] == CARD_TYPE
    assert await stored_note(sessions) == "Såret läker.\nIngen ny medicinering."
    # And she adds a line to the old note: the typed one stays, hers follows it.
    body, _sent = await press(channel, anna, card, "Spara", note="Såret läker.\nVikt 62 kg.")
    kept = "Såret läker.\nIngen ny medicinering.\nVikt 62 kg."
    assert note_of(answered_card(body)) == kept
    # Rewritten rather than added to: her whole text follows what is stored; nothing is lost.
    body, _sent = await press(channel, sara, card, "Spara", note="Såret har läkt.")
    assert note_of(answered_card(body)) == f"{kept}\nSåret har läkt."


async def test_two_instances_keep_both_notes_saved_at_once(
    channel: TeamsChannel, sessions: Any, settings: Settings, clock: FixedClock
) -> None:
    """Two instances on one database (PostgreSQL when configured): no note is lost."""
    anna, sara, _per, _ulla = await group_of_four(channel, sessions)
    card = await to_step(channel, anna, await started(channel, anna), 3)
    second_instance = TestServer(create_app(settings, clock=clock), host="127.0.0.1")
    await second_instance.start_server()
    try:
        async with aiohttp.ClientSession() as http:
            other = TeamsChannel(
                str(second_instance.make_url("")).rstrip("/"), channel.connector, http
            )
            other._ids = itertools.count(10_000)  # Teams' activity ids are unique
            answers = await asyncio.gather(
                press(channel, sara, card, "Spara", note="Blodtrycket är stabilt."),
                press(other, anna, card, "Spara", note="Närstående kommer på mötet."),
                press(channel, sara, card, "Spara", note="Ny kontroll fredag."),
            )
    finally:
        await second_instance.close()
    assert all(body["type"] == CARD_TYPE for body, _sent in answers)
    note = await stored_note(sessions)
    assert note is not None
    lines = note.split("\n")
    assert sorted(lines) == sorted(
        ["Blodtrycket är stabilt.", "Närstående kommer på mötet.", "Ny kontroll fredag."]
    )
    for body, _sent in answers:
        assert_valid_card(body["value"])


async def test_a_colleague_pressing_a_paused_card_is_offered_the_meeting_privately(
    channel: TeamsChannel, sessions: Any
) -> None:
    anna, _sara, _per, _ulla = await group_of_four(channel, sessions)
    henrik = user(channel, OTHER_HANDLAGGARE)
    channel.connector.chats[GROUP].append(henrik.member.id)
    card = await to_step(channel, anna, await started(channel, anna), 2)
    body, _sent = await press(channel, anna, card, "Pausa")
    owner_id = (await the_meeting(sessions)).owner_id

    body, sent = await press(channel, henrik, card, "Nästa")
    offer = answered_card(body)  # to him alone: the chat sees no takeover card
    assert "Ta över mötet" in json.dumps(offer, ensure_ascii=False)
    assert sent == []
    meeting = await the_meeting(sessions)
    assert meeting.current_step == 2 and meeting.owner_id == owner_id

    # He takes it over from the offer: that is the chat's news, and the meeting goes on with him.
    take_over = button(offer, "Ta över mötet")
    body, sent = await channel.execute(henrik, take_over["verb"], take_over["data"], **in_group())
    assert step_of(answered_card(body)) == 2
    assert any("tagit över" in text for text in texts(sent)), texts(sent)
    meeting = await the_meeting(sessions)
    assert meeting.owner_id != owner_id and meeting.current_step == 2
