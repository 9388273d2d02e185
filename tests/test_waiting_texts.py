"""The sender is told the truth: Korttid says someone gets a notice only when it can reach them.

End to end over HTTP: the handläggare holds a follow-up meeting that decides a home-going; what
she is told at the end, and the summary she pastes into the case system, depend on whether the
coordinator has opened Korttid.
"""

from __future__ import annotations

from aiohttp.test_utils import TestServer
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.app import NOTIFIER, WAITING_DELIVERY
from storage.domain.clock import FixedClock
from tests.channel import TeamsChannel, TeamsUser
from tests.helpers import card_texts
from tests.meeting_helpers import COORDINATOR, HANDLAGGARE, seed_meeting_world
from tests.stay_helpers import plan_home_going
from tests.test_installation import install_personally
from tests.test_meeting_e2e import texts_in, user

Sessions = async_sessionmaker[AsyncSession]


async def hold_home_going_meeting(channel: TeamsChannel, anna: TeamsUser) -> list[str]:
    """Anna walks the meeting by typing and decides a home-going; returns the last replies."""
    await channel.say(anna, "uppföljning ÄNG-042")
    for _ in range(7):
        await channel.say(anna, "nästa")
    for answer in ("hemgång", "3 dec", "9.30", "färdtjänst", "ja", "Hemtjänst Centrum"):
        await channel.say(anna, answer)
    for answer in ("010-123 45 67", "nej", "nej", "nästa"):
        await channel.say(anna, answer)
    return texts_in(await channel.say(anna, "nästa"))


async def test_meeting_end_says_the_coordinator_has_not_opened_korttid_yet(
    channel: TeamsChannel, sessions: Sessions, app_server: TestServer, clock: FixedClock
) -> None:
    await seed_meeting_world(sessions)
    anna, karin = user(channel, HANDLAGGARE), user(channel, COORDINATOR)

    texts = await hold_home_going_meeting(channel, anna)

    told, summary = texts[0], texts[-1]
    assert "Uppföljningsmötet för ÄNG-042 är sparat." in told
    assert (
        "Karin Koordinator har inte öppnat Korttid än: beskedet skickas när Karin gör det. "
        "Ring Karin om hemgången är snart." in told
    )
    assert "får besked nu" not in told
    assert "informerats" not in summary and "får besked om hemgången via" not in summary
    assert "Korttidskoordinatorn har inte öppnat Korttid än" in summary

    # Karin opens Korttid after the meeting: the notice reaches her then.
    await app_server.app[NOTIFIER].dispatcher.deliver_due(clock.now())
    await install_personally(channel, karin)
    await app_server.app[WAITING_DELIVERY].close()
    notices = [
        c for c in channel.connector.cards(karin.conversation_id) if "ÄNG-042" in card_texts(c)
    ]
    assert len(notices) == 1
    assert "torsdag 3 december 2026" in card_texts(notices[0])


async def test_meeting_end_says_the_coordinator_gets_the_notice_now(
    channel: TeamsChannel, sessions: Sessions
) -> None:
    await seed_meeting_world(sessions)
    anna, karin = user(channel, HANDLAGGARE), user(channel, COORDINATOR)
    await channel.say(karin, "hjälp")  # Karin has opened Korttid

    texts = await hold_home_going_meeting(channel, anna)

    told, summary = texts[0], texts[-1]
    assert "Korttidskoordinatorn får besked nu (Karin Koordinator)" in told
    assert "inte öppnat Korttid" not in told
    assert "Korttidskoordinatorn får besked om hemgången via Korttid." in summary
    assert "inte öppnat" not in summary


async def test_typed_home_going_tells_who_gets_it_now_and_who_it_waits_for(
    channel: TeamsChannel, sessions: Sessions
) -> None:
    await seed_meeting_world(sessions)
    anna, karin = user(channel, HANDLAGGARE), user(channel, COORDINATOR)

    before = " ".join(texts_in(await plan_home_going(channel, anna, "ÄNG-042", "3/12 9:30")))
    await channel.say(karin, "hjälp")
    after = " ".join(texts_in(await channel.say(anna, "hemgång ÄNG-042 4/12 9:30")))

    assert "Karin Koordinator har inte öppnat Korttid än" in before
    assert "Korttidskoordinatorn får besked om hemgången nu." not in before
    assert "Korttidskoordinatorn får besked om hemgången nu." in after
    assert "inte öppnat" not in after
