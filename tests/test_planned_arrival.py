"""Issue 17, item 11: registration before arrival (seed 000: "SoL-beställningen vara
korttidsenheten tillhanda före ankomst", "Vid akuta placeringar ska överrapportering ske via
telefon"). The clock starts on Monday 23 November 2026, 09:00 in Stockholm."""

from __future__ import annotations

from datetime import date
from typing import Any

from aiohttp.test_utils import TestServer
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.app import NOTIFIER
from storage.db import transaction
from storage.domain.clock import FixedClock
from storage.models import Stay, StayStatus
from storage.repos.indicators import IndicatorRepository
from tests.cards import assert_valid_card
from tests.channel import TeamsChannel, TeamsUser
from tests.helpers import card_texts
from tests.nudging import add_stay, change_stay, headline, install_team, local
from tests.stay_helpers import audit_actions, last_card, stay_by_code, texts

Sessions = async_sessionmaker[AsyncSession]
PLANNED_DAY = date(2026, 11, 25)  # Wednesday


async def _register_planned(channel: TeamsChannel, hanna: TeamsUser, *, acute: bool) -> list[Any]:
    """``ny vistelse`` typed through, arriving on Wednesday; the SoL order has not come."""
    await channel.say(hanna, "ny vistelse")
    answers = ["ja", "5", "25/11", "2026-12-14", "nej", "Träna förflyttning"]
    answers += ["ja", "nej"] if acute else ["nej"]
    for answer in answers:
        await channel.say(hanna, answer)
    summary = last_card(await channel.say(hanna, "1"))  # the nurse
    assert_valid_card(summary)
    assert "SoL-beställning före ankomst" in card_texts(summary)
    return await channel.say(hanna, "spara")


async def _nurse_titles(channel: TeamsChannel, sara: TeamsUser) -> list[str]:
    return [headline(card) for card in channel.connector.cards(sara.conversation_id)]


async def test_a_planned_stay_arrives_with_ankommit_on_its_day(
    channel: TeamsChannel, sessions: Sessions, clock: FixedClock
) -> None:
    users = await install_team(channel, sessions)
    hanna = users["hanna"]

    done = await _register_planned(channel, hanna, acute=False)

    assert "registrerad som planerad med ankomst onsdag 25 november 2026" in texts(done)
    assert "Planerad, ankomst onsdag 25 november 2026" in card_texts(last_card(done))
    stay = await stay_by_code(sessions, "ÄNG-001")
    assert stay is not None
    assert stay.status == StayStatus.PLANNED and stay.sol_order_received is False

    too_early = texts(await channel.say(hanna, "ankommit ÄNG-001"))
    assert "planerad till onsdag 25 november 2026" in too_early
    still = await stay_by_code(sessions, "ÄNG-001")
    assert still is not None and still.status == StayStatus.PLANNED

    clock.set(local(date(2026, 11, 26), 10))  # a day later than planned
    arrived = await channel.say(hanna, "ankommit äng-001")
    assert "ÄNG-001 har kommit i dag" in texts(arrived)
    assert "torsdag 3 december 2026" in texts(arrived)  # 7 days after the real arrival
    assert "Pågående, dag 1" in card_texts(last_card(arrived))
    stay = await stay_by_code(sessions, "ÄNG-001")
    assert stay is not None and stay.status == StayStatus.ACTIVE
    assert (stay.arrival_date, stay.followup_deadline) == (date(2026, 11, 26), date(2026, 12, 3))
    assert "stay.arrival" in await audit_actions(sessions, stay.id)

    again = texts(await channel.say(hanna, "ankommit ÄNG-001"))
    assert "ÄNG-001 är inte planerad" in again
    usage = texts(await channel.say(hanna, "ankommit"))
    assert "Skriv **ankommit** följt av ärendekoden" in usage


async def test_the_stay_cards_button_confirms_arrival_on_the_day(
    channel: TeamsChannel, sessions: Sessions, clock: FixedClock
) -> None:
    users = await install_team(channel, sessions)
    hanna = users["hanna"]
    await _register_planned(channel, hanna, acute=False)
    before = last_card(await channel.say(hanna, "vistelse ÄNG-001"))
    assert "Planerad, ankomst onsdag 25 november 2026" in card_texts(before)
    assert "Har kommit i dag" not in card_texts(before)  # not before the day

    clock.set(local(PLANNED_DAY, 9))
    card = last_card(await channel.say(hanna, "vistelse ÄNG-001"))
    button = next(a for a in card["actions"] if a["title"] == "Har kommit i dag")
    arrived = await channel.submit(hanna, button["data"])

    assert "ÄNG-001 har kommit i dag" in texts(arrived)
    stay = await stay_by_code(sessions, "ÄNG-001")
    assert stay is not None and stay.status == StayStatus.ACTIVE


