"""End to end over HTTP: registering, listing, opening, sending home and closing stays.

The clock stands at Monday 23 November 2026, 09:00 in Stockholm.
"""

from __future__ import annotations

from datetime import date, time, timedelta

import aiohttp
from aiohttp.test_utils import TestServer
from sqlmodel import select

from bot.app import CHAT_POSTS, create_app
from bot.settings import Settings
from storage.db import transaction
from storage.models import AuditEvent, OutboxStatus, StayStatus
from storage.repos.staff import StaffRepository
from tests.cards import assert_valid_card
from tests.channel import TeamsChannel
from tests.helpers import card_texts
from tests.stay_helpers import (
    BO,
    HANNA,
    HENRIK,
    KARIN,
    SARA,
    audit_actions,
    audit_events,
    items_of,
    last_card,
    outbox,
    plan_home_going,
    seed_people,
    seed_stay,
    stay_by_code,
    texts,
)


def _hanna(channel: TeamsChannel):  # type: ignore[no-untyped-def]
    return channel.user("hanna", "hanna@kommun.se", "Hanna Handläggare")


# --- ny vistelse ---


def _bjo_answers(*, code: str, room: str, acute: str) -> list[dict[str, str]]:
    """The registration card's answers for a stay at BJÖ, from the unit to the phone handover."""
    return [
        {"step": "register_stay.unit", "choice": "BJÖ"},
        {"step": "register_stay.code", "answer": code},
        {"step": "register_stay.room", "answer": room},
        {"step": "register_stay.arrival", "answer": "2026-11-20"},
        {"step": "register_stay.end", "answer": "2026-12-11"},
        {"step": "register_stay.sol_order", "choice": "ja"},
        {"step": "register_stay.goal", "answer": "Bedöma behov av hemtjänst"},
        {"step": "register_stay.acute", "choice": acute},
        {"step": "register_stay.handover", "choice": "ja"},
    ]


async def test_handlaggare_registers_a_stay_by_typing(channel: TeamsChannel, sessions) -> None:
    await seed_people(sessions, HANNA, SARA, KARIN)
    hanna = _hanna(channel)

    first = await channel.say(hanna, "ny vistelse")
    assert "ÄNG-001" in card_texts(last_card(first))  # the suggested code; one unit, no question
    for answer in ("ja", "5", "idag", "2026-12-14", "ja", "Träna förflyttning", "nej"):
        replies = await channel.say(hanna, answer)
        assert_valid_card(last_card(replies))
    nurse_question = card_texts(last_card(replies))
    assert "sjuksköterska" in nurse_question and "Sara Sjuksköterska" in nurse_question
    summary = await channel.say(hanna, "1")
    summary_text = card_texts(last_card(summary))
    assert "ÄNG-001" in summary_text and "måndag 14 december 2026" in summary_text
    done = await channel.say(hanna, "spara")

    assert "Vistelsen ÄNG-001 är registrerad" in texts(done)
    assert "måndag 30 november 2026" in texts(done)  # day 7 falls on a working day
    stay_card = last_card(done)
    assert_valid_card(stay_card)
    assert "Träna förflyttning" in card_texts(stay_card)
    stay = await stay_by_code(sessions, "ÄNG-001")
    assert stay is not None
    assert (stay.room, stay.arrival_date, stay.decision_end_date) == (
        "5",
        date(2026, 11, 23),
        date(2026, 12, 14),
    )
    assert stay.acute is False and stay.nurse_id is not None and stay.handlaggare_id is not None
    assert "stay.register" in await audit_actions(sessions, stay.id)


async def test_handlaggare_of_two_units_registers_by_card(channel: TeamsChannel, sessions) -> None:
    await seed_people(
        sessions,
        ("hanna@kommun.se", "Hanna Handläggare", "handlaggare", "ÄNG;BJÖ"),
        ("anders@kommun.se", "Anders Handläggare", "handlaggare", "BJÖ"),
        ("nina@kommun.se", "Nina Sjuksköterska", "sjukskoterska", "BJÖ"),
    )
    hanna = _hanna(channel)

    unit_card = last_card(await channel.say(hanna, "ny vistelse"))
    assert_valid_card(unit_card)
    assert "BJÖ" in card_texts(unit_card)
    for value in _bjo_answers(code="bjö-007", room="12 B", acute="ja"):
        assert_valid_card(last_card(await channel.submit(hanna, value)))
    async with transaction(sessions) as session:
        anders = await StaffRepository(session).by_email("anders@kommun.se")
        assert anders is not None
    stale = texts(await channel.submit(hanna, {"step": "register_stay.acute", "choice": "nej"}))
    assert "gäller en tidigare fråga" in stale
    await channel.submit(
        hanna, {"step": "register_stay.handlaggare", "answer": f"staff:{anders.id}"}
    )
    await channel.submit(hanna, {"step": "register_stay.nurse", "choice": "-"})
    done = await channel.submit(hanna, {"step": "register_stay.confirm", "choice": "spara"})

    assert "Vistelsen BJÖ-007 är registrerad" in texts(done)
    stay = await stay_by_code(sessions, "BJÖ-007")
    assert stay is not None
    assert stay.room == "12 B" and stay.acute and stay.phone_handover_done
    assert stay.handlaggare_id == anders.id and stay.nurse_id is None


