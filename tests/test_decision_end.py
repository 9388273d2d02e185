"""Issue 17, item 6: the SoL decision's end date (seed 000: the handläggare "avslutar eller
förlänger beslut"). Nudged 3 working days before and on the day when no home-going is planned
on or before it; the first working day after, the enhetschef too. An extension must give a new
end date after today."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.app import NOTIFIER
from notifications.rules import NudgeKind, decision_end_nudges, fact_windows
from storage.domain.clock import FixedClock
from tests.channel import TeamsChannel
from tests.meeting_helpers import HANDLAGGARE, seed_meeting_world, step_of
from tests.nudging import add_stay, change_stay, headline, install_team, local
from tests.test_rules import CHEF, facts, stay, who
from tests.test_rules import HANDLAGGARE as OWNER

END = date(2026, 12, 3)  # a Thursday


def ending(**changes: object) -> object:
    values = {"decision_end_date": END, **changes}
    return replace(stay(date(2026, 11, 16)), **values)  # type: ignore[arg-type]


def test_three_working_days_before_on_the_day_and_escalated_after() -> None:
    s = ending()

    def due(day: date) -> list[tuple[str, int]]:
        return who(decision_end_nudges(s, facts(s), local(day, 9)))  # type: ignore[arg-type]

    assert due(date(2026, 11, 27)) == []
    assert due(date(2026, 11, 30)) == [(NudgeKind.DECISION_END_SOON, OWNER)]
    assert due(date(2026, 12, 2)) == [(NudgeKind.DECISION_END_SOON, OWNER)]
    assert due(END) == [(NudgeKind.DECISION_END_TODAY, OWNER)]
    assert due(date(2026, 12, 4)) == [
        (NudgeKind.DECISION_ENDED, OWNER),
        (NudgeKind.DECISION_ENDED, CHEF),
    ]
    assert due(date(2026, 12, 10)) == []  # caught up for three working days, then quiet


def test_quiet_when_home_going_is_planned_on_or_before_the_end() -> None:
    for home_going, nudged in ((END, False), (END - timedelta(days=2), False), (None, True)):
        s = ending(home_going_date=home_going)
        found = decision_end_nudges(s, facts(s), local(END, 9))  # type: ignore[arg-type]
        assert bool(found) is nudged, home_going


def test_an_end_date_on_a_saturday_is_today_on_friday() -> None:
    saturday = date(2026, 12, 5)
    s = ending(decision_end_date=saturday)
    friday = decision_end_nudges(s, facts(s), local(date(2026, 12, 4), 9))  # type: ignore[arg-type]
    monday = decision_end_nudges(s, facts(s), local(date(2026, 12, 7), 9))  # type: ignore[arg-type]
    assert {n.kind for n in friday} == {NudgeKind.DECISION_END_TODAY}
    assert {n.kind for n in monday} == {NudgeKind.DECISION_ENDED}
    assert friday[0].payload["end_text"] == "lördag 5 december 2026"


@pytest.mark.parametrize("start", [date(2026, 12, 14), date(2027, 3, 15)])
def test_the_query_window_holds_every_end_date_with_a_nudge(start: date) -> None:
    for offset in range(0, 21):
        now = local(start + timedelta(days=offset), 10)
        windows = fact_windows(now)
        for ahead in range(-20, 20):
            end = start + timedelta(days=offset + ahead)
            s = ending(decision_end_date=end)
            if decision_end_nudges(s, facts(s), now):  # type: ignore[arg-type]
                assert windows.decision_end_from <= end <= windows.decision_end_to


async def test_the_tick_tells_the_handlaggare_then_the_enhetschef_by_case_code(
    channel: TeamsChannel,
    sessions: async_sessionmaker[AsyncSession],
    app_server: TestServer,
    clock: FixedClock,
) -> None:
    users = await install_team(channel, sessions)
    stay_id = await add_stay(sessions, "ÄNG-042", date(2026, 11, 16), held_on=date(2026, 11, 20))
    await change_stay(sessions, stay_id, decision_end_date=END, decision_kind="extension")
    notifier = app_server.app[NOTIFIER]
    for day in (date(2026, 11, 30), date(2026, 12, 1), END, date(2026, 12, 4)):
        clock.set(local(day, 8))
        await notifier.tick(clock.now(), every_slice=True)

    hanna = [headline(c) for c in channel.connector.cards(users["hanna"].conversation_id)]
    chef_cards = [
        card
        for card in channel.connector.cards(users["cecilia"].conversation_id)
        if not headline(card).startswith("Veckorapport")  # Monday's digest
    ]
    assert hanna == [
        "Beslutet löper snart ut: ÄNG-042",
        "Beslutet löper ut: ÄNG-042",
        "Beslutet har löpt ut: ÄNG-042",
    ]
    assert [headline(c) for c in chef_cards] == ["Beslutet har löpt ut: ÄNG-042"]
    assert "rum 4" in str(chef_cards[0]) and "Hanna Handläggare" in str(chef_cards[0])
    assert "actions" not in chef_cards[0]


async def test_a_planned_home_going_before_the_end_keeps_it_quiet(
    channel: TeamsChannel,
    sessions: async_sessionmaker[AsyncSession],
    app_server: TestServer,
    clock: FixedClock,
) -> None:
    users = await install_team(channel, sessions)
    stay_id = await add_stay(
        sessions, "ÄNG-042", date(2026, 11, 16), held_on=date(2026, 11, 20), home_going=END
    )
    await change_stay(sessions, stay_id, decision_end_date=END)
    clock.set(local(END, 8))
    await app_server.app[NOTIFIER].tick(clock.now(), every_slice=True)

    hanna = [headline(c) for c in channel.connector.cards(users["hanna"].conversation_id)]
    assert not [title for title in hanna if title.startswith("Beslutet")]


async def test_an_extension_must_end_after_today(channel: TeamsChannel, sessions) -> None:
    stay_id = await seed_meeting_world(sessions)  # today is Monday 23 November
    await change_stay(sessions, stay_id, decision_end_date=date(2026, 11, 20))  # already ended
    anna = channel.user("anna", HANDLAGGARE[0], HANDLAGGARE[1])
    await channel.say(anna, "uppföljning ÄNG-042")
    for _ in range(7):
        await channel.say(anna, "nästa")
    assert step_of(channel.connector.cards()[-1]) == 8
    await channel.say(anna, "förlängning")

    today = "\n".join(s.activity.get("text") or "" for s in await channel.say(anna, "idag"))
    tomorrow = "\n".join(s.activity.get("text") or "" for s in await channel.say(anna, "24/11"))

    assert "måste vara efter i dag" in today and "nya slutdatumet" in today
    assert "Varför förlängs vistelsen?" in tomorrow
