"""Over HTTP: the stay card says what the record says, and offers what can be done next."""

from __future__ import annotations

from datetime import timedelta

from storage.db import transaction
from storage.domain.clock import FixedClock, local_today
from storage.models import DecisionKind, Stay
from tests.cards import assert_valid_card
from tests.channel import TeamsChannel
from tests.stay_helpers import HANNA, SARA, last_card, seed_people, seed_stay


async def _held(sessions, stay_id: int, clock: FixedClock, kind: str) -> None:  # type: ignore[no-untyped-def]
    async with transaction(sessions) as session:
        stay = await session.get(Stay, stay_id)
        assert stay is not None
        stay.followup_held_on = local_today(clock) - timedelta(days=1)
        stay.decision_kind = kind
        session.add(stay)


async def test_a_held_follow_up_offers_a_new_one_with_its_purpose(
    channel: TeamsChannel, sessions, clock: FixedClock
) -> None:
    await seed_people(sessions, HANNA, SARA)
    stay_id = await seed_stay(sessions, clock, "ÄNG-042")
    hanna = channel.user("hanna", "hanna@kommun.se", "Hanna Handläggare")
    before = last_card(await channel.say(hanna, "vistelse ÄNG-042"))
    assert before["actions"][0]["title"] == "Starta uppföljning"

    await _held(sessions, stay_id, clock, DecisionKind.EXTENSION)
    card = last_card(await channel.say(hanna, "vistelse ÄNG-042"))

    assert_valid_card(card)
    assert card["actions"][0]["title"] == "Ny uppföljning efter förlängning"
    texts = [node.get("text") for node in card["body"] if node.get("type") == "TextBlock"]
    assert "Beslut: Förlängning" in texts and "Beslut" not in texts
    fact_titles = [
        fact["title"] for node in card["body"] if node.get("type") == "FactSet"
        for fact in node["facts"]
    ]  # fmt: skip
    assert "Beslut" not in fact_titles  # the kind is in the heading, not repeated below it


async def test_a_held_follow_up_without_extension_offers_ny_uppfoljning(
    channel: TeamsChannel, sessions, clock: FixedClock
) -> None:
    await seed_people(sessions, HANNA, SARA)
    stay_id = await seed_stay(sessions, clock, "ÄNG-042")
    await _held(sessions, stay_id, clock, DecisionKind.HOME_GOING)
    hanna = channel.user("hanna", "hanna@kommun.se", "Hanna Handläggare")

    card = last_card(await channel.say(hanna, "vistelse ÄNG-042"))

    assert card["actions"][0]["title"] == "Ny uppföljning"


def _colours(node: object) -> set[str]:
    if isinstance(node, dict):
        found = {str(node["color"])} if "color" in node else set()
        return found.union(*(_colours(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(_colours(value) for value in node))
    return set()


async def test_checklist_and_list_use_readable_colours_and_icons(
    channel: TeamsChannel, sessions, clock: FixedClock
) -> None:
    await seed_people(sessions, HANNA, SARA)
    await seed_stay(sessions, clock, "ÄNG-042")
    sara = channel.user("sara", "sara@kommun.se", "Sara Sjuksköterska")
    await channel.say(sara, "klar läkemedel ÄNG-042")

    checklist = last_card(await channel.say(sara, "checklista ÄNG-042"))
    stay_list = last_card(await channel.say(sara, "vistelser"))

    # Yellow and light green are too faint on the light theme: never used for text.
    assert _colours(checklist) | _colours(stay_list) <= {"Default", "Accent", "Attention"}
    texts = str(checklist)
    assert "✔ Klar · Sjuksköterska" in texts and "○ Inte klar · Sjuksköterska" in texts