async def test_a_tampered_registration_card_cannot_reach_another_unit(
    channel: TeamsChannel, sessions
) -> None:
    """The card's choices are matched against what the bot offered, kept on the server: a value
    edited to name another unit, or a person of another unit, is refused and nothing is saved."""
    await seed_people(
        sessions,
        ("hanna@kommun.se", "Hanna Handläggare", "handlaggare", "ÄNG;BJÖ"),
        ("anders@kommun.se", "Anders Handläggare", "handlaggare", "BJÖ"),
        ("vera@kommun.se", "Vera Handläggare", "handlaggare", "VIK"),
    )
    async with transaction(sessions) as session:
        vera = await StaffRepository(session).by_email("vera@kommun.se")
        assert vera is not None
    hanna = _hanna(channel)
    await channel.say(hanna, "ny vistelse")

    other_unit = texts(await channel.submit(hanna, {"step": "register_stay.unit", "choice": "VIK"}))
    for value in _bjo_answers(code="BJÖ-008", room="-", acute="nej"):
        await channel.submit(hanna, value)
    other_person = texts(
        await channel.submit(
            hanna, {"step": "register_stay.handlaggare", "answer": f"staff:{vera.id}"}
        )
    )

    assert "Jag hittar ingen enhet ”VIK”" in other_unit and "BJÖ, ÄNG" in other_unit
    assert "Jag hittar ingen som passar" in other_person and "Vera" not in other_person
    assert await stay_by_code(sessions, "BJÖ-008") is None  # still asking, nothing saved
    await channel.say(hanna, "1")
    await channel.say(hanna, "-")
    await channel.submit(hanna, {"step": "register_stay.confirm", "choice": "spara"})
    stay = await stay_by_code(sessions, "BJÖ-008")
    assert stay is not None and stay.handlaggare_id != vera.id


async def test_register_refuses_bad_answers_and_asks_again(
    channel: TeamsChannel, sessions, clock
) -> None:
    await seed_people(sessions, HANNA, SARA)
    await seed_stay(sessions, clock, "ÄNG-042")
    hanna = _hanna(channel)
    await channel.say(hanna, "ny vistelse")

    taken = texts(await channel.say(hanna, "äng-042"))
    invalid = texts(await channel.say(hanna, "ÄNG 042!"))
    await channel.say(hanna, "ÄNG-043")
    not_a_room = texts(await channel.say(hanna, "Svensson"))
    await channel.say(hanna, "-")
    future = texts(await channel.say(hanna, "2027-06-01"))  # more than 90 days ahead
    await channel.say(hanna, "20/11")
    before_arrival = texts(await channel.say(hanna, "19/11"))
    await channel.say(hanna, "18/12")
    await channel.say(hanna, "ja")  # the SoL order has come
    personal_number = texts(await channel.say(hanna, "Mål för 19121212-1212"))
    empty_goal = texts(await channel.submit(hanna, {"step": "register_stay.goal", "answer": ""}))
    yes_no = await channel.say(hanna, "Rehabilitering efter fall")
    not_yes = texts(await channel.say(hanna, "kanske"))

    assert "ÄNG-042 finns redan" in taken
    assert "går inte att använda som ärendekod" in invalid
    assert "”Svensson” ser inte ut som ett rum" in not_a_room
    assert "ligger för långt fram" in future
    assert "före ankomsten" in before_arrival
    assert "personnummer" in personal_number and "1212" not in personal_number
    assert "behöver fyllas i" in empty_goal
    assert "akut placering" in card_texts(last_card(yes_no))
    assert "Svara **ja** eller **nej**" in not_yes
    cancelled = texts(await channel.say(hanna, "avbryt"))
    assert "Inget sparades" in cancelled
    assert await stay_by_code(sessions, "ÄNG-043") is None
    async with transaction(sessions) as session:
        assert "1212" not in str(
            [event.detail for event in (await session.exec(select(AuditEvent))).all()]
        )


