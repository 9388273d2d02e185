"""End to end over HTTP: the readiness checklist, by card (in place) and by typing.

In Teams the checklist's buttons are Action.Execute: an ``adaptiveCard/action`` invoke answered in
the HTTP response with the refreshed card. Other clients use the Action.Submit fallback.
"""

from __future__ import annotations

from typing import Any

from tests.cards import assert_valid_card
from tests.channel import TeamsChannel, TeamsUser
from tests.helpers import card_texts
from tests.stay_helpers import (
    HANNA,
    HENRIK,
    OLLE,
    RAMI,
    SARA,
    audit_actions,
    audit_events,
    items_of,
    last_card,
    seed_people,
    seed_stay,
    texts,
)

CARD = "application/vnd.microsoft.card.adaptive"


async def _invoke(
    channel: TeamsChannel, user: TeamsUser, verb: str, data: dict[str, Any]
) -> tuple[int, dict[str, Any]]:
    activity = channel.activity(
        user,
        type_="invoke",
        name="adaptiveCard/action",
        value={
            "action": {"type": "Action.Execute", "verb": verb, "data": data},
            "trigger": "manual",
        },
    )
    response = await channel.post(activity)
    return response.status, await response.json()


def _buttons(card: dict[str, Any], label: str) -> list[dict[str, Any]]:
    """The Action.Execute buttons on the checklist row with this label."""
    for element in card["body"]:
        if element.get("type") != "ColumnSet":
            continue
        columns = element["columns"]
        if columns[0]["items"][0]["text"] == label:
            return columns[1]["items"][0]["actions"] if len(columns) > 1 else []
    raise AssertionError(f"no row {label}")


async def test_nurse_sees_the_checklist_with_buttons_for_her_own_items(
    channel: TeamsChannel, sessions, clock
) -> None:
    await seed_people(sessions, HANNA, SARA, RAMI)
    stay_id = await seed_stay(sessions, clock, "ÄNG-042")
    sara = channel.user("sara", "sara@kommun.se")

    card = last_card(await channel.say(sara, "checklista ÄNG-042"))

    assert_valid_card(card)
    text = card_texts(card)
    assert "Checklista inför hemgång: ÄNG-042" in text
    assert "0 av 9 avklarade" in text
    assert (
        "○ Inte klar · Sjuksköterska" in text
        and "○ Inte klar · Fysioterapeut/arbetsterapeut" in text
    )
    medication = _buttons(card, "Läkemedel")
    assert [b["title"] for b in medication] == ["Klar", "Ej aktuellt"]
    assert medication[0]["type"] == "Action.Execute" and medication[0]["verb"] == "readiness_set"
    assert medication[0]["data"] == {"stay_id": stay_id, "kind": "medication", "status": "ready"}
    assert medication[0]["fallback"]["type"] == "Action.Submit"
    assert medication[0]["fallback"]["data"]["action"] == "readiness_set"
    assert _buttons(card, "Hjälpmedel") == []  # rehab's item
    assert "Kallelse till SIP skickad" not in text  # no SIP wanted
    assert "readiness.read" in await audit_actions(sessions, stay_id)


async def test_nurse_ticks_medication_ready_and_the_card_updates_in_place(
    channel: TeamsChannel, sessions, clock
) -> None:
    await seed_people(sessions, HANNA, SARA)
    stay_id = await seed_stay(sessions, clock, "ÄNG-042")
    sara = channel.user("sara", "sara@kommun.se")
    card = last_card(await channel.say(sara, "checklista ÄNG-042"))
    before = len(channel.connector.sent)
    ready = _buttons(card, "Läkemedel")[0]

    status, body = await _invoke(channel, sara, ready["verb"], ready["data"])

    assert status == 200
    assert body["statusCode"] == 200 and body["type"] == CARD
    refreshed = body["value"]
    assert_valid_card(refreshed)
    text = card_texts(refreshed)
    assert "Sparat: Läkemedel – klar." in text
    assert "1 av 9 avklarade" in text
    assert [b["title"] for b in _buttons(refreshed, "Läkemedel")] == ["Inte klar", "Ej aktuellt"]
    assert len(channel.connector.sent) == before  # nothing posted to the chat: updated in place
    assert (await items_of(sessions, stay_id))["medication"] == "ready"
    event = [e for e in await audit_events(sessions) if e.action == "readiness.update"][-1]
    assert event.detail == {
        "case_code": "ÄNG-042",
        "kind": "medication",
        "status": "ready",
        "previous": "not_ready",
    }


