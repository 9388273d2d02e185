"""The follow-up meeting end to end over HTTP: by card, by typing, resumed, taken over, refused."""

from __future__ import annotations

from datetime import date, time
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer

from bot.app import CHAT_POSTS, NOTIFIER, create_app
from bot.settings import Settings
from storage.domain.clock import FixedClock
from storage.models import DecisionKind, MeetingStatus, OutboxStatus, ReadinessKind
from tests.cards import assert_valid_card
from tests.channel import TeamsChannel, TeamsUser
from tests.helpers import card_texts
from tests.meeting_helpers import (
    COORDINATOR,
    FOREIGN_HANDLAGGARE,
    HANDLAGGARE,
    NURSE,
    OTHER_HANDLAGGARE,
    audit_actions,
    items,
    meetings_count,
    outbox,
    press,
    seed_meeting_world,
    step_of,
    the_meeting,
    the_stay,
    title_of,
    walk,
)


def user(channel: TeamsChannel, row: tuple[str, str, str, str]) -> TeamsUser:
    email, name = row[0], row[1]
    return channel.user(email.split("@")[0], email, name)


def cards_in(replies: list[Any]) -> list[dict[str, Any]]:
    found = []
    for sent in replies:
        for attachment in sent.activity.get("attachments") or []:
            found.append(attachment["content"])
    return found


def texts_in(replies: list[Any]) -> list[str]:
    return [sent.activity.get("text") or "" for sent in replies if sent.activity.get("text")]


def only_card(replies: list[Any]) -> dict[str, Any]:
    cards = cards_in(replies)
    assert len(cards) == 1, texts_in(replies)
    assert_valid_card(cards[0])
    return cards[0]