async def test_another_command_mid_form_leaves_the_form(
    channel: TeamsChannel, sessions, clock
) -> None:
    await seed_people(sessions, HANNA, SARA)
    await seed_stay(sessions, clock, "ÄNG-042")
    hanna = _hanna(channel)
    await channel.say(hanna, "ny vistelse")
    await channel.say(hanna, "ja")

    replies = await channel.say(hanna, "mina vistelser")

    assert "Jag avbröt det du höll på med" in texts(replies)
    assert "ÄNG-042" in card_texts(last_card(replies))
    assert "Jag förstod inte" in texts(await channel.say(hanna, "5"))  # the form is gone


async def test_a_question_left_for_hours_is_dropped(channel: TeamsChannel, sessions, clock) -> None:
    await seed_people(sessions, HANNA)
    hanna = _hanna(channel)
    await channel.say(hanna, "ny vistelse")
    clock.set(clock.now() + timedelta(hours=5))

    replies = texts(await channel.say(hanna, "ja"))

    assert "har väntat för länge" in replies
    assert "Jag förstod inte ”ja”" in replies
    assert await stay_by_code(sessions, "ÄNG-001") is None


async def test_only_a_handlaggare_registers(channel: TeamsChannel, sessions) -> None:
    await seed_people(sessions, SARA)
    sara = channel.user("sara", "sara@kommun.se")

    replies = await channel.say(sara, "ny vistelse")

    assert "biståndshandläggare" in texts(replies)
    assert channel.connector.cards() == []


# --- mina vistelser ---


async def test_handlaggare_sees_own_stays_and_toggles_to_the_unit(
    channel: TeamsChannel, sessions, clock
) -> None:
    await seed_people(
        sessions, HANNA, SARA, HENRIK, ("hugo@kommun.se", "Hugo Handläggare", "handlaggare", "ÄNG")
    )
    await seed_stay(sessions, clock, "ÄNG-042", arrived_days_ago=4)
    await seed_stay(sessions, clock, "ÄNG-043", handlaggare="hugo@kommun.se", arrived_days_ago=9)
    await seed_stay(sessions, clock, "BJÖ-011", unit="BJÖ", handlaggare="henrik@kommun.se")
    hanna = _hanna(channel)

    mine = last_card(await channel.say(hanna, "mina vistelser"))
    assert_valid_card(mine)
    mine_text = card_texts(mine)
    assert "ÄNG-042, rum 5" in mine_text and "ÄNG-043" not in mine_text
    assert "Dag 5" in mine_text
    assert "Uppföljning om 3 dagar (tor 26 nov)" in mine_text
    assert "Ingen hemgång planerad" in mine_text and "Ingen checklista än" in mine_text
    toggle = mine["actions"][0]
    assert toggle["title"] == "Visa alla på enheten"

    everyone = last_card(await channel.submit(hanna, toggle["data"]))
    assert_valid_card(everyone)
    everyone_text = card_texts(everyone)
    assert "ÄNG-042" in everyone_text and "ÄNG-043" in everyone_text
    assert "Uppföljning försenad (senast fre 20 nov)" in everyone_text
    assert "BJÖ-011" not in everyone_text
    assert everyone["actions"][0]["title"] == "Visa bara mina"
    assert "stays.list" in await audit_actions(sessions)


async def test_nurse_sees_the_units_stays_with_the_readiness_light(
    channel: TeamsChannel, sessions, clock
) -> None:
    await seed_people(sessions, HANNA, SARA)
    await seed_stay(sessions, clock, "ÄNG-042")
    hanna, sara = _hanna(channel), channel.user("sara", "sara@kommun.se")
    await plan_home_going(channel, hanna, "ÄNG-042", "24/11 10:00")

    card = last_card(await channel.say(sara, "vistelser"))

    assert_valid_card(card)
    text = card_texts(card)
    assert "ÄNG-042" in text and "Hemgång tis 24 nov kl. 10.00" in text
    assert "🔴 9 av 9 kvar" in text  # home-going tomorrow, nothing ready yet
    assert "actions" not in card  # no toggle for someone who is not a handläggare


# --- vistelse KOD ---


