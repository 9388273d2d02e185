"""The decision step over HTTP: every wrong answer gets a Swedish explanation and a new question."""

from __future__ import annotations

from datetime import date
from typing import Any

from storage.models import DecisionKind
from tests.cards import assert_valid_card
from tests.channel import TeamsChannel, TeamsUser
from tests.helpers import card_texts
from tests.meeting_helpers import (
    HANDLAGGARE,
    items,
    outbox,
    press,
    seed_meeting_world,
    step_of,
    the_meeting,
    the_stay,
)


async def to_decision(channel: TeamsChannel) -> TeamsUser:
    anna = channel.user("anna", HANDLAGGARE[0], HANDLAGGARE[1])
    await channel.say(anna, "uppföljning ÄNG-042")
    for _ in range(7):
        await channel.say(anna, "nästa")
    assert step_of(channel.connector.cards()[-1]) == 8
    return anna


async def answer(channel: TeamsChannel, anna: TeamsUser, text: str) -> str:
    replies = await channel.say(anna, text)
    assert replies, text
    return "\n".join(sent.activity.get("text") or "" for sent in replies)


def last_card(channel: TeamsChannel) -> dict[str, Any]:
    card = channel.connector.cards()[-1]
    assert_valid_card(card)
    return card


async def test_home_going_by_typing_explains_every_mistake(channel: TeamsChannel, sessions) -> None:
    stay_id = await seed_meeting_world(sessions)
    anna = await to_decision(channel)
    ask_date = "Vilket datum går personen hem?"

    assert "Anteckningen är sparad på steg 8" in await answer(channel, anna, "Vill hem snart")
    assert ask_date in await answer(channel, anna, "hemgång")
    said = await answer(channel, anna, "hoppa över")
    assert "Hemgångsdatum behövs för beslutet" in said and ask_date in said
    said = await answer(channel, anna, "blabla")
    assert "Jag förstår inte datumet ”blabla”" in said and ask_date in said
    said = await answer(channel, anna, "2026-11-20")
    assert "fredag 20 november 2026 har redan varit" in said and ask_date in said
    said = await answer(channel, anna, "20/12")
    assert "ligger efter vistelsens beslutade slutdatum, tisdag 8 december 2026" in said
    assert ask_date in said
    assert "Vilken tid" in await answer(channel, anna, "imorgon")

    said = await answer(channel, anna, "25")
    assert "Jag förstår inte klockslaget ”25”" in said and "Vilken tid" in said
    assert "Jag förstår inte klockslaget" in await answer(channel, anna, "9:75")
    said = await answer(channel, anna, "9")
    assert "Hur kommer personen hem?" in said and "förmiddagen" not in said

    said = await answer(channel, anna, "buss")
    assert "Jag förstod inte ”buss”" in said and "färdtjänst" in said
    assert "Möter hemtjänsten upp" in await answer(channel, anna, "närstående")
    said = await answer(channel, anna, "kanske")
    assert "Svara **ja** eller **nej**" in said and "Möter hemtjänsten upp" in said
    assert "Vilken utförare" in await answer(channel, anna, "nej")

    said = await answer(channel, anna, "Omsorg för 121212-1212")
    assert "personnummer" in said and "Vilken utförare" in said
    said = await answer(channel, anna, "x" * 121)
    assert "Utförare får vara högst 120 tecken" in said
    assert "Hur når koordinatorn utföraren?" in await answer(channel, anna, "hoppa över")
    assert "Vilken utförare" in await answer(channel, anna, "tillbaka")
    assert "Hur når koordinatorn" in await answer(channel, anna, "Omsorg Öst AB")
    assert "samordning" in await answer(channel, anna, "031-123 45 67")
    assert "bara hälso- och sjukvård" in await answer(channel, anna, "ja")
    assert "SIP" in await answer(channel, anna, "nej")
    said = await answer(channel, anna, "ja")
    assert "Hemgång tisdag 24 november 2026 kl. 09.00, närstående kör" in said

    meeting = await the_meeting(sessions)
    assert meeting.decision is not None
    assert meeting.decision["final"]["values"] == {
        "date": "2026-11-24",
        "time": "09:00",
        "transport": "relatives",
        "home_help_meets": False,
        "provider_name": "Omsorg Öst AB",
        "provider_contact": "031-123 45 67",
        "coordination_needed": True,
        "health_care_only": False,
        "sip_wanted": True,
    }
    assert "1212" not in str(meeting.decision)
    stay = await the_stay(sessions, stay_id)
    assert stay.home_going_date is None  # nothing reaches the stay before the meeting is held