async def test_whole_meeting_by_card(channel: TeamsChannel, sessions) -> None:
    stay_id = await seed_meeting_world(sessions)
    anna = user(channel, HANDLAGGARE)

    replies = await channel.say(anna, "uppföljning ÄNG-042")
    assert "Nu börjar uppföljningsmötet för ÄNG-042" in texts_in(replies)[0]
    card = only_card(replies)
    assert title_of(card) == "Inledning och presentation"
    assert "Leds av: Biståndshandläggare" in card_texts(card)

    step1 = press(
        card,
        "Nästa",
        participants="person,relatives,handlaggare,sjukskoterska,rehab",
        topic_round="true",
        topic_length="true",
        note="Mötet beräknas ta 45 minuter.",
    )
    card = only_card(await channel.submit(anna, step1))
    assert title_of(card) == "Kort resumé"
    assert "Träna förflyttning inför hemgång" in card_texts(card)  # the stay's goal

    card = only_card(await channel.submit(anna, press(card, "Nästa", topic_goal="true")))
    assert title_of(card) == "Hälsa och sjukvård: sjuksköterska"
    assert "tillsammans med den enskilde och närstående" in card_texts(card)
    card = only_card(await channel.submit(anna, press(card, "Hoppa över")))
    assert title_of(card) == "Hälsa och sjukvård: fysioterapeut och arbetsterapeut"
    card = only_card(await channel.submit(anna, press(card, "Tillbaka")))
    assert step_of(card) == 3
    card = only_card(
        await channel.submit(
            anna, press(card, "Nästa", topic_medication="true", topic_wounds="true")
        )
    )
    for expected in (4, 5, 6, 7):
        assert step_of(card) == expected
        card = only_card(await channel.submit(anna, press(card, "Nästa")))

    assert title_of(card) == "Sammanfattning och beslut"
    next_without_decision = await channel.submit(anna, press(card, "Nästa"))
    assert "behöver ett beslut" in texts_in(next_without_decision)[0]
    form = only_card(await channel.submit(anna, press(card, "Hemgång", topic_summary="true")))
    assert "Beslut: Hemgång" in card_texts(form)
    decision = press(
        form,
        "Spara beslutet",
        date="2026-12-03",
        time="09:30",
        transport="fardtjanst",
        home_help_meets="true",
        provider_name="Hemtjänst Centrum",
        provider_contact="010-123 45 67",
        coordination_needed="true",
        health_care_only="true",
        sip_wanted="true",
    )
    replies = await channel.submit(anna, decision)
    assert "Beslutet är noterat: Hemgång torsdag 3 december 2026 kl. 09.30" in texts_in(replies)[0]
    assert "förmiddag" not in " ".join(texts_in(replies))
    card = only_card(replies)
    assert title_of(card) == "Avstämning och avslut"
    card = only_card(await channel.submit(anna, press(card, "Nästa")))
    assert title_of(card) == "Informera korttidskoordinatorn"
    assert "Karin Koordinator" in card_texts(card)
    assert "Hoppa över" not in card_texts(card)

    replies = await channel.submit(anna, press(card, "Avsluta mötet"))
    texts = texts_in(replies)
    assert "Uppföljningsmötet för ÄNG-042 är sparat." in texts[0]
    assert "Karin Koordinator" in texts[0]
    summary = texts[-1]
    assert "\n\nMötesdatum: måndag 23 november 2026\n\n" in summary  # a line each, in markdown
    assert "Uppföljningsmöte, korttidsvistelse ÄNG-042" in summary
    assert "Deltagare: Den enskilde, Närstående, Biståndshandläggare, Sjuksköterska" in summary
    assert "Anteckning: Mötet beräknas ta 45 minuter." in summary
    assert "Beslut: Hemgång" in summary
    assert "Hemgångsdatum: torsdag 3 december 2026" in summary
    assert "Önskemål om SIP: Ja" in summary
    for name in ("Anna", "Karin", "Handläggare "):
        assert name not in summary

    meeting = await the_meeting(sessions)
    assert meeting.status == MeetingStatus.HELD
    assert meeting.held_at is not None
    assert meeting.participants == ["person", "relatives", "handlaggare", "sjukskoterska", "rehab"]
    assert meeting.steps["opening"]["covered"] == ["round", "length"]
    assert meeting.steps["health_nurse"] == {
        "covered": ["wounds", "medication"],
        "status": "done",
    }
    assert meeting.decision is not None
    assert meeting.decision["final"]["kind"] == "home_going"

    stay = await the_stay(sessions, stay_id)
    assert stay.followup_held_on == date(2026, 11, 23)
    assert stay.decision_kind == DecisionKind.HOME_GOING
    assert (stay.home_going_date, stay.home_going_time) == (date(2026, 12, 3), time(9, 30))
    assert stay.transport == "fardtjanst"
    assert stay.home_help_meets is True
    assert (stay.provider_name, stay.provider_contact) == ("Hemtjänst Centrum", "010-123 45 67")
    assert (stay.coordination_needed, stay.health_care_only, stay.sip_wanted) == (True, True, True)

    checklist = {item.kind: item.responsible_role for item in await items(sessions, stay_id)}
    assert len(checklist) == 10
    assert checklist[ReadinessKind.MEDICATION] == "sjukskoterska"
    assert checklist[ReadinessKind.ASSISTIVE_DEVICES] == "rehab"
    assert checklist[ReadinessKind.SIP_CALLED] == "sjukskoterska"  # health care alone: HSL calls

    notices = await outbox(sessions)
    assert [(n.template, n.kind) for n in notices] == [("home_going_notice", "home_going_set")]
    assert notices[0].payload["date"] == "2026-12-03"
    assert notices[0].payload["provider_contact"] == "010-123 45 67"

    actions = await audit_actions(sessions)
    assert actions[0] == "meeting.start"
    assert actions.count("meeting.step") == 11  # ten forward (one a skip) and one back
    assert "meeting.decision" in actions
    assert actions[-1] == "meeting.held"


async def take_over(
    channel: TeamsChannel, who: TeamsUser, card: dict[str, Any], title: str
) -> tuple[dict[str, Any], list[Any]]:
    """Press a takeover button (Action.Execute): the invoke answer and what the chat got."""
    [action] = [n for n in walk(card) if n.get("title") == title]
    assert action["type"] == "Action.Execute", action
    body, sent = await channel.execute(who, action["verb"], action["data"])
    assert_valid_card(body["value"])
    return body, sent