async def test_an_item_of_another_role_is_refused_in_the_card(
    channel: TeamsChannel, sessions, clock
) -> None:
    await seed_people(sessions, HANNA, SARA)
    stay_id = await seed_stay(sessions, clock, "ÄNG-042")
    sara = channel.user("sara", "sara@kommun.se")

    _status, body = await _invoke(
        channel,
        sara,
        "readiness_set",
        {"stay_id": stay_id, "kind": "assistive_devices", "status": "ready"},
    )

    assert body["type"] == CARD
    assert "Det är fysioterapeuten eller arbetsterapeuten som markerar hjälpmedel" in card_texts(
        body["value"]
    )
    assert (await items_of(sessions, stay_id))["assistive_devices"] == "not_ready"
    assert "readiness.refused" in await audit_actions(sessions, stay_id)


async def test_a_tampered_stay_id_in_an_invoke_is_refused_and_audited(
    channel: TeamsChannel, sessions, clock
) -> None:
    await seed_people(sessions, SARA, HENRIK, ("nina@kommun.se", "Nina", "sjukskoterska", "BJÖ"))
    other = await seed_stay(
        sessions, clock, "BJÖ-011", unit="BJÖ", handlaggare="henrik@kommun.se", nurse=None
    )
    sara = channel.user("sara", "sara@kommun.se")

    status, body = await _invoke(
        channel, sara, "readiness_set", {"stay_id": other, "kind": "medication", "status": "ready"}
    )

    assert status == 200
    assert body["type"] == "application/vnd.microsoft.activity.message"
    assert "hör inte till dina enheter" in body["value"]
    assert await items_of(sessions, other) == {}  # not even the checklist was created
    refused = [e for e in await audit_events(sessions) if e.action == "stay.access_refused"]
    assert refused and refused[0].stay_id == other


async def test_submit_fallback_updates_the_cards_message(
    channel: TeamsChannel, sessions, clock
) -> None:
    await seed_people(sessions, HANNA, SARA)
    stay_id = await seed_stay(sessions, clock, "ÄNG-042")
    sara = channel.user("sara", "sara@kommun.se")
    shown = await channel.say(sara, "checklista ÄNG-042")
    fallback = _buttons(last_card(shown), "Vårdplan")[0]["fallback"]["data"]

    updated = await channel.submit(sara, fallback, replyToId=shown[-1].activity_id)
    sent_anew = await channel.submit(sara, {**fallback, "status": "not_applicable"})

    assert [s.method for s in updated] == ["PUT"]
    assert updated[0].activity_id == shown[-1].activity_id
    assert "Sparat: Vårdplan – klar." in card_texts(last_card(updated))
    assert [s.method for s in sent_anew] == ["POST"]
    assert "Vårdplan – ej aktuell" in card_texts(last_card(sent_anew))
    assert (await items_of(sessions, stay_id))["care_plan"] == "not_applicable"


async def test_readiness_by_typing(channel: TeamsChannel, sessions, clock) -> None:
    await seed_people(sessions, HANNA, SARA, RAMI, OLLE)
    stay_id = await seed_stay(sessions, clock, "ÄNG-042")
    sara, rami = channel.user("sara", "sara@kommun.se"), channel.user("rami", "rami@kommun.se")
    olle = channel.user("olle", "olle@kommun.se")

    ready = texts(await channel.say(sara, "klar läkemedel äng-042"))
    again = texts(await channel.say(sara, "klar läkemedel ÄNG-042"))
    not_ready = texts(await channel.say(sara, "inte klar läkemedel ÄNG-042"))
    not_applicable = texts(await channel.say(rami, "ej aktuellt bostadsanpassning ÄNG-042"))
    not_hers = texts(await channel.say(sara, "klar hjälpmedel ÄNG-042"))
    unknown = texts(await channel.say(sara, "klar kaffe ÄNG-042"))
    not_found = texts(await channel.say(sara, "klar läkemedel ÄNG-999"))
    carer = texts(await channel.say(olle, "klar läkemedel ÄNG-042"))

    assert "Sparat för ÄNG-042: Läkemedel – klar. 8 punkter kvar på checklistan." in ready
    assert "Ingen ändring" in again
    assert "Läkemedel – inte klar" in not_ready
    assert "Bostadsanpassning – ej aktuell" in not_applicable
    assert "fysioterapeuten eller arbetsterapeuten som markerar hjälpmedel" in not_hers
    assert "känner inte igen punkten ”kaffe”" in unknown
    assert "hittar ingen vistelse" in not_found
    assert "sjuksköterska" in carer  # the command is not for omsorgspersonal
    items = await items_of(sessions, stay_id)
    assert items["medication"] == "not_ready" and items["home_modification"] == "not_applicable"