async def test_extension_by_typing(channel: TeamsChannel, sessions) -> None:
    stay_id = await seed_meeting_world(sessions)
    anna = await to_decision(channel)

    said = await answer(channel, anna, "förlängning")
    assert "nya slutdatumet" in said and "tisdag 8 december 2026" in said
    said = await answer(channel, anna, "2026-11-20")
    assert "har redan varit" in said and "nya slutdatumet" in said
    said = await answer(channel, anna, "1/12")
    assert "Det nya slutdatumet tisdag 1 december 2026 är inte senare än det nuvarande" in said
    assert "Varför förlängs vistelsen?" in await answer(channel, anna, "15 dec")
    said = await answer(channel, anna, "Skäl: 19121212-1212 behöver mer tid")
    assert "personnummer" in said and "Varför förlängs" in said
    said = await answer(channel, anna, "y" * 501)
    assert "Skäl till förlängningen får vara högst 500 tecken" in said
    await answer(channel, anna, "Behöver mer träning i förflyttning")
    said = await answer(channel, anna, "nej")  # no coordination need: no SIP question
    assert "Förlängning till och med tisdag 15 december 2026" in said
    await answer(channel, anna, "nästa")
    await answer(channel, anna, "nästa")

    stay = await the_stay(sessions, stay_id)
    assert stay.decision_kind == DecisionKind.EXTENSION
    assert stay.decision_end_date == date(2026, 12, 15)
    assert stay.extension_reason == "Behöver mer träning i förflyttning"
    assert stay.followup_held_on == date(2026, 11, 23)
    notices = await outbox(sessions)  # the coordinator hears of the new end date (issue 17)
    assert [(m.kind, m.payload["end_date"]) for m in notices] == [("stay_extension", "2026-12-15")]
    assert await items(sessions, stay_id) == []


async def test_other_then_changed_to_care_home_wait(channel: TeamsChannel, sessions) -> None:
    stay_id = await seed_meeting_world(sessions)
    anna = await to_decision(channel)

    assert "Beskriv kort" in await answer(channel, anna, "annat")
    assert "Beslutet får vara högst 500 tecken" in await answer(channel, anna, "z" * 501)
    await answer(channel, anna, "Utredning pågår")
    said = await answer(channel, anna, "nej")
    assert "Beslutet är noterat: Annat" in said
    await answer(channel, anna, "tillbaka")
    step8 = last_card(channel)
    assert "Noterat beslut: Annat" in card_texts(step8)
    assert "Utredning pågår" in card_texts(step8)

    assert "samordning" in await answer(channel, anna, "väntplats")
    assert "bara hälso- och sjukvård" in await answer(channel, anna, "ja")
    assert "SIP" in await answer(channel, anna, "nej")
    said = await answer(channel, anna, "nej")
    assert "Väntplats på särskilt boende" in said
    await answer(channel, anna, "nästa")
    assert "Inget nytt hemgångsdatum" in card_texts(last_card(channel))
    await answer(channel, anna, "nästa")

    stay = await the_stay(sessions, stay_id)
    assert stay.decision_kind == DecisionKind.CARE_HOME_WAIT
    assert stay.waiting_care_home is True
    assert stay.coordination_needed is True