async def say_card(channel: TeamsChannel, who: TeamsUser, text: str) -> dict[str, Any]:
    return only_card(await channel.say(who, text))


async def say_text(channel: TeamsChannel, who: TeamsUser, text: str) -> str:
    replies = await channel.say(who, text)
    # No new card: the meeting's one card may be updated in place (issue 16).
    assert cards_in([s for s in replies if s.method == "POST"]) == [], texts_in(replies)
    return "\n".join(texts_in(replies))


async def test_whole_meeting_by_typing(channel: TeamsChannel, sessions) -> None:
    stay_id = await seed_meeting_world(sessions)
    anna = user(channel, HANDLAGGARE)

    card = only_card(await channel.say(anna, "Uppföljning äng-042"))
    assert step_of(card) == 1
    said = await say_text(channel, anna, "deltar den enskilde, närstående och ssk")
    # added to the handläggare, who takes part from the start
    assert "Deltar nu: Den enskilde, Närstående, Biståndshandläggare, Sjuksköterska." in said
    card = await say_card(channel, anna, "nästa")
    assert step_of(card) == 2
    said = await say_text(channel, anna, "Dottern deltar via Teams.")
    assert "Anteckningen är sparad på steg 2" in said
    assert "Steget har punkterna 1–3" in await say_text(channel, anna, "nästa 1 7")
    card = await say_card(channel, anna, "nästa 1 3")
    assert step_of(card) == 3
    assert step_of(await say_card(channel, anna, "hoppa över")) == 4
    assert step_of(await say_card(channel, anna, "tillbaka")) == 3
    for expected in (4, 5, 6, 7, 8):
        assert step_of(await say_card(channel, anna, "nästa")) == expected
    assert "Beslutet kan inte hoppas över" in await say_text(channel, anna, "hoppa över")

    assert "Vilket datum går personen hem?" in await say_text(channel, anna, "hemgång")
    assert "Vilken tid" in await say_text(channel, anna, "3/12")
    said = await say_text(channel, anna, "14")
    assert "Hemgång på förmiddagen är att föredra" in said
    assert "Hur kommer personen hem?" in said
    assert "Möter hemtjänsten upp" in await say_text(channel, anna, "färdtjänst")
    assert "Vilken utförare" in await say_text(channel, anna, "ja")
    assert "Hur når koordinatorn utföraren?" in await say_text(channel, anna, "Hemtjänst Väst")
    assert "behöver koordinatorn utförarens namn" in await say_text(channel, anna, "-")
    assert "som telefonnummer eller e-postadress" in await say_text(channel, anna, "ring dem")
    assert "samordning" in await say_text(channel, anna, "vast@hemtjanst.se")
    assert "bara hälso- och sjukvård" in await say_text(channel, anna, "ja")
    assert "SIP" in await say_text(channel, anna, "nej")
    replies = await channel.say(anna, "nej")
    assert (
        "Beslutet är noterat: Hemgång torsdag 3 december 2026 kl. 14.00, färdtjänst"
        in (texts_in(replies)[0])
    )
    assert step_of(only_card(replies)) == 9
    card = await say_card(channel, anna, "nästa")
    assert step_of(card) == 10
    replies = await channel.say(anna, "nästa")
    assert "Uppföljningsmötet för ÄNG-042 är sparat." in texts_in(replies)[0]
    summary = texts_in(replies)[-1]
    assert "Anteckning: Dottern deltar via Teams." in summary
    assert "Steg 2 (Kort resumé): Anledningen till beslutet" in summary
    # typing "nästa" moves on without ticking: the summary claims no topic nobody marked
    assert "Steg 3 (Hälsa och sjukvård: sjuksköterska): inga punkter markerade." in summary
    assert "Egenvårdsförmåga" not in summary
    assert "mötet hölls 6 dagar efter ankomst" in summary
    assert "senast 7 dagar efter ankomst, tisdag 24 november 2026" in summary
    assert "dag 7" not in summary and "av vistelsen" not in summary

    meeting = await the_meeting(sessions)
    assert meeting.status == MeetingStatus.HELD
    assert meeting.participants == ["person", "relatives", "handlaggare", "sjukskoterska"]
    assert meeting.steps["resume"] == {
        "covered": ["reason", "experience"],
        "note": "Dottern deltar via Teams.",
        "status": "done",
    }
    assert meeting.steps["health_nurse"]["status"] == "done"
    stay = await the_stay(sessions, stay_id)
    assert stay.home_going_time == time(14, 0)
    assert (stay.provider_name, stay.provider_contact) == ("Hemtjänst Väst", "vast@hemtjanst.se")
    assert stay.sip_wanted is False
    kinds = {item.kind for item in await items(sessions, stay_id)}
    assert ReadinessKind.SIP_CALLED not in kinds and len(kinds) == 9
    rows = await outbox(sessions)
    # To Karin, the unit's coordinator; the afternoon note was given in the meeting, not queued.
    assert [row.kind for row in rows if row.status != OutboxStatus.GIVEN] == ["home_going_set"]
    given = [row for row in rows if row.status == OutboxStatus.GIVEN]
    assert [row.kind for row in given] == ["nudge_afternoon_home_going"]


