"""Over HTTP: ``deltar`` adds to who takes part (``deltar inte`` / ``ta bort`` removes); the
decision form names the real problem with a date."""

from __future__ import annotations

from sqlmodel import select

from storage.db import transaction
from storage.models import FollowUpMeeting
from tests.channel import TeamsChannel
from tests.meeting_helpers import HANDLAGGARE, press, seed_meeting_world
from tests.test_meeting_decision_e2e import last_card, to_decision
from tests.test_meeting_e2e import say_text, user


async def _participants(sessions) -> list[str]:  # type: ignore[no-untyped-def]
    async with transaction(sessions) as session:
        meeting = (await session.exec(select(FollowUpMeeting))).one()
        return list(meeting.participants)


async def test_typed_participants_add_and_remove(channel: TeamsChannel, sessions) -> None:
    await seed_meeting_world(sessions)
    anna = user(channel, HANDLAGGARE)
    await channel.say(anna, "uppföljning ÄNG-042")
    await say_text(channel, anna, "deltar den enskilde, närstående och sjuksköterskan")

    said = await say_text(channel, anna, "deltar också arbetsterapeuten")

    assert (
        "Deltar nu: Den enskilde, Närstående, Biståndshandläggare, Sjuksköterska, "
        "Fysioterapeut/arbetsterapeut." in said
    )
    said = await say_text(channel, anna, "deltar inte närstående")
    assert "Närstående" not in said and "Biståndshandläggare" in said
    said = await say_text(channel, anna, "ta bort sjuksköterskan")
    assert "Sjuksköterska" not in said and "Den enskilde" in said
    assert await _participants(sessions) == ["person", "handlaggare", "rehab"]
    said = await say_text(channel, anna, "deltar inte läkaren")  # not understood: nothing changes
    assert "känner inte igen" in said
    assert await _participants(sessions) == ["person", "handlaggare", "rehab"]
    said = await say_text(channel, anna, "ta bort fikat från agendan")  # a note, not a removal
    assert "Anteckningen är sparad" in said


async def test_the_decision_forms_date_names_the_allowed_range(
    channel: TeamsChannel, sessions
) -> None:
    await seed_meeting_world(sessions)
    anna = await to_decision(channel)
    await channel.submit(anna, press(last_card(channel), "Hemgång"))

    date_input = next(node for node in last_card(channel)["body"] if node.get("id") == "date")

    # Teams refuses a past date on the card itself and shows this text: not "saknas".
    assert date_input["errorMessage"] == (
        "Fyll i hemgångsdatum: ett datum från och med måndag 23 november 2026 "
        "till och med tisdag 8 december 2026."
    )
