"""Issue 17: a planned stay that never arrives is cancelled (``avsluta KOD`` or the stay card's
button) and counts nowhere; planned stays are listed in ``vistelser`` under "Planerade".
The clock starts on Monday 23 November 2026, 09:00 in Stockholm."""

from __future__ import annotations

from datetime import date

from aiohttp.test_utils import TestServer
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.app import NOTIFIER
from dialogs.retention import months_before, purge_closed_stay_notes
from storage.db import transaction
from storage.domain.clock import FixedClock
from storage.models import StayStatus
from storage.repos.indicators import IndicatorRepository
from tests.cards import assert_valid_card
from tests.channel import TeamsChannel, TeamsUser
from tests.helpers import card_texts
from tests.nudging import add_stay, change_stay, headline, install_team, local
from tests.stay_helpers import audit_actions, last_card, stay_by_code, texts

Sessions = async_sessionmaker[AsyncSession]
PLANNED_DAY = date(2026, 11, 25)  # Wednesday


async def _planned(sessions: Sessions, code: str = "ÄNG-042", day: date = PLANNED_DAY) -> int:
    stay_id = await add_stay(sessions, code, day)
    await change_stay(sessions, stay_id, status=StayStatus.PLANNED)
    return stay_id


def _cards_to(channel: TeamsChannel, user: TeamsUser) -> list[str]:
    return [headline(card) for card in channel.connector.cards(user.conversation_id)]


async def test_avsluta_on_a_planned_stay_asks_and_cancels_it(
    channel: TeamsChannel, sessions: Sessions, clock: FixedClock, app_server: TestServer
) -> None:
    users = await install_team(channel, sessions)
    hanna = users["hanna"]
    stay_id = await _planned(sessions)

    asked = await channel.say(hanna, "avsluta ÄNG-042")
    card = last_card(asked)
    assert_valid_card(card)
    assert "Avbryt planerad vistelse ÄNG-042" in card_texts(card)
    assert "planerad med ankomst onsdag 25 november 2026" in card_texts(card)
    assert "Avbryt planerad vistelse" in [a["title"] for a in card["actions"]]
    kept = texts(await channel.say(hanna, "nej"))
    assert "Ingen ändring: ÄNG-042 är kvar som planerad." in kept
    stay = await stay_by_code(sessions, "ÄNG-042")
    assert stay is not None and stay.status == StayStatus.PLANNED
    await channel.say(hanna, "avsluta ÄNG-042")  # "nä" is a no here as in every other question
    assert "Ingen ändring: ÄNG-042 är kvar som planerad." in texts(await channel.say(hanna, "Nä."))

    await channel.say(hanna, "avsluta ÄNG-042")
    wrong = texts(await channel.say(hanna, "kanske"))
    assert "Skriv **ja** för att avbryta den planerade vistelsen" in wrong
    done = texts(await channel.say(hanna, "ja"))
    assert "Den planerade vistelsen ÄNG-042 är avbruten" in done
    stay = await stay_by_code(sessions, "ÄNG-042")
    assert stay is not None and stay.status == StayStatus.CANCELLED
    assert stay.departure_date is None and stay.close_reason is None
    assert "stay.cancel_planned" in await audit_actions(sessions, stay_id)

    shown = last_card(await channel.say(hanna, "vistelse ÄNG-042"))
    assert "Avbruten: personen kom aldrig" in card_texts(shown)
    again = texts(await channel.say(hanna, "avsluta ÄNG-042"))
    assert "ÄNG-042 är avslutad och kan inte ändras" in again
    assert "är inte planerad" in texts(await channel.say(hanna, "ankommit ÄNG-042"))

    # Nothing was sent about the planned stay, so nobody is told of the cancellation.
    await app_server.app[NOTIFIER].tick(clock.now(), every_slice=True)
    for key in ("sara", "karin", "cecilia"):
        cards = channel.connector.cards(users[key].conversation_id)
        assert not [card for card in cards if "ÄNG-042" in card_texts(card)]


async def test_the_stay_cards_button_cancels_a_planned_stay_for_the_handlaggare_only(
    channel: TeamsChannel, sessions: Sessions
) -> None:
    users = await install_team(channel, sessions)
    await _planned(sessions)
    nurse_card = last_card(await channel.say(users["sara"], "vistelse ÄNG-042"))
    assert "Avbryt planerad vistelse" not in [a["title"] for a in nurse_card["actions"]]

    card = last_card(await channel.say(users["hanna"], "vistelse ÄNG-042"))
    button = next(a for a in card["actions"] if a["title"] == "Avbryt planerad vistelse")
    asked = last_card(await channel.submit(users["hanna"], button["data"]))
    yes = next(a for a in asked["actions"] if a["title"] == "Avbryt planerad vistelse")
    done = await channel.submit(users["hanna"], yes["data"])

    assert "Den planerade vistelsen ÄNG-042 är avbruten" in texts(done)
    stay = await stay_by_code(sessions, "ÄNG-042")
    assert stay is not None and stay.status == StayStatus.CANCELLED
    # A nurse pressing an old button is refused and changes nothing.
    refused = texts(await channel.submit(users["sara"], button["data"]))
    assert "Det är handläggaren" in refused or "handläggare" in refused


