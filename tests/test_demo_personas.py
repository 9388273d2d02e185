"""The demo's switch of who is acting (`demo som …`, dev mode only), end to end over HTTP.

The Agents Playground plays one user; in the demo that user holds a whole group-chat meeting by
acting as the nurse at her step. Production (credentials configured) has no such command.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select

from bot.settings import Settings
from storage.db import transaction
from storage.models import AuditEvent, Staff
from tests.channel import TeamsChannel
from tests.meeting_helpers import NURSE, step_of, the_meeting
from tests.test_meeting_shared import (
    MESSAGE_TYPE,
    answered_card,
    cards,
    group_of_four,
    in_group,
    press,
    texts,
    topic_ids,
)


async def _actors(sessions: Any, action: str) -> list[int | None]:
    async with transaction(sessions) as session:
        events = await session.exec(
            select(AuditEvent).where(AuditEvent.action == action).order_by(col(AuditEvent.id))
        )
        return [event.actor_staff_id for event in events.all()]


async def _staff_id(sessions: Any, email: str) -> int | None:
    async with transaction(sessions) as session:
        staff = (await session.exec(select(Staff).where(Staff.email == email))).one()
        return staff.id


async def test_one_playground_user_leads_the_nurses_step_as_the_nurse(
    channel: TeamsChannel, sessions: Any
) -> None:
    anna, _sara, _per, _ulla = await group_of_four(channel, sessions)
    [card] = cards(await channel.say(anna, "uppföljning ÄNG-042", **in_group()))
    for _ in range(2):
        body, _sent = await press(channel, anna, card, "Nästa")
        card = answered_card(body)
    assert step_of(card) == 3

    switched = texts(await channel.say(anna, "demo som sjuksköterska", **in_group()))
    assert switched == [
        "Demoläge: nu är du Sara Sjuksköterska (sjuksköterska). Det du skriver och trycker på "
        "räknas som hens, tills du skriver **demo som mig**."
    ]
    first = topic_ids(card)[0]
    body, _sent = await press(channel, anna, card, "Spara", **{first: "true"})
    card = answered_card(body)  # the nurse leads step 3: her tick is kept
    assert (await the_meeting(sessions)).steps["health_nurse"]["covered"] == [
        first.removeprefix("topic_")
    ]
    assert await _actors(sessions, "meeting.step_saved") == [await _staff_id(sessions, NURSE[0])]
    # As the nurse she may not move the meeting: the owner's "Nästa" is refused privately.
    body, sent = await press(channel, anna, card, "Nästa")
    assert body["type"] == MESSAGE_TYPE and "leder mötet" in body["value"] and sent == []

    back = texts(await channel.say(anna, "demo som mig", **in_group()))
    assert back == ["Demoläge: nu är du dig själv igen, Anna Handläggare."]
    body, _sent = await press(channel, anna, card, "Nästa")
    assert step_of(answered_card(body)) == 4


async def test_a_role_nobody_in_the_units_holds_is_refused(
    channel: TeamsChannel, sessions: Any
) -> None:
    anna, *_others = await group_of_four(channel, sessions)
    answer = texts(await channel.say(anna, "demo som boendesamordnare"))
    assert answer[0].startswith("Den demopersonen känner jag inte till: ”boendesamordnare”.")
    answer = texts(await channel.say(anna, "demo som kapten"))
    assert "”kapten”" in answer[0] and "demo som sjuksköterska" in answer[0]


def test_the_switch_exists_only_in_dev_mode_without_credentials() -> None:
    assert Settings(env="dev", app_id="").demo_switch_allowed
    assert not Settings(
        env="dev", app_id="00000000-0000-0000-0000-00000000abcd"
    ).demo_switch_allowed
    assert not Settings(
        env="prod", app_id="00000000-0000-0000-0000-00000000abcd"
    ).demo_switch_allowed
