"""Taking a meeting over from a card is an Action.Execute press, like the other meeting buttons.

"Ta över mötet" (the offer) and "Ta tillbaka mötet" (the notice to the previous owner) are
answered in the invoke response with the meeting's card, which replaces the pressed one; who may
not take the meeting over hears it privately. Cards posted before this change carry an
Action.Submit with the same data: pressed, they still work.
"""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestServer
from sqlmodel import select

from bot.app import NOTIFIER
from storage.db import transaction
from storage.domain.clock import FixedClock
from storage.models import Staff
from tests.channel import TeamsChannel, TeamsUser
from tests.connector import Sent
from tests.meeting_helpers import (
    FOREIGN_HANDLAGGARE,
    HANDLAGGARE,
    NURSE,
    OTHER_HANDLAGGARE,
    audit_actions,
    seed_meeting_world,
    step_of,
    the_meeting,
)
from tests.test_meeting_shared import (
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

VERB = "meeting_takeover"


async def offered(channel: TeamsChannel, sessions: Any) -> tuple[TeamsUser, TeamsUser, Any]:
    """Anna runs the meeting at step 2; Henrik opens it too and is offered to take it over."""
    await seed_meeting_world(sessions)
    anna, henrik = user(channel, HANDLAGGARE), user(channel, OTHER_HANDLAGGARE)
    await channel.say(anna, "uppföljning ÄNG-042")
    await channel.say(anna, "nästa")
    [offer] = cards(await channel.say(henrik, "uppföljning ÄNG-042"))
    return anna, henrik, offer


def reply_to(channel: TeamsChannel, card: dict[str, Any]) -> str:
    """The message id of a posted card: Teams sends it with a press of that card."""
    [posted] = [s for s in channel.connector.sent if s.method == "POST" and cards([s]) == [card]]
    assert posted.activity_id is not None
    return posted.activity_id


async def staff_id(sessions: Any, who: TeamsUser) -> int:
    async with transaction(sessions) as session:
        staff = (await session.exec(select(Staff).where(Staff.email == who.member.email))).one()
        assert staff.id is not None
        return staff.id


async def take_over(
    channel: TeamsChannel, who: TeamsUser, card: dict[str, Any], title: str, **kwargs: Any
) -> tuple[dict[str, Any], list[Sent]]:
    action = button(card, title)
    assert action["type"] == "Action.Execute" and action["verb"] == VERB
    return await channel.execute(who, VERB, action["data"], **kwargs)


async def test_the_offer_is_pressed_and_answered_with_the_meetings_card(
    channel: TeamsChannel, sessions: Any, app_server: TestServer, clock: FixedClock
) -> None:
    anna, henrik, offer = await offered(channel, sessions)

    pressed = reply_to(channel, offer)
    body, sent = await take_over(channel, henrik, offer, "Ta över mötet", replyToId=pressed)
    card = answered_card(body)  # the pressed card becomes the meeting's card, in place
    assert step_of(card) == 2
    assert any("Du har tagit över uppföljningsmötet för ÄNG-042" in t for t in texts(sent))
    assert cards([s for s in sent if s.method == "POST"]) == []  # no second card in his chat
    assert [(s.activity_id, cards([s])) for s in sent if s.method == "PUT"] == [(pressed, [card])]
    assert (await the_meeting(sessions)).owner_id == await staff_id(sessions, henrik)
    assert (await audit_actions(sessions)).count("meeting.takeover") == 1

    # Anna is told, and takes it back from the notice the same way.
    before = len(channel.connector.cards(anna.conversation_id))
    await app_server.app[NOTIFIER].dispatcher.deliver_due(clock.now())
    [notice] = channel.connector.cards(anna.conversation_id)[before:]
    body, sent = await take_over(channel, anna, notice, "Ta tillbaka mötet")
    assert step_of(answered_card(body)) == 2
    assert any("från Henrik Handläggare" in t for t in texts(sent))
    assert (await the_meeting(sessions)).owner_id == await staff_id(sessions, anna)


async def test_an_old_offer_with_action_submit_still_takes_the_meeting_over(
    channel: TeamsChannel, sessions: Any
) -> None:
    _anna, henrik, offer = await offered(channel, sessions)
    old_data = button(offer, "Ta över mötet")["data"]  # what an Action.Submit card carried
    sent = await channel.submit(henrik, old_data)
    assert any("Du har tagit över" in t for t in texts(sent))
    assert [step_of(c) for c in cards(sent)] == [2]
    assert (await the_meeting(sessions)).owner_id == await staff_id(sessions, henrik)


async def test_who_may_not_take_over_is_told_privately_and_nothing_changes(
    channel: TeamsChannel, sessions: Any
) -> None:
    anna, _henrik, offer = await offered(channel, sessions)
    data = button(offer, "Ta över mötet")["data"]
    sara, bo = user(channel, NURSE), user(channel, FOREIGN_HANDLAGGARE)
    for who, words in ((sara, "biståndshandläggare"), (bo, "")):
        body, sent = await channel.execute(who, VERB, data)
        assert body["type"] == MESSAGE_TYPE and words in body["value"], body
        assert "ÄNG-042" not in body["value"] and sent == []
    assert (await the_meeting(sessions)).owner_id == await staff_id(sessions, anna)
    assert "meeting.takeover" not in await audit_actions(sessions)


async def test_an_offer_of_a_meeting_no_longer_open_answers_the_presser_alone(
    channel: TeamsChannel, sessions: Any
) -> None:
    anna, henrik, offer = await offered(channel, sessions)
    await channel.say(anna, "avbryt")
    await channel.say(anna, "ja")
    body, sent = await take_over(channel, henrik, offer, "Ta över mötet")
    assert body["type"] == MESSAGE_TYPE and "inget pågående" in body["value"], body
    assert sent == []
    # The old Action.Submit of the same card: a clear answer in his chat.
    sent = await channel.submit(henrik, button(offer, "Ta över mötet")["data"])
    assert any("inget pågående uppföljningsmöte för ÄNG-042" in t for t in texts(sent))


async def test_in_a_group_the_offer_is_pressed_and_the_chats_card_moves_on_with_him(
    channel: TeamsChannel, sessions: Any
) -> None:
    anna, _sara, _per, _ulla = await group_of_four(channel, sessions)
    henrik = user(channel, OTHER_HANDLAGGARE)
    channel.connector.chats[GROUP].append(henrik.member.id)
    [card] = cards(await channel.say(anna, "uppföljning ÄNG-042", **in_group()))
    card = answered_card((await press(channel, anna, card, "Nästa"))[0])
    await press(channel, anna, card, "Pausa")  # she has to leave; the meeting waits at step 2
    offer = answered_card((await press(channel, henrik, card, "Nästa"))[0])  # his alone
    posts = len(channel.connector.posts(GROUP))
    [chats_card] = [s.activity_id for s in channel.connector.posts(GROUP) if cards([s])]

    # The offer was shown to him in place of the chat's card: Teams names that message.
    body, sent = await take_over(
        channel, henrik, offer, "Ta över mötet", replyToId=chats_card, **in_group()
    )
    mine = answered_card(body)
    assert step_of(mine) == 2 and button(mine, "Nästa")["type"] == "Action.Execute"
    assert any("tagit över" in t for t in texts(sent))  # the chat's news
    assert cards(channel.connector.posts(GROUP)[posts:]) == []  # still one card in the chat
    assert channel.connector.updates(GROUP)[-1].activity_id == chats_card
    assert (await the_meeting(sessions)).owner_id == await staff_id(sessions, henrik)
    # He moves the meeting on from the card he got.
    body, _sent = await press(channel, henrik, mine, "Nästa")
    assert step_of(answered_card(body)) == 3
