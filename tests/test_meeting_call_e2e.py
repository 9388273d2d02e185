"""Calling the follow-up meeting (issue 15) end to end over HTTP: the handläggare calls three
people, they answer by button and by typing, give underlag, and the meeting shows it."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestServer

from bot.app import NOTIFIER
from storage.domain.clock import FixedClock
from tests.cards import assert_valid_card
from tests.channel import TeamsChannel, TeamsUser
from tests.helpers import card_texts, seed_staff
from tests.meeting_helpers import (
    HANDLAGGARE,
    NURSE,
    audit_actions,
    press,
    seed_meeting_world,
    step_of,
)

REHAB = ("rut@kommun.se", "Rut Rehab", "rehab", "ÄNG")
USK = ("ulla@kommun.se", "Ulla Undersköterska", "omsorgspersonal", "ÄNG")
OTHER_UNIT_NURSE = ("berit@kommun.se", "Berit Sjuksköterska", "sjukskoterska", "BJÖ")


def user(channel: TeamsChannel, row: tuple[str, str, str, str]) -> TeamsUser:
    return channel.user(row[0].split("@")[0], row[0], row[1])


def cards_in(replies: list[Any]) -> list[dict[str, Any]]:
    return [a["content"] for s in replies for a in s.activity.get("attachments") or []]


def texts_in(replies: list[Any]) -> list[str]:
    return [s.activity.get("text") or "" for s in replies if s.activity.get("text")]


def one_card(replies: list[Any]) -> dict[str, Any]:
    cards = cards_in(replies)
    assert len(cards) == 1, texts_in(replies)
    assert_valid_card(cards[0])
    return cards[0]


async def deliver(app_server: TestServer, clock: FixedClock) -> None:
    await app_server.app[NOTIFIER].tick(clock.now())


async def invoke_card(
    channel: TeamsChannel, person: TeamsUser, verb: str, data: dict[str, Any]
) -> dict[str, Any]:
    """An Action.Execute (or the card's automatic refresh): the card it answers with."""
    activity = channel.activity(
        person,
        type_="invoke",
        name="adaptiveCard/action",
        value={
            "action": {"type": "Action.Execute", "verb": verb, "data": data},
            "trigger": "automatic",
        },
    )
    response = await channel.post(activity)
    assert response.status == 200
    body = await response.json()
    assert body["type"] == "application/vnd.microsoft.card.adaptive", body
    card: dict[str, Any] = body["value"]
    assert_valid_card(card)
    return card


def inbox(channel: TeamsChannel, person: TeamsUser) -> list[dict[str, Any]]:
    return channel.connector.cards(person.conversation_id)


async def call_three(channel: TeamsChannel, anna: TeamsUser) -> dict[str, Any]:
    """Anna calls the nurse, the physiotherapist and the undersköterska, typing every answer."""
    replies = await channel.say(anna, "kalla ÄNG-042")
    card = one_card(replies)
    assert "senast tisdag 24 november 2026" in card_texts(card)
    await channel.say(anna, "i morgon")
    await channel.say(anna, "10:30")
    await channel.say(anna, "teams")
    await channel.say(anna, "https://teams.microsoft.com/l/meetup-join/abc")
    replies = await channel.say(anna, "alla")
    assert any("kallat till tisdag 24 november 2026 kl. 10.30" in t for t in texts_in(replies))
    return one_card(replies)


async def open_chats(channel: TeamsChannel, *people: TeamsUser) -> None:
    for person in people:
        await channel.say(person, "hjälp")


async def test_call_answer_underlag_and_meeting(
    channel: TeamsChannel, sessions, app_server: TestServer, clock: FixedClock
) -> None:
    await seed_meeting_world(sessions)
    await seed_staff(sessions, REHAB, USK)
    anna, sara, rut, ulla = (user(channel, row) for row in (HANDLAGGARE, NURSE, REHAB, USK))
    await open_chats(channel, sara, rut, ulla)

    status = await call_three(channel, anna)
    assert "3 kallade: 0 kommer, 0 kan inte, 0 har lämnat underlag" in card_texts(status)
    # Teams refreshes it in place whenever Anna's client shows it (Universal Actions).
    assert status["refresh"]["action"]["verb"] == "call_status"
    assert status["refresh"]["userIds"] == [anna.member.id]
    await deliver(app_server, clock)
    invitation = inbox(channel, sara)[-1]
    assert_valid_card(invitation)
    text = card_texts(invitation)
    assert "Kallelse till uppföljningsmöte: ÄNG-042" in text
    assert "Ditt steg i mötet: 3. Hälsa och sjukvård: sjuksköterska" in text
    assert "Rut Rehab (fysioterapeut/arbetsterapeut)" in text
    assert "Nutrition" in text
    assert "Rut Rehab" in card_texts(inbox(channel, ulla)[-1])
    assert "Ditt steg i mötet: 4." in card_texts(inbox(channel, rut)[-1])

    # The nurse answers by button and gives underlag from the invitation.
    replies = await channel.submit(sara, press(invitation, "Jag kommer"))
    assert "Du är anmäld till mötet för ÄNG-042" in texts_in(replies)[0]
    form = one_card(await channel.submit(sara, press(invitation, "Lämna underlag")))
    saved = await channel.submit(
        sara,
        press(form, "Spara underlaget", topic_wounds="true", topic_nutrition="true",
              note="Såret läker, byte varannan dag."),
    )  # fmt: skip
    assert "Ditt underlag för steg 3" in texts_in(saved)[0]
    # The physiotherapist types: cannot come, but gives underlag by typing.
    replies = await channel.say(rut, "kan inte ÄNG-042 på kurs")
    assert "inte kan komma" in texts_in(replies)[0]
    replies = await channel.say(rut, "underlag ÄNG-042 3 4: Rullator utprovad.")
    assert "steg 4" in texts_in(replies)[0]
    # The undersköterska first says she cannot, by button with a reason, then that she comes.
    ulla_invitation = inbox(channel, ulla)[-1]
    no = press(ulla_invitation, "Skicka: jag kan inte", reason="Ledig den dagen")
    assert "inte kan komma" in texts_in(await channel.submit(ulla, no))[0]
    replies = await channel.say(ulla, "kommer ÄNG-042")
    assert "anmäld" in texts_in(replies)[0]
    # The nurse changes her underlag.
    await channel.say(sara, "underlag ÄNG-042 4 5: Såret läker, byte varannan dag.")

    # The handläggare's card, refreshed in place, shows it all.
    refreshed = await invoke_card(channel, anna, "call_status", status["actions"][0]["data"])
    text = card_texts(refreshed)
    assert "3 kallade: 2 kommer, 1 kan inte, 2 har lämnat underlag" in text
    assert "Kan inte: på kurs" in text

    # In the meeting: step 1 lists who comes; steps 3 and 4 hold the underlag.
    card = one_card(await channel.say(anna, "uppföljning ÄNG-042"))
    assert "Kommer enligt kallelsen: Sara Sjuksköterska (sjuksköterska), Ulla" in card_texts(card)
    card = one_card(await channel.submit(anna, press(card, "Nästa")))
    card = one_card(await channel.submit(anna, press(card, "Nästa")))
    assert step_of(card) == 3
    toggles = {n["id"]: n["value"] for n in _walk(card) if n.get("type") == "Input.Toggle"}
    assert toggles["topic_wounds"] == "true" and toggles["topic_nutrition"] == "true"
    assert toggles["topic_self_care"] == "false"
    assert "Underlag från sjuksköterska (Sara Sjuksköterska" in card_texts(card)
    assert "Såret läker, byte varannan dag." in card_texts(card)
    card = one_card(await channel.submit(anna, press(card, "Nästa")))
    assert "Rullator utprovad." in card_texts(card)
    # Held: the summary for the case system names whose underlag it had, by role only.
    for _ in range(4):
        await channel.say(anna, "nästa")
    for answer in ("hemgång", "3 dec", "9.30", "färdtjänst", "ja", "Hemtjänst Centrum"):
        await channel.say(anna, answer)
    for answer in ("010-123 45 67", "nej", "nej", "nästa"):
        await channel.say(anna, answer)
    summary = "\n".join(texts_in(await channel.say(anna, "nästa")))
    assert "Underlag före mötet från: sjuksköterska, fysioterapeut/arbetsterapeut" in summary
    assert "Underlag: Rullator utprovad." in summary
    assert "Sara" not in summary and "Rut" not in summary
    replies = await channel.submit(sara, press(invitation, "Jag kommer"))
    assert "redan genomfört" in texts_in(replies)[0]
    actions = await audit_actions(sessions)
    assert "meeting.held" in actions


def _walk(node: Any) -> Any:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)