async def test_an_acute_stay_without_handover_nudges_the_nurse_until_recorded(
    channel: TeamsChannel, sessions: Sessions, clock: FixedClock, app_server: TestServer
) -> None:
    users = await install_team(channel, sessions)
    hanna, sara = users["hanna"], users["sara"]
    await _register_planned(channel, hanna, acute=True)
    notifier = app_server.app[NOTIFIER]
    await notifier.tick(clock.now(), every_slice=True)  # planned: nobody has come yet
    assert not [t for t in await _nurse_titles(channel, sara) if "Överrapportering" in t]

    clock.set(local(PLANNED_DAY, 10))
    await channel.say(hanna, "ankommit ÄNG-001")
    await notifier.tick(clock.now(), every_slice=True)
    nudged = [t for t in await _nurse_titles(channel, sara) if "Överrapportering" in t]
    assert nudged == ["Överrapportering per telefon: ÄNG-001"]

    recorded = texts(await channel.say(sara, "överrapporterat ÄNG-001"))
    assert "Överrapporteringen per telefon för ÄNG-001 är registrerad" in recorded
    clock.set(local(date(2026, 11, 26), 8))
    await notifier.tick(clock.now(), every_slice=True)
    after = [t for t in await _nurse_titles(channel, sara) if "Överrapportering" in t]
    assert after == nudged  # recorded: no nudge the next day
    stay = await stay_by_code(sessions, "ÄNG-001")
    assert stay is not None and stay.phone_handover_done is True


async def test_an_unrecorded_handover_is_nudged_again_the_next_working_day(
    channel: TeamsChannel, sessions: Sessions, clock: FixedClock, app_server: TestServer
) -> None:
    users = await install_team(channel, sessions)
    stay_id = await add_stay(sessions, "ÄNG-042", date(2026, 11, 23))
    await change_stay(sessions, stay_id, acute=True, phone_handover_done=False)
    notifier = app_server.app[NOTIFIER]
    for day in (date(2026, 11, 23), date(2026, 11, 24)):
        clock.set(local(day, 8))
        await notifier.tick(clock.now(), every_slice=True)

    titles = [t for t in await _nurse_titles(channel, users["sara"]) if "Överrapportering" in t]
    assert titles == ["Överrapportering per telefon: ÄNG-042"] * 2
    hanna = [headline(c) for c in channel.connector.cards(users["hanna"].conversation_id)]
    assert not [t for t in hanna if "Överrapportering" in t]  # the nurse's task


async def test_the_handover_is_refused_for_a_stay_that_is_not_acute(
    channel: TeamsChannel, sessions: Sessions
) -> None:
    users = await install_team(channel, sessions)
    await add_stay(sessions, "ÄNG-042", date(2026, 11, 20))
    refused = texts(await channel.say(users["sara"], "överrapporterat ÄNG-042"))
    assert "ÄNG-042 är inte en akut placering" in refused
    stay = await stay_by_code(sessions, "ÄNG-042")
    assert stay is not None and stay.phone_handover_done is None


async def test_a_planned_stay_counts_in_no_indicator_until_it_has_arrived(
    channel: TeamsChannel, sessions: Sessions
) -> None:
    """Planned for 9 November and never confirmed: no arrival that week, and no follow-up
    overdue on 16 November; an arrived stay the same day counts in both."""
    await install_team(channel, sessions)
    arrived = await add_stay(sessions, "ÄNG-041", date(2026, 11, 9))
    planned = await add_stay(sessions, "ÄNG-042", date(2026, 11, 9))
    await change_stay(sessions, planned, status=StayStatus.PLANNED)
    async with transaction(sessions) as session:
        repo = IndicatorRepository(session)
        stay = await session.get(Stay, arrived)
        assert stay is not None
        arrivals = await repo.arrivals(date(2026, 11, 9), date(2026, 11, 15), None)
        followups = await repo.followups(
            date(2026, 11, 9), date(2026, 11, 22), date(2026, 11, 23), None
        )
        overdue = await repo.overdue(date(2026, 11, 23), None)
    assert arrivals == {stay.unit_id: 1}
    assert followups[stay.unit_id].due == 1 and followups[stay.unit_id].on_time == 0
    assert overdue == {stay.unit_id: 1}
