"""The follow-up meeting in a shared chat (issue 16), end to end over HTTP.

One card per conversation, updated in place (the recording connector sees PUTs on one activity);
the chat's members are checked through the paged member list; the step's leader ticks and notes,
only the owner moves; presses that are not theirs get a private answer; ticks from two members
at once are merged per topic.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer
from sqlmodel import col, select

from bot.app import CHAT_POSTS, create_app
from bot.settings import Settings
from notifications.render import Renderer
from storage.db import transaction
from storage.domain.clock import FixedClock
from storage.models import AuditEvent, MeetingCard, OutboxMessage, Stay
from tests.cards import assert_valid_card
from tests.channel import TeamsChannel, TeamsUser
from tests.connector import Member, Sent
from tests.helpers import card_texts, seed_staff
from tests.meeting_helpers import (
    HANDLAGGARE,
    NURSE,
    card_inputs,
    meetings_count,
    seed_meeting_world,
    step_of,
    the_meeting,
    walk,
)

GROUP = "19:korttid-test-group@thread.v2"
REHAB = ("per@kommun.se", "Per Fysioterapeut", "rehab", "ÄNG")
CARER = ("ulla@kommun.se", "Ulla Undersköterska", "omsorgspersonal", "ÄNG")
FOREIGN_NURSE = ("eva@kommun.se", "Eva Sjuksköterska", "sjukskoterska", "BJÖ")
CARD_TYPE = "application/vnd.microsoft.card.adaptive"
MESSAGE_TYPE = "application/vnd.microsoft.activity.message"


def user(channel: TeamsChannel, row: tuple[str, str, str, str]) -> TeamsUser:
    email, name = row[0], row[1]
    return channel.user(email.split("@")[0], email, name)


async def group_of_four(channel: TeamsChannel, sessions: Any) -> list[TeamsUser]:
    await seed_meeting_world(sessions)
    await seed_staff(sessions, REHAB, CARER)
    members = [user(channel, row) for row in (HANDLAGGARE, NURSE, REHAB, CARER)]
    channel.connector.chats[GROUP] = [m.member.id for m in members]
    return members


def in_group(**kwargs: Any) -> dict[str, Any]:
    return {"conversation_id": GROUP, "conversation_type": "groupChat", **kwargs}


def cards(sent: list[Sent]) -> list[dict[str, Any]]:
    return [
        a["content"]
        for s in sent
        for a in s.activity.get("attachments") or []
        if a.get("contentType") == CARD_TYPE
    ]


def texts(sent: list[Sent]) -> list[str]:
    return [s.activity["text"] for s in sent if s.activity.get("text")]


def button(card: dict[str, Any], title: str) -> dict[str, Any]:
    found = [n for n in walk(card) if n.get("title") == title and "data" in n]
    assert found, f"no button {title}"
    return found[0]


def execute_data(card: dict[str, Any], title: str, **changes: Any) -> dict[str, Any]:
    """What Teams sends for an Action.Execute: the card's inputs merged into the button's data."""
    action = button(card, title)
    assert action["type"] == "Action.Execute" and action["verb"] == "meeting"
    return {**card_inputs(card), **changes, **action["data"]}


def answered_card(body: dict[str, Any]) -> dict[str, Any]:
    assert body["type"] == CARD_TYPE, body
    card: dict[str, Any] = body["value"]
    assert_valid_card(card)
    return card


async def press(
    channel: TeamsChannel, who: TeamsUser, card: dict[str, Any], title: str, **changes: Any
) -> tuple[dict[str, Any], list[Sent]]:
    return await channel.execute(who, "meeting", execute_data(card, title, **changes), **in_group())


def topic_ids(card: dict[str, Any]) -> list[str]:
    return [n["id"] for n in walk(card) if n.get("type") == "Input.Toggle"]


async def test_a_meeting_in_a_group_chat_is_one_card_updated_in_place(
    channel: TeamsChannel, sessions: Any
) -> None:
    anna, sara, _per, ulla = await group_of_four(channel, sessions)
    connector = channel.connector

    started = await channel.say(anna, "uppföljning ÄNG-042", **in_group())
    assert any("Nu börjar uppföljningsmötet för ÄNG-042" in t for t in texts(started))
    [card] = cards(started)
    assert_valid_card(card)
    assert card["refresh"]["userIds"] == connector.chats[GROUP]  # every member, at most 60
    assert button(card, "Nästa")["type"] == "Action.Execute"

    for _ in range(2):  # steps 1 and 2: the handläggare moves on
        body, _sent = await press(channel, anna, card, "Nästa")
        card = answered_card(body)
    assert step_of(card) == 3
    assert "Sjuksköterska" in card_texts(card)

    # The handläggare waits: the nurse ticks two topics of her step and writes a note.
    first, second = topic_ids(card)[:2]
    body, _sent = await press(channel, sara, card, "Spara", **{first: "true", second: "true"})
    card = answered_card(body)
    assert step_of(card) == 3
    noted = await channel.say(sara, "not: Såret läker, ingen ny medicinering.", **in_group())
    assert [s.method for s in noted if cards([s])] == ["PUT"]
    card = cards(noted)[-1]
    assert "Såret läker, ingen ny medicinering." in json.dumps(card, ensure_ascii=False)

    # Moving is the owner's: the nurse's "Nästa" gets a private answer and changes nothing.
    body, sent = await press(channel, sara, card, "Nästa")
    assert body["type"] == MESSAGE_TYPE and "leder mötet" in body["value"]
    assert "ÄNG-042" not in body["value"] and sent == []
    assert (await the_meeting(sessions)).current_step == 3
    # Step 3 is not the undersköterska's: she may not tick it.
    body, sent = await press(channel, ulla, card, "Spara", **{first: "false"})
    assert body["type"] == MESSAGE_TYPE and "leds av någon annan" in body["value"]
    assert sent == []

    body, sent = await press(channel, anna, card, "Nästa")
    card = answered_card(body)
    assert step_of(card) == 4
    assert "Steg 3 klart: 2 av" in " ".join(texts(sent))
    assert "anteckning sparad" in " ".join(texts(sent))
    meeting = await the_meeting(sessions)
    assert meeting.steps["health_nurse"]["covered"] == [
        first.removeprefix("topic_"),
        second.removeprefix("topic_"),
    ]

    # The chat holds one step card, updated in place each time, not a pile of cards.
    posted = [s for s in connector.posts(GROUP) if cards([s])]
    assert len(posted) == 1
    updates = connector.updates(GROUP)
    assert len(updates) == 5  # two moves, the nurse's save and note, the owner's move
    assert {u.activity_id for u in updates} == {posted[0].activity_id}
    for update in updates:
        assert_valid_card(cards([update])[0])
    assert step_of(cards([updates[-1]])[0]) == 4

    async with transaction(sessions) as session:
        actions = [
            e.action
            for e in (await session.exec(select(AuditEvent).order_by(col(AuditEvent.id)))).all()
        ]
    assert "meeting.step_saved" in actions and "meeting.note" in actions


async def test_a_member_who_is_not_staff_gets_no_stay_data(
    channel: TeamsChannel, sessions: Any
) -> None:
    anna, sara, _per, _ulla = await group_of_four(channel, sessions)
    guest = Member("29:guest", "Gäst", "gast@annat.se", "aad-guest", user_role="guest")
    channel.connector.members[guest.id] = guest
    channel.connector.chats[GROUP].append(guest.id)
    await seed_staff(channel_sessions := sessions, FOREIGN_NURSE)
    eva = user(channel, FOREIGN_NURSE)
    channel.connector.chats[GROUP].append(eva.member.id)

    sent = await channel.say(anna, "uppföljning ÄNG-042", **in_group())
    assert cards(sent) == []
    [text] = texts(sent)
    assert "2 medlemmar som inte är personal på enheten" in text
    assert "personliga chatt" in text
    assert all("ÄNG-042" not in json.dumps(s.activity, ensure_ascii=False) for s in sent)
    assert await meetings_count(channel_sessions) == 0

    # Other commands are not run in a shared chat.
    sent = await channel.say(sara, "vistelser", **in_group())
    assert all("ÄNG-042" not in json.dumps(s.activity, ensure_ascii=False) for s in sent)
    assert "uppföljning KOD" in texts(sent)[0]


async def test_a_member_who_joins_later_hides_the_meeting(
    channel: TeamsChannel, sessions: Any
) -> None:
    anna, _sara, _per, _ulla = await group_of_four(channel, sessions)
    started = await channel.say(anna, "uppföljning ÄNG-042", **in_group())
    [card] = cards(started)
    guest = Member("29:guest", "Gäst", "gast@annat.se", "aad-guest", user_role="guest")
    channel.connector.members[guest.id] = guest
    channel.connector.chats[GROUP].append(guest.id)

    joined = channel.activity(
        anna,
        type_="conversationUpdate",
        membersAdded=[{"id": guest.id, "aadObjectId": guest.aad_object_id}],
        **in_group(),
    )
    before = len(channel.connector.sent)
    assert (await channel.post(joined)).status == 200
    sent = channel.connector.sent[before:]
    [hidden] = [s for s in sent if s.method == "PUT"]
    assert hidden.activity_id == next(s for s in started if cards([s])).activity_id
    assert "inte är personal på enheten" in " ".join(texts(sent))
    assert all("ÄNG-042" not in json.dumps(s.activity, ensure_ascii=False) for s in sent)

    body, sent = await press(channel, anna, card, "Nästa")
    assert body["type"] == MESSAGE_TYPE and "ÄNG-042" not in body["value"]
    assert (await the_meeting(sessions)).current_step == 1
    async with transaction(sessions) as session:
        row = (await session.exec(select(MeetingCard))).one()
    assert row.blocked


async def test_two_members_ticking_at_once_both_keep_their_ticks(
    channel: TeamsChannel, sessions: Any
) -> None:
    anna, sara, _per, _ulla = await group_of_four(channel, sessions)
    [card] = cards(await channel.say(anna, "uppföljning ÄNG-042", **in_group()))
    step_one = card
    for _ in range(2):
        card = answered_card((await press(channel, anna, card, "Nästa"))[0])
    first, second = topic_ids(card)[:2]

    # Both press "Spara" on the same card at the same moment, each with their own tick.
    (a, _), (b, _) = await asyncio.gather(
        press(channel, sara, card, "Spara", **{first: "true"}),
        press(channel, anna, card, "Spara", **{second: "true"}),
    )
    assert a["type"] == CARD_TYPE and b["type"] == CARD_TYPE, (a, b)
    covered = (await the_meeting(sessions)).steps["health_nurse"]["covered"]
    assert covered == [first.removeprefix("topic_"), second.removeprefix("topic_")]

    # A stale card (from step 1) never moves the meeting: it is answered with the current card.
    body, _sent = await press(channel, anna, step_one, "Nästa")
    assert step_of(answered_card(body)) == 3
    assert (await the_meeting(sessions)).current_step == 3


async def test_personal_chat_keeps_one_card_and_short_step_lines(
    channel: TeamsChannel, sessions: Any
) -> None:
    await seed_meeting_world(sessions)
    anna = user(channel, HANDLAGGARE)
    connector = channel.connector
    started = await channel.say(anna, "uppföljning ÄNG-042")
    [first_card] = cards(started)
    card = first_card
    for _ in range(3):
        action = button(card, "Nästa")
        assert action["type"] == "Action.Submit"
        sent = await channel.submit(anna, {**card_inputs(card), **action["data"]})
        [card] = cards(sent)
    assert step_of(card) == 4
    posted = [s for s in connector.posts(anna.conversation_id) if cards([s])]
    assert len(posted) == 1
    assert len(connector.updates(anna.conversation_id)) == 3
    lines = connector.texts(anna.conversation_id)
    assert any(line.startswith("Steg 1 klart") for line in lines)
    assert any(line.startswith("Steg 3 klart: 0 av") for line in lines)

    # The first card, pressed again, answers with the current step and changes nothing.
    stale = button(first_card, "Nästa")
    sent = await channel.submit(anna, {**card_inputs(first_card), **stale["data"]})
    assert "tidigare läge" in " ".join(texts(sent))
    assert step_of(cards(sent)[-1]) == 4
    assert (await the_meeting(sessions)).current_step == 4


async def test_refresh_shows_each_member_what_they_may_do(
    channel: TeamsChannel, sessions: Any
) -> None:
    anna, sara, _per, ulla = await group_of_four(channel, sessions)
    [card] = cards(await channel.say(anna, "uppföljning ÄNG-042", **in_group()))
    for _ in range(2):
        card = answered_card((await press(channel, anna, card, "Nästa"))[0])
    refresh = card["refresh"]["action"]
    assert refresh["type"] == "Action.Execute"

    async def refreshed(who: TeamsUser) -> dict[str, Any]:
        body, sent = await channel.execute(
            who, refresh["verb"], refresh["data"], trigger="automatic", **in_group()
        )
        assert sent == []
        return body

    def titles(card: dict[str, Any]) -> set[str]:
        return {n["title"] for n in walk(card) if str(n.get("type")).startswith("Action.")}

    owner = answered_card(await refreshed(anna))
    assert {"Nästa", "Tillbaka", "Pausa"} <= titles(owner)
    nurse = answered_card(await refreshed(sara))  # step 3 is hers: inputs, no moves
    assert titles(nurse) == {"Spara"} and topic_ids(nurse)
    carer = answered_card(await refreshed(ulla))  # read-only
    assert titles(carer) == set() and topic_ids(carer) == []
    assert step_of(carer) == 3

    await seed_staff(sessions, FOREIGN_NURSE)
    body = await refreshed(user(channel, FOREIGN_NURSE))
    assert body["type"] == MESSAGE_TYPE and "ÄNG-042" not in body["value"]


async def test_a_whole_meeting_in_a_group_leaves_one_card_and_step_lines(
    channel: TeamsChannel, sessions: Any
) -> None:
    anna, sara, per, ulla = await group_of_four(channel, sessions)
    connector = channel.connector
    [card] = cards(await channel.say(anna, "uppföljning ÄNG-042", **in_group()))
    leaders = {3: sara, 4: per, 5: ulla}
    while step_of(card) < 8:
        leader = leaders.get(step_of(card))
        if leader is not None:  # each profession ticks its own step from the same card
            first = topic_ids(card)[0]
            card = answered_card(
                (await press(channel, leader, card, "Spara", **{first: "true"}))[0]
            )
        card = answered_card((await press(channel, anna, card, "Nästa"))[0])
    body, _sent = await press(channel, anna, card, "Hemgång")
    form = answered_card(body)
    decision = {
        **card_inputs(form),
        **button(form, "Spara beslutet")["data"],
        "date": "2026-12-03",
        "time": "09:30",
        "transport": "fardtjanst",
        "home_help_meets": "true",
        "provider_name": "Hemtjänst Centrum",
        "provider_contact": "010-123 45 67",
    }
    await channel.submit(anna, decision, **in_group())
    card = cards(connector.updates(GROUP)[-1:])[0]
    assert step_of(card) == 9
    card = answered_card((await press(channel, anna, card, "Nästa"))[0])
    body, sent = await press(channel, anna, card, "Avsluta mötet")

    last = answered_card(body)
    assert step_of(last) == 10
    assert last["actions"] == [] and topic_ids(last) == []
    posted_cards = [s for s in connector.posts(GROUP) if cards([s])]
    assert len(posted_cards) == 1  # one card for the whole meeting, updated in place
    lines = connector.texts(GROUP)
    for step, leader_line in ((3, "1 av"), (4, "1 av"), (5, "1 av")):
        assert any(line.startswith(f"Steg {step} klart: {leader_line}") for line in lines)
    assert "Uppföljningsmötet för ÄNG-042 är sparat." in " ".join(texts(sent))
    # The summary to paste is the owner's: queued to her personal chat, not posted in the group.
    assert not any("Mötesdatum" in line for line in lines)
    async with transaction(sessions) as session:
        rows = (await session.exec(select(OutboxMessage))).all()
    [summary] = [row for row in rows if row.kind == "meeting_summary"]
    assert summary.recipient_staff_id is not None
    assert "Mötesdatum" in summary.payload["summary"]
    assert_valid_card(Renderer().card(summary.template, **summary.payload))


async def test_two_instances_merge_ticks_pressed_at_once(
    channel: TeamsChannel, sessions: Any, settings: Settings, clock: FixedClock
) -> None:
    """Two instances on one database (PostgreSQL when configured): presses at once lose nothing."""
    anna, sara, _per, _ulla = await group_of_four(channel, sessions)
    [card] = cards(await channel.say(anna, "uppföljning ÄNG-042", **in_group()))
    for _ in range(2):
        card = answered_card((await press(channel, anna, card, "Nästa"))[0])
    topics = topic_ids(card)
    second_instance = TestServer(create_app(settings, clock=clock), host="127.0.0.1")
    await second_instance.start_server()
    try:
        async with aiohttp.ClientSession() as http:
            other = TeamsChannel(
                str(second_instance.make_url("")).rstrip("/"),
                channel.connector,
                http,
                settle=second_instance.app[CHAT_POSTS].idle,
            )
            other._ids = itertools.count(10_000)  # Teams' activity ids are unique
            presses = [
                press(channel, sara, card, "Spara", **{topics[0]: "true"}),
                press(other, anna, card, "Spara", **{topics[1]: "true"}),
                press(channel, sara, card, "Spara", **{topics[2]: "true"}),
                press(other, anna, card, "Spara", **{topics[3]: "true"}),
            ]
            answers = await asyncio.gather(*presses)
    finally:
        await second_instance.close()
    assert all(body["type"] == CARD_TYPE for body, _sent in answers)
    covered = (await the_meeting(sessions)).steps["health_nurse"]["covered"]
    assert covered == [topic.removeprefix("topic_") for topic in topics[:4]]
    # Every instance updated the one card; none posted another.
    assert len([s for s in channel.connector.posts(GROUP) if cards([s])]) == 1


async def test_a_start_button_pressed_in_a_group_checks_the_members_too(
    channel: TeamsChannel, sessions: Any
) -> None:
    """What issue 15's "Starta i chatten" will send: the meeting_start action, in the group."""
    anna, _sara, _per, _ulla = await group_of_four(channel, sessions)
    guest = Member("29:guest", "Gäst", "gast@annat.se", "aad-guest", user_role="guest")
    channel.connector.members[guest.id] = guest
    channel.connector.chats[GROUP].append(guest.id)
    async with transaction(sessions) as session:
        stay_id = (await session.exec(select(Stay))).one().id
    sent = await channel.submit(anna, {"action": "meeting_start", "stay_id": stay_id}, **in_group())
    assert cards(sent) == [] and "1 medlem som inte är personal" in texts(sent)[0]
    assert all("ÄNG-042" not in json.dumps(s.activity, ensure_ascii=False) for s in sent)
    assert await meetings_count(sessions) == 0

    channel.connector.chats[GROUP].remove(guest.id)
    sent = await channel.submit(anna, {"action": "meeting_start", "stay_id": stay_id}, **in_group())
    [card] = cards(sent)
    assert card["refresh"]["userIds"] == channel.connector.chats[GROUP]