async def test_meeting_resumes_after_restart_and_on_another_device(
    channel: TeamsChannel,
    sessions,
    settings: Settings,
    clock: FixedClock,
    app_server: TestServer,
) -> None:
    await seed_meeting_world(sessions)
    anna = user(channel, HANDLAGGARE)
    await channel.say(anna, "uppföljning ÄNG-042")
    await channel.say(anna, "nästa")
    await channel.say(anna, "Anteckning före omstarten.")
    await channel.say(anna, "nästa")
    await app_server.close()  # the service stops; only the database remembers

    restarted = TestServer(create_app(settings, clock=clock), host="127.0.0.1")
    await restarted.start_server()
    try:
        async with aiohttp.ClientSession() as http:
            again = TeamsChannel(
                str(restarted.make_url("")).rstrip("/"),
                channel.connector,
                http,
                settle=restarted.app[CHAT_POSTS].idle,
            )
            again._ids = channel._ids  # Teams never reuses an activity id (the bot dedups them)
            card = only_card(await again.say(anna, "nästa"))
            assert step_of(card) == 4  # the dialog went on from SQL state

            replies = await again.say(anna, "uppföljning ÄNG-042", conversation_id="a:laptop")
            assert "fortsätter vid steg 4 av 10" in texts_in(replies)[0]
            card = only_card(replies)
            assert step_of(card) == 4
            card = only_card(
                await again.submit(anna, press(card, "Tillbaka"), conversation_id="a:laptop")
            )
            assert step_of(card) == 3
            card = only_card(
                await again.submit(anna, press(card, "Tillbaka"), conversation_id="a:laptop")
            )
            assert "Anteckning före omstarten." in card_texts(card)
    finally:
        await restarted.close()
    assert await meetings_count(sessions) == 1


async def test_second_handlaggare_is_told_and_can_take_over(
    channel: TeamsChannel, sessions
) -> None:
    await seed_meeting_world(sessions)
    anna, henrik = user(channel, HANDLAGGARE), user(channel, OTHER_HANDLAGGARE)
    await channel.say(anna, "uppföljning ÄNG-042")
    await channel.say(anna, "nästa")

    card = only_card(await channel.say(henrik, "uppföljning ÄNG-042"))
    text = card_texts(card)
    assert "Anna Handläggare har uppföljningsmötet öppet, på steg 2 av 10" in text
    assert "ta över ÄNG-042" in text

    body, replies = await take_over(channel, henrik, card, "Ta över mötet")
    assert (
        "Du har tagit över uppföljningsmötet för ÄNG-042 från Anna Handläggare"
        in (texts_in(replies)[0])
    )
    assert step_of(body["value"]) == 2

    lost = await say_text(channel, anna, "nästa")
    assert "Henrik Handläggare har tagit över uppföljningsmötet för ÄNG-042" in lost
    assert step_of(await say_card(channel, henrik, "nästa")) == 3

    # Anna takes it back by typing; the meeting is still one meeting at step 3.
    replies = await channel.say(anna, "ta över ÄNG-042")
    assert "från Henrik Handläggare" in texts_in(replies)[0]
    assert step_of(only_card(replies)) == 3
    meeting = await the_meeting(sessions)
    assert meeting.current_step == 3
    assert (await audit_actions(sessions)).count("meeting.takeover") == 2


