"""Issue 17 (part B): the home-going date changes in one place, whichever path changes it.

The clock stands at Monday 23 November 2026, 09:00 in Stockholm.
"""

from __future__ import annotations

from bot.app import NOTIFIER
from tests.cards import assert_valid_card
from tests.channel import TeamsChannel, TeamsUser
from tests.helpers import card_texts
from tests.meeting_helpers import HANDLAGGARE, NURSE, items, seed_meeting_world, step_of
from tests.stay_helpers import (
    HANNA,
    KARIN,
    last_card,
    outbox,
    seed_people,
    seed_stay,
    stay_by_code,
    texts,
)


async def _hold_home_going(channel: TeamsChannel, day: str) -> str:
    """Lead a meeting to its decision by typing, decide home-going on ``day``, and hold it."""
    anna = channel.user("anna", HANDLAGGARE[0], HANDLAGGARE[1])
    await channel.say(anna, "uppföljning ÄNG-042")
    for _ in range(7):
        await channel.say(anna, "nästa")
    assert step_of(channel.connector.cards()[-1]) == 8
    answers = ("hemgång", day, "9", "egen", "nej", "-", "-", "nej", "nästa", "nästa")
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
    for text in ("förlängning", "2026-12-20", "Ny bedömning", "nej", "nästa", "nästa"):
        await channel.say(anna, text)

    statuses = {item.kind: item.status for item in await items(sessions, stay_id)}
    assert statuses["closing_note"] == "not_ready"


# --- item 9: hemgång KOD asks the meeting's questions; the coordinator gets the contact ---


async def test_typed_home_going_asks_the_meetings_questions_and_the_coordinator_gets_the_contact(
    channel: TeamsChannel, sessions, app_server, clock
) -> None:
    await seed_people(sessions, HANNA, KARIN)
    await seed_stay(sessions, clock, "ÄNG-042")
    hanna = channel.user("hanna", HANNA[0], HANNA[1])
    karin = channel.user("karin", KARIN[0], KARIN[1])
    await channel.say(karin, "hjälp")  # Karin has Korttid installed: her chat is known

    first = await channel.say(hanna, "hemgång ÄNG-042 26/11 9:30")
    assert "Hur kommer personen hem?" in texts(first)
    assert "Hemgång: ÄNG-042" in card_texts(last_card(first))
    assert await outbox(sessions) == []  # nothing decided yet
    said = {
        answer: texts(await channel.say(hanna, answer))
        for answer in ("anhöriga", "ja", "-", "Hemtjänst Centrum", "ring dem", "031-123 45 67")
    }
    done = texts(await channel.say(hanna, "nej"))

    assert "Möter hemtjänsten upp" in said["anhöriga"]
    assert "Utförare saknas" in said["-"] and "behöver koordinatorn" in said["-"]
    assert "som telefonnummer eller e-postadress" in said["ring dem"]
    assert "går hem torsdag 26 november 2026 kl. 09.30" in done
    await app_server.app[NOTIFIER].dispatcher.deliver_due(clock.now())
    notice = card_texts(channel.connector.cards(karin.conversation_id)[-1])
    for expected in ("ÄNG-042", "Hemtjänst Centrum", "031-123 45 67", "Närstående"):
        assert expected in notice, expected


async def test_the_home_going_card_requires_the_provider_when_home_help_meets(
    channel: TeamsChannel, sessions, clock
) -> None:
    await seed_people(sessions, HANNA, KARIN)
    stay_id = await seed_stay(sessions, clock, "ÄNG-042")
    hanna = channel.user("hanna", HANNA[0], HANNA[1])
    form = last_card(await channel.submit(hanna, {"action": "home_going", "stay_id": stay_id}))
    assert_valid_card(form)
    answers = {
        "step": "home_going.form",
        "date": "2026-11-26",
        "time": "09:00",
        "transport": "fardtjanst",
        "home_help_meets": "true",
        "provider_name": "",
        "provider_contact": "",
        "coordination_needed": "false",
        "sip_wanted": "false",
    }

    refused = texts(await channel.submit(hanna, answers))
    stay = await stay_by_code(sessions, "ÄNG-042")
    assert stay is not None and stay.home_going_date is None
    assert await outbox(sessions) == []
    saved = texts(
        await channel.submit(
            hanna, answers | {"provider_name": "Omsorg Öst", "provider_contact": "ost@omsorg.se"}
        )
    )

    assert "Beslutet är inte sparat än" in refused and "Utförare saknas" in refused
    assert "Utförarens kontaktuppgift saknas" in refused
    assert "går hem torsdag 26 november 2026 kl. 09.00" in saved
    notices = await outbox(sessions)
    assert [n.payload["provider_contact"] for n in notices] == ["ost@omsorg.se"]
    assert notices[0].payload["transport"] == "fardtjanst"


async def test_a_new_date_typed_keeps_the_answers_already_given(
    channel: TeamsChannel, sessions, clock
) -> None:
    await seed_people(sessions, HANNA, KARIN)
    await seed_stay(sessions, clock, "ÄNG-042")
    hanna = channel.user("hanna", HANNA[0], HANNA[1])
    await channel.say(hanna, "hemgång ÄNG-042 26/11 9")
    for answer in ("egen", "ja", "Hemtjänst Väst", "vast@hemtjanst.se", "nej"):
        await channel.say(hanna, answer)

    moved = texts(await channel.say(hanna, "hemgång ÄNG-042 27/11 10"))

    assert "Hemgång ändrad: ÄNG-042 går hem fredag 27 november 2026 kl. 10.00." in moved
    notices = await outbox(sessions)
    assert [n.kind for n in notices] == ["home_going_set", "home_going_changed"]
    assert notices[1].payload["provider_contact"] == "vast@hemtjanst.se"


async def test_tillbaka_in_the_typed_home_going_asks_the_previous_question_again(
    channel: TeamsChannel, sessions, clock
) -> None:
    await seed_people(sessions, HANNA, KARIN)
    await seed_stay(sessions, clock, "ÄNG-042")
    hanna = channel.user("hanna", HANNA[0], HANNA[1])
    await channel.say(hanna, "hemgång ÄNG-042 26/11 9:30")
    await channel.say(hanna, "egen")

    back = texts(await channel.say(hanna, "tillbaka"))
    assert "Hur kommer personen hem?" in back
    for answer in ("anhöriga", "nej", "-", "-"):
        await channel.say(hanna, answer)
    done = texts(await channel.say(hanna, "nej"))

    assert "går hem torsdag 26 november 2026 kl. 09.30" in done
    stay = await stay_by_code(sessions, "ÄNG-042")
    assert stay is not None and stay.transport == "relatives"  # the corrected answer, not "egen"
