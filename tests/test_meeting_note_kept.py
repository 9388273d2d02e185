"""A note that would become too long is refused, and what was typed is not lost (issue 16).

Pressed in a shared chat, the refusal is the presser's alone and the card she gets back still
holds her text (and her ticks), so she can shorten it and press again; the chat's card stays as
it was. In the personal chat the card is the chat's own: it keeps her text the same way. Typed as
``not: …``, the message stays in the chat; the answer says how much room the note has left.
"""

from __future__ import annotations

import json
from typing import Any

from tests.channel import TeamsChannel
from tests.meeting_helpers import HANDLAGGARE, press, seed_meeting_world, the_meeting, walk
from tests.test_meeting_shared import (
    GROUP,
    answered_card,
    group_of_four,
    in_group,
    topic_ids,
    user,
)
from tests.test_meeting_shared import press as press_in_group
from tests.test_meeting_shared_forms import note_of, started, stored_note, to_step

LONG = "Blodtrycket mäts morgon och kväll. " * 16  # 560 characters


def toggles(card: dict[str, Any]) -> dict[str, str]:
    return {n["id"]: str(n["value"]) for n in walk(card) if n.get("type") == "Input.Toggle"}


def shown_text(card: dict[str, Any]) -> str:
    return json.dumps(card, ensure_ascii=False)


async def test_a_note_too_long_comes_back_to_the_presser_with_her_text(
    channel: TeamsChannel, sessions: Any
) -> None:
    anna, sara, _per, _ulla = await group_of_four(channel, sessions)
    card = await to_step(channel, anna, await started(channel, anna), 3)
    updates = len(channel.connector.updates(GROUP))
    first = topic_ids(card)[0]

    body, sent = await press_in_group(channel, sara, card, "Spara", note=LONG, **{first: "true"})
    back = answered_card(body)  # a card, to her alone
    assert note_of(back) == LONG.strip()  # what she typed is still there
    assert toggles(back)[first] == "true"  # and what she ticked
    assert "högst 500" in shown_text(back) and "Korta den" in shown_text(back)
    assert "refresh" not in back  # a refresh would put the stored note back in her field
    assert sent == [] and len(channel.connector.updates(GROUP)) == updates  # the chat: nothing
    assert await stored_note(sessions) is None
    assert not (await the_meeting(sessions)).steps.get("health_nurse", {}).get("covered")

    # She shortens it on the card she got back and presses again: saved, ticks and all.
    short = "Blodtrycket mäts morgon och kväll."
    body, _sent = await press_in_group(channel, sara, back, "Spara", note=short)
    saved = answered_card(body)
    assert note_of(saved) == short and toggles(saved)[first] == "true"
    assert await stored_note(sessions) == short
    assert "Korta den" not in shown_text(saved)


async def test_a_note_too_long_with_a_colleagues_note_keeps_her_text_and_says_why(
    channel: TeamsChannel, sessions: Any
) -> None:
    """Her own text fits; with what a colleague saved meanwhile, the note would not."""
    anna, sara, _per, _ulla = await group_of_four(channel, sessions)
    card = await to_step(channel, anna, await started(channel, anna), 3)
    anna_note = "Dottern vill vara med vid hemgången och ringer på fredag. " * 5  # 290
    await press_in_group(channel, anna, card, "Spara", note=anna_note)
    sara_note = "Såret läker men behöver läggas om varannan dag hemma. " * 4  # 216

    body, sent = await press_in_group(channel, sara, card, "Spara", note=sara_note)
    back = answered_card(body)
    assert note_of(back) == sara_note.strip()
    assert "kollega" in shown_text(back) and "skicka igen" in shown_text(back)
    assert sent == []
    assert await stored_note(sessions) == anna_note.strip()

    # Shortened, it is added after the colleague's note: neither is lost.
    body, _sent = await press_in_group(channel, sara, back, "Spara", note="Såret läker.")
    assert await stored_note(sessions) == f"{anna_note.strip()}\nSåret läker."
    assert note_of(answered_card(body)) == f"{anna_note.strip()}\nSåret läker."


async def test_a_note_too_long_in_the_personal_chat_stays_on_the_card(
    channel: TeamsChannel, sessions: Any
) -> None:
    await seed_meeting_world(sessions)
    anna = user(channel, HANDLAGGARE)
    await channel.say(anna, "uppföljning ÄNG-042")
    for _ in range(2):
        await channel.say(anna, "nästa")
    [card] = channel.connector.cards(anna.conversation_id)[-1:]
    sent = await channel.submit(anna, press(card, "Nästa", note=LONG))
    said = " ".join(s.activity.get("text") or "" for s in sent)
    assert "högst 500" in said
    [shown] = channel.connector.cards(anna.conversation_id)[-1:]  # the chat's card, in place
    assert note_of(shown) == LONG.strip()
    meeting = await the_meeting(sessions)
    assert meeting.current_step == 3 and await stored_note(sessions) is None


async def test_a_typed_note_too_long_says_how_much_room_is_left(
    channel: TeamsChannel, sessions: Any
) -> None:
    anna, sara, _per, _ulla = await group_of_four(channel, sessions)
    await to_step(channel, anna, await started(channel, anna), 3)
    await channel.say(sara, "not: " + "Såret läker fint. " * 20, **in_group())  # 359 stored
    sent = await channel.say(sara, "not: " + "Ny kontroll på fredag. " * 10, **in_group())
    [said] = [s.activity["text"] for s in sent if s.activity.get("text")]
    assert "steg 3 har redan 359 tecken" in said
    assert "högst 140 tecken" in said and "not:" in said
    assert await stored_note(sessions) == ("Såret läker fint. " * 20).strip()