async def test_stay_card_shows_timeline_decision_checklist_and_buttons(
    channel: TeamsChannel, sessions, clock
) -> None:
    await seed_people(sessions, HANNA, SARA)
    stay_id = await seed_stay(sessions, clock, "ÄNG-042", acute=True)
    hanna, sara = _hanna(channel), channel.user("sara", "sara@kommun.se")
    await plan_home_going(channel, hanna, "ÄNG-042", "26/11 9:30")

    card = last_card(await channel.say(hanna, "vistelse äng-042"))

    assert_valid_card(card)
    text = card_texts(card)
    for expected in (
        "ÄNG-042, rum 5",
        "Pågående, dag 5",
        "Ja, överrapporterad per telefon",
        "Hanna Handläggare",
        "Sara Sjuksköterska",
        "Ankomst",
        "Uppföljning senast 7 dagar efter ankomst",
        "Planerad hemgång",
        "torsdag 26 november 2026 kl. 09.30",
        "0 av 9 avklarade",
        "Läkemedel",
    ):
        assert expected in text, expected
    assert "(dag 1)" not in text and "(dag 7)" not in text
    titles = [action["title"] for action in card["actions"]]
    assert titles == [
        "Starta uppföljning",
        "Kalla till möte",
        "Checklista",
        "Hemgång",
        "Avsluta vistelsen",
    ]
    assert {a["data"]["stay_id"] for a in card["actions"]} == {stay_id}

    nurse_card = last_card(await channel.say(sara, "vistelse ÄNG-042"))
    assert [action["title"] for action in nurse_card["actions"]] == ["Checklista"]
    assert (await audit_actions(sessions, stay_id)).count("stay.read") == 2


async def test_stays_of_other_units_are_not_found_and_tampered_buttons_are_refused(
    channel: TeamsChannel, sessions, clock
) -> None:
    await seed_people(sessions, HANNA, HENRIK)
    other = await seed_stay(sessions, clock, "BJÖ-011", unit="BJÖ", handlaggare="henrik@kommun.se")
    hanna = _hanna(channel)

    not_found = texts(await channel.say(hanna, "vistelse BJÖ-011"))
    refused = texts(await channel.submit(hanna, {"action": "open_stay", "stay_id": other}))
    missing = texts(await channel.submit(hanna, {"action": "open_stay", "stay_id": "999"}))
    closing = texts(await channel.submit(hanna, {"action": "close_stay", "stay_id": other}))

    assert "hittar ingen vistelse med koden ”BJÖ-011”" in not_found
    for reply in (refused, missing, closing):
        assert "hör inte till dina enheter" in reply
    assert channel.connector.cards() == []
    events = [e for e in await audit_events(sessions) if e.action == "stay.access_refused"]
    assert len(events) == 3
    assert events[0].stay_id == other and events[0].detail["action"] == "open_stay"
    assert events[1].stay_id is None and events[1].detail["stay_id"] == "999"


# --- hemgång KOD ---


async def test_home_going_typed_set_change_cancel_tells_the_coordinator(
    channel: TeamsChannel, sessions, clock
) -> None:
    await seed_people(sessions, HANNA, SARA, KARIN)
    stay_id = await seed_stay(sessions, clock, "ÄNG-042")
    hanna = _hanna(channel)

    set_reply = texts(await plan_home_going(channel, hanna, "ÄNG-042", "26/11 13:30"))
    changed = texts(await channel.say(hanna, "hemgång ÄNG-042 27/11 kl 9"))
    cancelled = texts(await channel.say(hanna, "hemgång ÄNG-042 ställ in"))

    assert "Hemgång planerad: ÄNG-042 går hem torsdag 26 november 2026 kl. 13.30." in set_reply
    assert "förmiddagen är att föredra" in set_reply
    # Karin has never opened Korttid: the notice waits for her, and Hanna is told so.
    assert "Karin Koordinator har inte öppnat Korttid än" in set_reply
    assert "Korttidskoordinatorn får besked" not in set_reply
    assert "Hemgång ändrad: ÄNG-042 går hem fredag 27 november 2026 kl. 09.00." in changed
    assert "förmiddagen" not in changed
    assert "Hemgången för ÄNG-042 är inställd." in cancelled
    rows = await outbox(sessions)
    kinds = [(m.kind, m.payload["date"]) for m in rows if m.status != OutboxStatus.GIVEN]
    assert kinds == [
        ("home_going_set", "2026-11-26"),
        ("home_going_changed", "2026-11-27"),
        ("home_going_cancelled", "2026-11-27"),
    ]
    stay = await stay_by_code(sessions, "ÄNG-042")
    assert stay is not None and stay.home_going_date is None and stay.decision_kind is None
    assert len(await items_of(sessions, stay_id)) == 9  # the checklist stays for the next date
    actions = await audit_actions(sessions, stay_id)
    for action in ("stay.home_going.set", "stay.home_going.changed", "stay.home_going.cancelled"):
        assert action in actions