async def test_decision_card_lists_what_to_fix_and_keeps_the_answers(
    channel: TeamsChannel, sessions
) -> None:
    stay_id = await seed_meeting_world(sessions)
    anna = await to_decision(channel)
    form = last_card(channel)
    form = (await channel.submit(anna, press(form, "Hemgång"))) and last_card(channel)
    assert "Beslut: Hemgång" in card_texts(form)

    replies = await channel.submit(
        anna, press(form, "Spara beslutet", date="2026-12-20", time="", transport="")
    )
    said = replies[0].activity["text"]
    assert "Beslutet är inte sparat än" in said
    assert "ligger efter vistelsens beslutade slutdatum" in said
    assert "Klockslag saknas" in said and "Transport saknas" in said
    form = last_card(channel)
    assert {"id": "date", "value": "2026-12-20"}.items() <= next(
        node for node in form["body"] if node.get("id") == "date"
    ).items()

    replies = await channel.submit(
        anna,
        press(form, "Spara beslutet", date="2026-11-20", time="13:15", transport="sjukresa"),
    )
    assert "har redan varit" in replies[0].activity["text"]
    replies = await channel.submit(
        anna,
        press(last_card(channel), "Spara beslutet", date="2026-12-04", time="13:15"),
    )
    texts = "\n".join(sent.activity.get("text") or "" for sent in replies)
    assert "Hemgång fredag 4 december 2026 kl. 13.15, sjukresa" in texts
    assert "Hemgång på förmiddagen är att föredra" in texts
    assert step_of(last_card(channel)) == 9

    # Back to step 8 to change the decision to an extension, with a wrong end date first.
    await channel.submit(anna, press(last_card(channel), "Tillbaka"))
    await channel.submit(anna, press(last_card(channel), "Förlängning"))
    replies = await channel.submit(
        anna, press(last_card(channel), "Spara beslutet", end_date="2026-12-01", reason="")
    )
    said = replies[0].activity["text"]
    assert "inte senare än det nuvarande" in said and "Skäl till förlängningen saknas" in said
    await channel.submit(anna, press(last_card(channel), "Tillbaka"))
    step8 = last_card(channel)
    assert "Noterat beslut: Hemgång" in card_texts(step8)  # the recorded decision is kept
    await channel.submit(anna, press(step8, "Hemgång"))
    form = last_card(channel)
    date_input = next(node for node in form["body"] if node.get("id") == "date")
    assert date_input["value"] == "2026-12-04"  # changing starts from what was recorded
    assert "nya slutdatumet" in await answer(channel, anna, "förlängning")  # typing switches
    assert "Vad beslutades?" in await answer(channel, anna, "tillbaka")
    await channel.submit(anna, press(step8, "Nästa"))
    await channel.submit(anna, press(last_card(channel), "Nästa"))
    await channel.submit(anna, press(last_card(channel), "Avsluta mötet"))

    stay = await the_stay(sessions, stay_id)
    assert stay.home_going_date == date(2026, 12, 4)
    assert stay.transport == "sjukresa"


async def test_a_later_meeting_changes_or_cancels_the_home_going(
    channel: TeamsChannel, sessions
) -> None:
    stay_id = await seed_meeting_world(sessions)

    async def hold(*answers: str) -> None:
        anna = await to_decision(channel)
        for text in (*answers, "nästa", "nästa"):
            await channel.say(anna, text)

    await hold("hemgång", "3/12", "9", "egen", "nej", "-", "-", "nej")
    await hold("hemgång", "4/12", "10", "egen", "nej", "-", "-", "nej")
    said = "\n".join(t for t in channel.connector.texts() if "hölls redan" in t)
    assert "hölls redan måndag 23 november 2026" in said
    await hold("förlängning", "2026-12-20", "Ny bedömning", "nej")

    kinds = [message.kind for message in await outbox(sessions)]
    assert kinds == [
        "home_going_set",
        "home_going_changed",
        "home_going_cancelled",
        "stay_extension",
    ]
    stay = await the_stay(sessions, stay_id)
    assert stay.home_going_date is None and stay.transport is None
    assert stay.decision_end_date == date(2026, 12, 20)