async def test_the_handlaggare_whose_meeting_was_taken_over_is_told_and_can_take_it_back(
    channel: TeamsChannel, sessions, app_server: TestServer, clock: FixedClock
) -> None:
    await seed_meeting_world(sessions)
    anna, henrik = user(channel, HANDLAGGARE), user(channel, OTHER_HANDLAGGARE)
    await channel.say(anna, "uppföljning ÄNG-042")
    await channel.say(anna, "nästa")
    await channel.say(henrik, "ta över ÄNG-042")
    before = len(channel.connector.cards(anna.conversation_id))

    await app_server.app[NOTIFIER].dispatcher.deliver_due(clock.now())
    await app_server.app[NOTIFIER].dispatcher.deliver_due(clock.now())  # sent once, not twice

    told = channel.connector.cards(anna.conversation_id)[before:]
    assert len(told) == 1
    assert_valid_card(told[0])
    text = card_texts(told[0])
    assert "Henrik Handläggare har tagit över uppföljningsmötet, på steg 2 av 10" in text
    body, back = await take_over(channel, anna, told[0], "Ta tillbaka mötet")
    assert "från Henrik Handläggare" in texts_in(back)[0]
    assert step_of(body["value"]) == 2
    assert (await the_meeting(sessions)).current_step == 2


async def test_only_a_handlaggare_of_the_unit_may_start(channel: TeamsChannel, sessions) -> None:
    stay_id = await seed_meeting_world(sessions)
    sara, bo = user(channel, NURSE), user(channel, FOREIGN_HANDLAGGARE)

    said = await say_text(channel, sara, "uppföljning ÄNG-042")
    assert "Det kommandot är till för biståndshandläggare" in said
    said = await say_text(channel, bo, "uppföljning ÄNG-042")
    assert "Jag hittar ingen vistelse med koden ”ÄNG-042” på dina enheter" in said
    replies = await channel.submit(bo, {"action": "meeting_start", "stay_id": stay_id})
    assert "hör inte till dina enheter" in texts_in(replies)[0]  # and names no case code
    assert "ÄNG-042" not in texts_in(replies)[0]
    replies = await channel.submit(sara, {"action": "meeting_start", "stay_id": stay_id})
    assert "biståndshandläggare" in texts_in(replies)[0]
    assert await meetings_count(sessions) == 0


async def test_stay_card_button_starts_the_meeting(channel: TeamsChannel, sessions) -> None:
    stay_id = await seed_meeting_world(sessions)
    anna = user(channel, HANDLAGGARE)
    replies = await channel.submit(anna, {"action": "meeting_start", "stay_id": stay_id})
    assert step_of(only_card(replies)) == 1
    assert await meetings_count(sessions) == 1


async def test_personal_number_in_a_note_is_refused_and_not_stored(
    channel: TeamsChannel, sessions
) -> None:
    await seed_meeting_world(sessions)
    anna = user(channel, HANDLAGGARE)
    card = only_card(await channel.say(anna, "uppföljning ÄNG-042"))

    said = await say_text(channel, anna, "Gäller 121212-1212 som bor ensam")
    assert "personnummer" in said
    replies = await channel.submit(anna, press(card, "Nästa", note="Pnr 19121212-1212"))
    assert "personnummer" in texts_in(replies)[0]
    assert step_of(only_card(replies)) == 1  # still on step 1
    replies = await channel.submit(anna, press(card, "Nästa", note="x" * 501))
    assert "högst 500" in texts_in(replies)[0]

    meeting = await the_meeting(sessions)
    assert meeting.current_step == 1
    assert "1212" not in str(meeting.steps)


