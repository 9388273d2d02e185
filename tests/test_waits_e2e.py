"""End to end over HTTP: people ready for discharge who wait in hospital, and what it costs.

The app here is configured with a daily amount for 2026 only (9 800 kr).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.settings import Settings
from storage.models import WaitStatus
from tests.cards import assert_valid_card
from tests.channel import TeamsChannel
from tests.helpers import card_texts
from tests.stay_helpers import (
    BO,
    HANNA,
    HENRIK,
    SARA,
    audit_actions,
    last_card,
    seed_people,
    seed_stay,
    stay_by_code,
    texts,
    waits,
)


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        env="dev",
        app_id="",
        scheduler_enabled=False,
        admin_contact="Korttids administratör",
        payment_amounts={2026: 9800},
    )


async def test_boendesamordnare_registers_a_wait_by_typing_and_sees_the_cost(
    channel: TeamsChannel, sessions
) -> None:
    await seed_people(sessions, BO)
    bo = channel.user("bo", "bo@kommun.se")

    empty = last_card(await channel.say(bo, "utskrivningsklar"))
    assert "Ingen väntar på sjukhus just nu." in card_texts(empty)
    await channel.say(bo, "utskrivningsklar ny")
    await channel.say(bo, "äng-050")
    missing_time = texts(await channel.say(bo, "20/11"))
    done = await channel.say(bo, "20/11 kl 10:15")

    assert "Klockslaget behövs också" in missing_time
    assert "ÄNG-050 är registrerad som utskrivningsklar" in texts(done)
    assert "betalningsansvar börjar mån 23 nov" in texts(done)
    listing = last_card(done)
    assert_valid_card(listing)
    text = card_texts(listing)
    assert "ÄNG-050 till ÄNG" in text
    assert "Utskrivningsklar fre 20 nov kl. 10.15 · har väntat 3 dagar" in text
    assert "Betalningsansvar från mån 23 nov: 1 dag, 9\u00a0800\u00a0kr" in text
    assert "3 kalenderdagar efter underrättelsen" in text
    [wait] = await waits(sessions)
    assert wait.notified_at == datetime(2026, 11, 20, 9, 15, tzinfo=UTC)  # 10:15 in Stockholm

    closed = texts(await channel.say(bo, "utskrivningsklar ÄNG-050 annat"))
    assert "Väntan för ÄNG-050 är avslutad." in closed
    assert (await waits(sessions))[0].status == WaitStatus.OTHER
    actions = await audit_actions(sessions)
    assert "wait.register" in actions and "wait.close" in actions and "wait.list" in actions


async def test_register_a_wait_by_card_with_two_units(channel: TeamsChannel, sessions) -> None:
    await seed_people(sessions, ("bo@kommun.se", "Bo", "boendesamordnare", "ÄNG;BJÖ"))
    bo = channel.user("bo", "bo@kommun.se")

    code_card = last_card(await channel.submit(bo, {"action": "wait_new"}))
    assert_valid_card(code_card)
    notice_card = last_card(
        await channel.submit(bo, {"step": "register_wait.code", "answer": "BJÖ-020"})
    )
    assert_valid_card(notice_card)
    assert [i["type"] for i in notice_card["body"] if i["type"].startswith("Input")] == [
        "Input.Date",
        "Input.Time",
    ]
    future = texts(
        await channel.submit(
            bo, {"step": "register_wait.notice", "date": "2026-11-23", "time": "11:00"}
        )
    )
    unit_card = last_card(
        await channel.submit(
            bo, {"step": "register_wait.notice", "date": "2026-11-23", "time": "08:30"}
        )
    )
    done = await channel.submit(bo, {"step": "register_wait.unit", "choice": "BJÖ"})

    assert "har inte varit än" in future  # 11:00 is after 09:00 today
    assert_valid_card(unit_card)
    assert [a["title"] for a in unit_card["actions"]][:2] == ["BJÖ – BJÖ", "ÄNG – ÄNG"]
    listing = last_card(done)
    assert "BJÖ-020 till BJÖ" in card_texts(listing)
    assert "Betalningsansvar från tor 26 nov om personen väntar kvar" in card_texts(listing)


async def test_a_new_stay_with_the_waits_code_closes_the_wait(
    channel: TeamsChannel, sessions
) -> None:
    await seed_people(sessions, HANNA, BO)
    bo, hanna = channel.user("bo", "bo@kommun.se"), channel.user("hanna", "hanna@kommun.se")
    for answer in ("utskrivningsklar ny", "ÄNG-050", "19/11 9:00"):
        await channel.say(bo, answer)

    code_card = last_card(await channel.say(hanna, "ny vistelse"))
    wait_button = next(a for a in code_card["actions"] if "väntar på sjukhus" in a["title"])
    await channel.submit(hanna, wait_button["data"])
    for answer in ("7", "idag", "2026-12-14", "ja", "Återhämtning", "nej"):
        await channel.say(hanna, answer)
    done = texts(await channel.say(hanna, "spara"))

    assert "Den väntan är nu avslutad och kopplad till vistelsen" in done
    stay = await stay_by_code(sessions, "ÄNG-050")
    [wait] = await waits(sessions)
    assert stay is not None and wait.stay_id == stay.id and wait.status == WaitStatus.ARRIVED
    listing = card_texts(last_card(await channel.say(bo, "utskrivningsklar")))
    assert "ÄNG-050" not in listing


async def test_close_as_arrived_by_card_links_the_stay(
    channel: TeamsChannel, sessions, clock
) -> None:
    await seed_people(sessions, HANNA, SARA, BO)
    bo = channel.user("bo", "bo@kommun.se")
    for answer in ("utskrivningsklar ny", "ÄNG-050", "18/11 14:00"):
        await channel.say(bo, answer)
    stay_id = await seed_stay(sessions, clock, "ÄNG-042", arrived_days_ago=1)
    listing = last_card(await channel.say(bo, "utskrivningsklar"))
    show_card = listing["body"][2]["items"][3]["actions"][0]
    assert show_card["type"] == "Action.ShowCard"
    submit = show_card["card"]["actions"][0]["data"]

    wrong = texts(await channel.submit(bo, {**submit, "stay_code": "ÄNG-999"}))
    done = texts(await channel.submit(bo, {**submit, "stay_code": "äng-042"}))

    assert "hittar ingen vistelse ÄNG-999" in wrong
    assert "personen har kommit (ÄNG-042)" in done
    assert "Betalningsansvar från lör 21 nov: 1 dag, 9\u00a0800\u00a0kr" in done
    [wait] = await waits(sessions)
    assert wait.stay_id == stay_id and wait.status == WaitStatus.ARRIVED
    # The person left hospital on the arrival day (yesterday), whatever day the wait was closed.
    assert wait.closed_at == datetime(2026, 11, 21, 23, 0, tzinfo=UTC)  # 22 Nov, 00:00 local
    again = texts(await channel.say(bo, "utskrivningsklar ÄNG-050 kommit"))
    assert "hittar ingen utskrivningsklar med koden ”ÄNG-050”" in again


async def test_unpriced_year_is_not_configured_never_zero(channel: TeamsChannel, sessions) -> None:
    await seed_people(sessions, BO)
    bo = channel.user("bo", "bo@kommun.se")
    for answer in ("utskrivningsklar ny", "ÄNG-051", "2025-12-20 10:00"):
        await channel.say(bo, answer)

    text = card_texts(last_card(await channel.say(bo, "utskrivningsklar")))

    assert "dagbelopp ej konfigurerat" in text
    assert " 0\u00a0kr" not in text


async def test_who_may_handle_waits(channel: TeamsChannel, sessions) -> None:
    await seed_people(sessions, SARA, BO, HENRIK)
    bo, sara = channel.user("bo", "bo@kommun.se"), channel.user("sara", "sara@kommun.se")
    henrik = channel.user("henrik", "henrik@kommun.se")
    for answer in ("utskrivningsklar ny", "ÄNG-050", "20/11 10:15"):
        await channel.say(bo, answer)
    [wait] = await waits(sessions)

    nurse = texts(await channel.say(sara, "utskrivningsklar"))
    other_unit = texts(
        await channel.submit(
            henrik, {"action": "wait_close", "wait_id": wait.id, "outcome": "other"}
        )
    )
    other_unit_typed = texts(await channel.say(henrik, "utskrivningsklar ÄNG-050 annat"))
    usage = texts(await channel.say(bo, "utskrivningsklar ÄNG-050 kanske"))
    await channel.say(bo, "utskrivningsklar ny")
    await channel.say(bo, "ÄNG-050")
    duplicate = texts(await channel.say(bo, "21/11 8:00"))

    assert "boendesamordnare" in nurse.lower()
    assert "hör inte till dina enheter" in other_unit
    assert "hittar ingen utskrivningsklar" in other_unit_typed
    assert "utskrivningsklar ny" in usage
    assert "redan registrerad som utskrivningsklar" in duplicate
    assert (await waits(sessions))[0].status == WaitStatus.WAITING
    assert "wait.access_refused" in await audit_actions(sessions)
