"""Issue 17 (part B): the home-going date changes in one place, whichever path changes it.

The clock stands at Monday 23 November 2026, 09:00 in Stockholm.
"""

from __future__ import annotations

from tests.channel import TeamsChannel, TeamsUser
from tests.meeting_helpers import HANDLAGGARE, NURSE, items, seed_meeting_world, step_of


async def _hold_home_going(channel: TeamsChannel, day: str) -> str:
    """Lead a meeting to its decision by typing, decide home-going on ``day``, and hold it."""
    anna = channel.user("anna", HANDLAGGARE[0], HANDLAGGARE[1])
    await channel.say(anna, "uppföljning ÄNG-042")
    for _ in range(7):
        await channel.say(anna, "nästa")
    assert step_of(channel.connector.cards()[-1]) == 8
    answers = ("hemgång", day, "9", "egen", "nej", "-", "-", "nej", "nej", "nästa", "nästa")
    said: list[str] = []
    for text in answers:
        said += [sent.activity.get("text") or "" for sent in await channel.say(anna, text)]
    return "\n".join(said)


def _nurse(channel: TeamsChannel) -> TeamsUser:
    return channel.user("sara", NURSE[0], NURSE[1])


async def test_a_meeting_that_moves_the_date_reopens_the_closing_note(
    channel: TeamsChannel, sessions
) -> None:
    stay_id = await seed_meeting_world(sessions)
    await _hold_home_going(channel, "3/12")
    await channel.say(_nurse(channel), "klar slutanteckning ÄNG-042")

    same_date = await _hold_home_going(channel, "3/12")
    kept = {item.kind: item.status for item in await items(sessions, stay_id)}
    moved = await _hold_home_going(channel, "4/12")

    assert "slutanteckning" not in same_date and kept["closing_note"] == "ready"
    assert "slutanteckning är markerad som inte klar igen" in moved
    statuses = {item.kind: item.status for item in await items(sessions, stay_id)}
    assert statuses["closing_note"] == "not_ready"


async def test_a_meeting_that_cancels_the_home_going_reopens_the_closing_note(
    channel: TeamsChannel, sessions
) -> None:
    stay_id = await seed_meeting_world(sessions)
    await _hold_home_going(channel, "3/12")
    await channel.say(_nurse(channel), "klar slutanteckning ÄNG-042")
    anna = channel.user("anna", HANDLAGGARE[0], HANDLAGGARE[1])
    await channel.say(anna, "uppföljning ÄNG-042")
    for _ in range(7):
        await channel.say(anna, "nästa")
    for text in ("förlängning", "2026-12-20", "Ny bedömning", "nej", "nej", "nästa", "nästa"):
        await channel.say(anna, text)

    statuses = {item.kind: item.status for item in await items(sessions, stay_id)}
    assert statuses["closing_note"] == "not_ready"