async def test_last_item_ready_says_all_is_ready(channel: TeamsChannel, sessions, clock) -> None:
    await seed_people(
        sessions, ("all@kommun.se", "Alla Roller", "handlaggare;sjukskoterska;rehab", "ÄNG")
    )
    await seed_stay(sessions, clock, "ÄNG-042", handlaggare="all@kommun.se", nurse=None)
    everyone = channel.user("all", "all@kommun.se")
    words = ("hjälpmedel", "läkemedel", "vårdplan", "hemtjänst", "larm", "nycklar", "transport")
    for word in words:
        await channel.say(everyone, f"klar {word} ÄNG-042")
    await channel.say(everyone, "ej aktuellt bostadsanpassning ÄNG-042")

    last = texts(await channel.say(everyone, "klar slutanteckning ÄNG-042"))

    assert "Allt på checklistan är klart inför hemgången!" in last
    listing = card_texts(last_card(await channel.say(everyone, "mina vistelser")))
    assert "🟢 Hemgångsklar" in listing


async def test_klart_on_a_nudge_marks_the_item_ready(
    channel: TeamsChannel, sessions, clock
) -> None:
    await seed_people(sessions, HANNA, SARA)
    stay_id = await seed_stay(sessions, clock, "ÄNG-042")
    sara = channel.user("sara", "sara@kommun.se")

    reply = texts(
        await channel.submit(
            sara, {"action": "mark_ready", "stay_id": stay_id, "item": "care_plan"}
        )
    )

    assert "Sparat för ÄNG-042: Vårdplan – klar." in reply
    assert (await items_of(sessions, stay_id))["care_plan"] == "ready"


async def test_closed_stay_checklist_cannot_change(channel: TeamsChannel, sessions, clock) -> None:
    await seed_people(sessions, HANNA, SARA)
    await seed_stay(sessions, clock, "ÄNG-042")
    hanna, sara = channel.user("hanna", "hanna@kommun.se"), channel.user("sara", "sara@kommun.se")
    await channel.say(sara, "checklista ÄNG-042")
    for answer in ("avsluta ÄNG-042", "hem", "idag", "ja"):
        await channel.say(hanna, answer)

    card = last_card(await channel.say(sara, "checklista ÄNG-042"))
    typed = texts(await channel.say(sara, "klar läkemedel ÄNG-042"))

    assert _buttons(card, "Läkemedel") == []
    assert "avslutad och kan inte ändras" in typed


async def test_a_failed_invoke_says_nothing_was_saved(
    channel: TeamsChannel, sessions, clock
) -> None:
    from sqlalchemy import text

    from storage.db import transaction

    await seed_people(sessions, HANNA, SARA)
    stay_id = await seed_stay(sessions, clock, "ÄNG-042")
    sara = channel.user("sara", "sara@kommun.se")
    await channel.say(sara, "checklista ÄNG-042")
    async with transaction(sessions) as session:
        await session.exec(text("DROP TABLE audit_event"))  # type: ignore[call-overload]

    status, body = await _invoke(
        channel,
        sara,
        "readiness_set",
        {"stay_id": stay_id, "kind": "medication", "status": "ready"},
    )

    assert status == 200
    assert body["type"] == "application/vnd.microsoft.activity.message"
    assert "inget sparades" in body["value"]
    assert (await items_of(sessions, stay_id))["medication"] == "not_ready"