async def test_pause_then_cancel(channel: TeamsChannel, sessions) -> None:
    await seed_meeting_world(sessions)
    anna = user(channel, HANDLAGGARE)
    await channel.say(anna, "uppföljning ÄNG-042")
    await channel.say(anna, "nästa")
    said = await say_text(channel, anna, "pausa")
    assert "pausat vid steg 2 av 10" in said
    assert "Jag förstod inte" in await say_text(channel, anna, "nästa")  # no meeting running

    replies = await channel.say(anna, "uppföljning ÄNG-042")
    assert "fortsätter vid steg 2" in texts_in(replies)[0]
    await channel.say(anna, "En anteckning")
    assert "Vill du avbryta" in await say_text(channel, anna, "avbryt")
    assert "fortsätter mötet" in await channel_text_then_card(channel, anna, "nej")
    await channel.say(anna, "avbryt")
    assert "är avbrutet" in await say_text(channel, anna, "ja")

    meeting = await the_meeting(sessions)
    assert meeting.status == MeetingStatus.CANCELLED
    assert meeting.steps == {}
    replies = await channel.say(anna, "uppföljning ÄNG-042")
    assert "Nu börjar" in texts_in(replies)[0]
    assert await meetings_count(sessions) == 2


async def channel_text_then_card(channel: TeamsChannel, who: TeamsUser, text: str) -> str:
    replies = await channel.say(who, text)
    only_card(replies)
    return "\n".join(texts_in(replies))


async def test_every_meeting_card_is_valid(channel: TeamsChannel, sessions) -> None:
    await seed_meeting_world(sessions)
    anna = user(channel, HANDLAGGARE)
    await channel.say(anna, "uppföljning ÄNG-042")
    for _ in range(7):
        await channel.say(anna, "nästa")
    for kind in ("Hemgång", "Förlängning", "Väntplats på särskilt boende", "Annat"):
        step8 = channel.connector.cards()[-1]
        if "Tillbaka" in str(step8) and "Spara beslutet" in str(step8):
            step8 = only_card(await channel.submit(anna, press(step8, "Tillbaka")))
        await channel.submit(anna, press(step8, kind))
    henrik = user(channel, OTHER_HANDLAGGARE)
    await channel.say(henrik, "uppföljning ÄNG-042")
    cards = channel.connector.cards()
    assert len(cards) >= 12
    for card in cards:
        assert_valid_card(card)


async def test_coordinator_chat_shows_the_home_going_notice(
    channel: TeamsChannel, sessions, app_server: TestServer, clock: FixedClock
) -> None:
    await seed_meeting_world(sessions)
    anna, karin = user(channel, HANDLAGGARE), user(channel, COORDINATOR)
    await channel.say(karin, "hjälp")  # Karin has Korttid installed: her chat is known
    await channel.say(anna, "uppföljning ÄNG-042")
    for _ in range(7):
        await channel.say(anna, "nästa")
    for answer in ("hemgång", "3 dec", "9.30", "färdtjänst", "ja", "Hemtjänst Centrum"):
        await channel.say(anna, answer)
    for answer in ("010-123 45 67", "nej", "nästa", "nästa"):
        await channel.say(anna, answer)
    # Written to the outbox in the meeting's transaction; the dispatcher delivers it.
    assert len(channel.connector.cards(karin.conversation_id)) == 1  # her help card only

    await app_server.app[NOTIFIER].dispatcher.deliver_due(clock.now())

    notice = channel.connector.cards(karin.conversation_id)[-1]
    assert_valid_card(notice)
    text = card_texts(notice)
    assert "Hemgång planerad: ÄNG-042" in text
    for expected in ("torsdag 3 december 2026", "09.30", "Färdtjänst", "Hemtjänst Centrum"):
        assert expected in text
    assert "010-123 45 67" in text