async def test_home_going_dates_are_checked_like_the_meeting(
    channel: TeamsChannel, sessions, clock
) -> None:
    await seed_people(sessions, HANNA)
    await seed_stay(sessions, clock, "ÄNG-042", end_in_days=14)  # decided until 7 December
    hanna = _hanna(channel)

    past = texts(await channel.say(hanna, "hemgång ÄNG-042 20/11 10:00"))
    after_end = texts(await channel.say(hanna, "hemgång ÄNG-042 8/12"))
    nonsense = texts(await channel.say(hanna, "hemgång ÄNG-042 snart"))
    nothing_to_cancel = texts(await channel.say(hanna, "hemgång ÄNG-042 ställ in"))

    assert "har redan varit" in past
    assert "efter vistelsens beslutade slutdatum, måndag 7 december 2026" in after_end
    assert "Jag förstår inte datumet" in nonsense
    assert "ingen planerad hemgång att ställa in" in nothing_to_cancel
    assert await outbox(sessions) == []


async def test_home_going_by_card_from_the_stay_card(
    channel: TeamsChannel, sessions, clock
) -> None:
    await seed_people(sessions, HANNA, SARA, KARIN)
    stay_id = await seed_stay(sessions, clock, "ÄNG-042")
    hanna = _hanna(channel)

    form = last_card(await channel.submit(hanna, {"action": "home_going", "stay_id": stay_id}))
    assert_valid_card(form)
    assert "Hemgång: ÄNG-042" in card_texts(form)
    answers = {
        "step": "home_going.form",
        "date": "2026-12-24",
        "time": "09:00",
        "transport": "own",
        "home_help_meets": "false",
        "coordination_needed": "false",
        "sip_wanted": "false",
    }
    wrong = texts(await channel.submit(hanna, answers))
    done = texts(await channel.submit(hanna, answers | {"date": "2026-11-25"}))

    assert "efter vistelsens beslutade slutdatum" in wrong
    assert "går hem onsdag 25 november 2026 kl. 09.00" in done
    stay = await stay_by_code(sessions, "ÄNG-042")
    assert stay is not None
    assert (stay.home_going_date, stay.home_going_time) == (date(2026, 11, 25), time(9, 0))

    again = last_card(await channel.say(hanna, "hemgång ÄNG-042"))
    assert [a["title"] for a in again["actions"]] == ["Spara", "Ställ in hemgången", "Avbryt"]
    cancelled = texts(
        await channel.submit(hanna, {"step": "home_going.form", "choice": "ställ in"})
    )
    assert "är inställd" in cancelled


async def test_new_home_going_date_reopens_the_closing_note(
    channel: TeamsChannel, sessions, clock
) -> None:
    await seed_people(sessions, HANNA, SARA)
    stay_id = await seed_stay(sessions, clock, "ÄNG-042")
    hanna, sara = _hanna(channel), channel.user("sara", "sara@kommun.se")
    await plan_home_going(channel, hanna, "ÄNG-042", "26/11 10")
    await channel.say(sara, "klar slutanteckning ÄNG-042")

    same_day = texts(await channel.say(hanna, "hemgång ÄNG-042 26/11 9"))
    assert "slutanteckning" not in same_day
    moved = texts(await channel.say(hanna, "hemgång ÄNG-042 27/11 9"))

    assert "slutanteckning är markerad som inte klar igen" in moved
    assert (await items_of(sessions, stay_id))["closing_note"] == "not_ready"


async def test_only_the_units_handlaggare_decides_home_going(
    channel: TeamsChannel, sessions, clock
) -> None:
    await seed_people(sessions, SARA, BO, HENRIK, HANNA)
    stay_id = await seed_stay(sessions, clock, "ÄNG-042")
    sara, henrik = channel.user("sara", "sara@kommun.se"), channel.user("h", "henrik@kommun.se")
    bo = channel.user("bo", "bo@kommun.se")

    nurse = texts(await channel.say(sara, "hemgång ÄNG-042 26/11 10"))
    coordinator_button = texts(
        await channel.submit(bo, {"action": "home_going", "stay_id": stay_id})
    )
    other_unit = texts(await channel.say(henrik, "hemgång ÄNG-042 26/11 10"))

    assert "biståndshandläggare" in nurse
    assert "biståndshandläggaren på enheten som beslutar" in coordinator_button
    assert "hittar ingen vistelse" in other_unit
    assert "stay.decision_refused" in await audit_actions(sessions, stay_id)
    stay = await stay_by_code(sessions, "ÄNG-042")
    assert stay is not None and stay.home_going_date is None