async def test_a_meeting_called_for_a_planned_stay_is_cancelled_with_it(
    channel: TeamsChannel, sessions: Sessions, clock: FixedClock, app_server: TestServer
) -> None:
    users = await install_team(channel, sessions)
    hanna, sara = users["hanna"], users["sara"]
    await _planned(sessions)
    for answer in ("kalla ÄNG-042", "torsdag", "10", "på enheten", "Rum 3", "alla"):
        await channel.say(hanna, answer)
    notifier = app_server.app[NOTIFIER]
    await notifier.tick(clock.now())
    assert _cards_to(channel, sara)[-1] == "Kallelse till uppföljningsmöte: ÄNG-042"

    await channel.say(hanna, "avsluta ÄNG-042")
    done = texts(await channel.say(hanna, "ja"))
    assert "Den planerade vistelsen ÄNG-042 är avbruten" in done
    assert "Mötet för ÄNG-042 är inställt" in done
    await notifier.tick(clock.now())
    assert _cards_to(channel, sara)[-1] == "Inställt uppföljningsmöte: ÄNG-042"


async def test_a_cancelled_planned_stay_counts_in_no_indicator(
    channel: TeamsChannel, sessions: Sessions, clock: FixedClock
) -> None:
    """Planned for 9 November and cancelled: no arrival, no follow-up due or overdue, no ended
    stay and no stay in a bed; an arrived stay the same day counts in each."""
    users = await install_team(channel, sessions)
    clock.set(local(date(2026, 11, 2), 9))
    arrived = await add_stay(sessions, "ÄNG-041", date(2026, 11, 9))
    await _planned(sessions, "ÄNG-042", date(2026, 11, 9))
    await channel.say(users["hanna"], "avsluta ÄNG-042")
    await channel.say(users["hanna"], "ja")
    stay = await stay_by_code(sessions, "ÄNG-042")
    assert stay is not None and stay.status == StayStatus.CANCELLED
    await change_stay(sessions, arrived, departure_date=date(2026, 11, 20), status="closed")

    async with transaction(sessions) as session:
        repo = IndicatorRepository(session)
        arrivals = await repo.arrivals(date(2026, 11, 9), date(2026, 11, 15), None)
        followups = await repo.followups(
            date(2026, 11, 9), date(2026, 11, 22), date(2026, 11, 23), None
        )
        ended = await repo.ended(date(2026, 11, 1), date(2026, 11, 30), None)
        ongoing = await repo.ongoing(date(2026, 11, 12), 14, None)
        overdue = await repo.overdue(date(2026, 11, 23), None)
    unit = stay.unit_id
    assert arrivals == {unit: 1}
    assert followups[unit].due == 1
    assert ended[unit].count == 1
    assert ongoing[unit].active == 1
    assert overdue == {}


async def test_planned_stays_are_listed_after_the_ongoing_ones(
    channel: TeamsChannel, sessions: Sessions
) -> None:
    users = await install_team(channel, sessions)
    await add_stay(sessions, "ÄNG-041", date(2026, 11, 20))
    await _planned(sessions, "ÄNG-043", date(2026, 11, 27))
    await _planned(sessions, "ÄNG-042", PLANNED_DAY)

    for who, command in (
        ("hanna", "vistelser"),
        ("sara", "vistelser"),
        ("hanna", "alla vistelser"),
    ):
        card = last_card(await channel.say(users[who], command))
        assert_valid_card(card)
        shown = card_texts(card)
        assert "Planerade" in shown
        order = [shown.index(text) for text in ("ÄNG-041", "Planerade", "ÄNG-042", "ÄNG-043")]
        assert order == sorted(order), shown
        assert "Ankomst onsdag 25 november 2026" in shown
        assert "Ankomst fredag 27 november 2026" in shown
        assert "1 pågående vistelse" in shown  # the planned ones are not ongoing


async def test_a_cancelled_planned_stay_loses_its_notes_after_the_retention(
    channel: TeamsChannel, sessions: Sessions, clock: FixedClock
) -> None:
    """It has no departure: the retention counts from the day it was planned for."""
    await install_team(channel, sessions)
    today = date(2026, 11, 23)
    old = await _planned(sessions, "ÄNG-001", months_before(today, 30))
    recent = await _planned(sessions, "ÄNG-002", months_before(today, 6))
    for stay_id in (old, recent):
        await change_stay(sessions, stay_id, status=StayStatus.CANCELLED)

    async with transaction(sessions) as session:
        result = await purge_closed_stay_notes(session, today=today, months=24, now=clock.now())

    assert result.stays == 1
    purged, kept = await stay_by_code(sessions, "ÄNG-001"), await stay_by_code(sessions, "ÄNG-002")
    assert purged is not None and purged.goal == "" and purged.room is None
    assert kept is not None and kept.goal == "Trygg hemgång"


async def test_a_long_list_of_planned_stays_shows_ten_and_says_how_many(
    channel: TeamsChannel, sessions: Sessions
) -> None:
    users = await install_team(channel, sessions)
    for number in range(11):
        await _planned(sessions, f"ÄNG-{100 + number}", date(2026, 12, 1 + number))

    card = last_card(await channel.say(users["hanna"], "alla vistelser"))
    assert_valid_card(card)  # also under Teams' 28 KB
    shown = card_texts(card)
    assert "ÄNG-109" in shown and "ÄNG-110" not in shown  # the ten arriving first
    assert "Visar 10 av 11" in shown
