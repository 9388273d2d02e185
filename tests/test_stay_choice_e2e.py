"""Over HTTP: commands typed without a case code use the person's one stay, or ask which."""

from __future__ import annotations

from storage.domain.clock import FixedClock
from tests.cards import assert_valid_card
from tests.channel import TeamsChannel
from tests.helpers import card_texts
from tests.stay_helpers import (
    HANNA,
    KARIN,
    SARA,
    items_of,
    last_card,
    seed_people,
    seed_stay,
    texts,
)


def _sara(channel: TeamsChannel):  # type: ignore[no-untyped-def]
    return channel.user("sara", "sara@kommun.se", "Sara Sjuksköterska")


async def test_one_stay_is_used_and_named(
    channel: TeamsChannel, sessions, clock: FixedClock
) -> None:
    await seed_people(sessions, HANNA, SARA, KARIN)
    stay_id = await seed_stay(sessions, clock, "ÄNG-014")
    await seed_stay(sessions, clock, "ÄNG-015", nurse=None, handlaggare=None)  # not hers
    sara = _sara(channel)

    marked = await channel.say(sara, "klar slutanteckning")

    assert "ÄNG-014" in texts(marked) and "så jag använder den" in texts(marked)
    assert (await items_of(sessions, stay_id))["closing_note"] == "ready"
    checklist = await channel.say(sara, "checklista")
    assert_valid_card(last_card(checklist))
    assert "ÄNG-014" in card_texts(last_card(checklist))


async def test_several_stays_are_offered_on_a_card(
    channel: TeamsChannel, sessions, clock: FixedClock
) -> None:
    await seed_people(sessions, HANNA, SARA, KARIN)
    await seed_stay(sessions, clock, "ÄNG-014")
    second = await seed_stay(sessions, clock, "ÄNG-015", room="9")
    sara = _sara(channel)

    asked = await channel.say(sara, "klar läkemedel")
    card = last_card(asked)
    assert_valid_card(card)
    assert "ÄNG-014 · rum 5" in card_texts(card) and "ÄNG-015 · rum 9" in card_texts(card)
    assert (await items_of(sessions, second)).get("medication") != "ready"  # nothing changed yet

    done = await channel.submit(
        sara, {"action": "with_stay", "command": "klar läkemedel", "stay_id": str(second)}
    )
    assert "ÄNG-015" in texts(done)
    assert (await items_of(sessions, second))["medication"] == "ready"


async def test_no_stay_says_so(channel: TeamsChannel, sessions) -> None:
    await seed_people(sessions, HANNA, SARA, KARIN)

    replies = await channel.say(_sara(channel), "checklista")

    assert "ingen pågående vistelse" in texts(replies)


async def test_a_chosen_stay_of_another_unit_is_refused(
    channel: TeamsChannel, sessions, clock: FixedClock
) -> None:
    await seed_people(
        sessions, HANNA, SARA, KARIN, ("bo@kommun.se", "Bo Sjuksköterska", "sjukskoterska", "BJÖ")
    )
    other = await seed_stay(sessions, clock, "BJÖ-001", unit="BJÖ", nurse="bo@kommun.se")
    await seed_stay(sessions, clock, "ÄNG-014")

    replies = await channel.submit(
        _sara(channel), {"action": "with_stay", "command": "klar läkemedel", "stay_id": str(other)}
    )

    assert "BJÖ-001" not in texts(replies)
    assert (await items_of(sessions, other)).get("medication") != "ready"