# --- avsluta KOD ---


async def test_close_a_stay_by_typing_gives_the_final_length(
    channel: TeamsChannel, sessions, clock
) -> None:
    await seed_people(sessions, HANNA, KARIN)
    stay_id = await seed_stay(sessions, clock, "ÄNG-042", arrived_days_ago=9)
    hanna = _hanna(channel)
    await plan_home_going(channel, hanna, "ÄNG-042", "25/11 10")

    reason_card = last_card(await channel.say(hanna, "avsluta ÄNG-042"))
    assert_valid_card(reason_card)
    assert "Tillbaka till sjukhus" in card_texts(reason_card)
    assert "Jag förstod inte" in texts(await channel.say(hanna, "hem och sedan"))
    await channel.say(hanna, "sjukhus")
    assert "har inte varit än" in texts(await channel.say(hanna, "imorgon"))
    confirm = last_card(await channel.say(hanna, "idag"))
    assert_valid_card(confirm)
    assert "9 dagar" in card_texts(confirm)
    done = texts(await channel.say(hanna, "avsluta"))  # an answer here, not the command

    assert "Vistelsen ÄNG-042 är avslutad (tillbaka till sjukhus). Den blev 9 dagar lång." in done
    assert "korttidskoordinatorn får besked om att den är inställd" in done
    stay = await stay_by_code(sessions, "ÄNG-042")
    assert stay is not None
    assert stay.status == StayStatus.CLOSED and stay.close_reason == "hospital"
    assert stay.departure_date == date(2026, 11, 23)
    assert [m.kind for m in await outbox(sessions)][-1] == "home_going_cancelled"
    assert "stay.close" in await audit_actions(sessions, stay_id)
    closed_card = last_card(await channel.say(hanna, "vistelse ÄNG-042"))
    assert "Avslutad. Vistelsen blev 9 dagar." in card_texts(closed_card)
    assert "Utflyttning efter 9 dagar" in card_texts(closed_card)
    assert "avslutad och kan inte ändras" in texts(await channel.say(hanna, "avsluta ÄNG-042"))


async def test_close_a_stay_by_card(channel: TeamsChannel, sessions, clock) -> None:
    await seed_people(sessions, HANNA)
    stay_id = await seed_stay(sessions, clock, "ÄNG-042", arrived_days_ago=12)
    hanna = _hanna(channel)

    await channel.submit(hanna, {"action": "close_stay", "stay_id": stay_id})
    await channel.submit(hanna, {"step": "close_stay.reason", "choice": "went_home"})
    early = texts(
        await channel.submit(hanna, {"step": "close_stay.departure", "answer": "2026-11-01"})
    )
    await channel.submit(hanna, {"step": "close_stay.departure", "answer": "2026-11-22"})
    done = texts(await channel.submit(hanna, {"step": "close_stay.confirm", "choice": "avsluta"}))

    assert "före ankomsten" in early
    assert "(gick hem). Den blev 11 dagar lång." in done
    stay = await stay_by_code(sessions, "ÄNG-042")
    assert stay is not None and stay.departure_date == date(2026, 11, 22)
    assert await outbox(sessions) == []  # nothing planned, so nothing to cancel


async def test_a_form_resumes_after_the_service_restarts(
    channel: TeamsChannel, sessions, settings: Settings, clock, app_server: TestServer
) -> None:
    await seed_people(sessions, HANNA)
    hanna = _hanna(channel)
    for answer in ("ny vistelse", "ja", "5", "idag"):
        await channel.say(hanna, answer)
    await app_server.close()  # only the database remembers the form

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
            again._ids = channel._ids  # Teams never reuses an activity id
            for answer in ("2026-12-14", "ja", "Återhämtning", "nej"):
                await again.say(hanna, answer)
            done = texts(await again.say(hanna, "spara"))
    finally:
        await restarted.close()

    assert "Vistelsen ÄNG-001 är registrerad" in done
    stay = await stay_by_code(sessions, "ÄNG-001")
    assert stay is not None and stay.room == "5" and stay.goal == "Återhämtning"
