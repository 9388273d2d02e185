"""Between two rule instants a tick reconciles only the stays whose facts changed.

Triggers journal every change to a stay, its checklist, or who holds which role where; a tick
in the epoch of the last full evaluation reads the journal instead of every active stay. What
staff notice must not change: after each such tick, a full evaluation (a fresh process) finds
nothing to queue, withdraw or refresh.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Mapping
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from notifications.dispatcher import Dispatcher
from notifications.render import Renderer
from notifications.tick import EvaluationReport, Notifier, StaySlice
from storage import db
from storage.domain.calendar import add_working_days
from storage.models import OutboxMessage, OutboxStatus
from tests.helpers import seed_staff
from tests.nudging import PEOPLE, add_stay, change_stay, local, mark_item

Sessions = async_sessionmaker[AsyncSession]
MONDAY = date(2026, 11, 23)
OPEN_ITEMS = ("assistive_devices", "medication", "care_plan", "closing_note")


class NeverSends:
    async def send(
        self, reference: Mapping[str, Any], card: Mapping[str, Any], *, tenant_id: str | None
    ) -> str | None:
        raise AssertionError("these tests only evaluate")


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[Sessions]:
    engine = db.create_engine(database_url)
    await db.upgrade(engine)
    await seed_staff(sessions := db.session_factory(engine), *_people())
    yield sessions
    await engine.dispose()


def _people() -> list[tuple[str, str, str, str]]:
    return [(email, name, role, "ÄNG") for _key, email, name, role in PEOPLE]


def notifier(sessions: Sessions) -> Notifier:
    return Notifier(sessions, Dispatcher(sessions, Renderer(), NeverSends()))


async def pending(sessions: Sessions) -> dict[str, dict[str, Any]]:
    async with db.transaction(sessions) as session:
        result = await session.exec(
            select(OutboxMessage.key, OutboxMessage.payload).where(
                col(OutboxMessage.status) == OutboxStatus.PENDING
            )
        )
        return {key: dict(payload) for key, payload in result.all()}


async def assert_a_full_evaluation_agrees(sessions: Sessions, now: datetime) -> None:
    """A fresh process evaluates every active stay: it must find the outbox already right."""
    report = await notifier(sessions).evaluate(now)
    assert report.slice == StaySlice(0, None)
    assert (report.queued, report.withdrawn, report.refreshed) == (0, 0, 0), report


def changes(report: EvaluationReport) -> tuple[int | None, int, int, int]:
    """Changed stays read (None: every stay was read), queued, withdrawn, refreshed."""
    changed = None if report.slice is not None else report.changed
    return changed, report.queued, report.withdrawn, report.refreshed


async def test_a_tick_between_rule_instants_reads_only_the_stays_that_changed(
    sessions: Sessions,
) -> None:
    going_home = await add_stay(
        sessions, "ÄNG-001", MONDAY - timedelta(days=9), held_on=MONDAY - timedelta(days=3),
        home_going=add_working_days(MONDAY, 2), home_going_time=time(10),
    )  # fmt: skip
    meeting_due = await add_stay(sessions, "ÄNG-002", MONDAY - timedelta(days=5))
    await add_stay(sessions, "ÄNG-003", MONDAY)  # nothing due yet
    ticker = notifier(sessions)

    first = await ticker.evaluate(local(MONDAY, 7, 5))
    assert first.slice == StaySlice(0, None) and first.queued > 0
    assert changes(await ticker.evaluate(local(MONDAY, 7, 6))) == (0, 0, 0, 0)
    cards = await pending(sessions)

    # A nurse ticks medication off: only that stay is read; its cards list what is left.
    await mark_item(sessions, going_home, "medication")
    stays, queued, withdrawn, refreshed = changes(await ticker.evaluate(local(MONDAY, 7, 7)))
    assert (stays, queued, withdrawn) == (1, 0, 0) and refreshed >= 1
    after = await pending(sessions)
    assert after.keys() == cards.keys()
    assert any("medication" in str(payload) for payload in cards.values())
    assert all("medication" not in str(payload) for payload in after.values())

    # The meeting is held: its reminder is withdrawn.
    await change_stay(sessions, meeting_due, followup_held_on=MONDAY)
    assert changes(await ticker.evaluate(local(MONDAY, 7, 8))) == (1, 0, 1, 0)

    # A fix made by hand in SQL is journalled as well: the home-going is off, so is the nudge.
    async with db.transaction(sessions) as session:
        await session.exec(
            text("UPDATE stay SET home_going_date = NULL WHERE id = :id").bindparams(id=going_home)
        )
    report = await ticker.evaluate(local(MONDAY, 7, 9))
    assert changes(report)[0] == 1 and report.withdrawn > 0
    assert await pending(sessions) == {}
    await assert_a_full_evaluation_agrees(sessions, local(MONDAY, 7, 10))


async def test_a_rule_instant_or_a_new_colleague_makes_the_tick_read_every_stay(
    sessions: Sessions,
) -> None:
    home_going = add_working_days(MONDAY, 2)
    await add_stay(
        sessions, "ÄNG-001", MONDAY - timedelta(days=9), held_on=MONDAY - timedelta(days=3),
        home_going=home_going, home_going_time=time(10),
    )  # fmt: skip
    ticker = notifier(sessions)
    await ticker.evaluate(local(MONDAY, 7, 5))
    assert changes(await ticker.evaluate(local(MONDAY, 13, 59)))[0] == 0
    assert changes(await ticker.evaluate(local(MONDAY, 14, 0)))[0] is None

    # A second physiotherapist joins the unit: assistive devices are theirs too, right away.
    await seed_staff(sessions, ("ali@kommun.se", "Ali Arbetsterapeut", "rehab", "ÄNG"))
    report = await ticker.evaluate(local(MONDAY, 14, 1))
    assert changes(report)[0] is None and report.queued == 1
    await assert_a_full_evaluation_agrees(sessions, local(MONDAY, 14, 2))


async def test_random_changes_keep_the_outbox_as_a_full_evaluation_would(
    sessions: Sessions,
) -> None:
    """A working day of edits between ticks, over 07:00 and 14:00: after every tick, what is
    queued and pending is what a full evaluation would make it."""
    rng = random.Random(7)
    stays = []
    for n in range(12):
        arrival = MONDAY - timedelta(days=rng.randint(0, 16))
        going = rng.random() < 0.6
        stays.append(
            await add_stay(
                sessions,
                f"ÄNG-{n:03d}",
                arrival,
                held_on=MONDAY - timedelta(days=1) if rng.random() < 0.4 else None,
                home_going=add_working_days(MONDAY, rng.randint(0, 4)) if going else None,
                home_going_time=time(rng.choice([9, 15])) if going else None,
                sip_wanted=going and rng.random() < 0.5,
            )
        )
    ticker = notifier(sessions)
    now = local(MONDAY, 6, 30)
    while now < local(MONDAY, 15, 30):
        for _ in range(rng.randint(0, 3)):
            await _random_change(sessions, rng, rng.choice(stays))
        await ticker.evaluate(now)
        await assert_a_full_evaluation_agrees(sessions, now)
        now += timedelta(minutes=rng.choice([1, 7, 29, 61]))


async def _random_change(sessions: Sessions, rng: random.Random, stay_id: int) -> None:
    choice = rng.randrange(5)
    if choice == 0:
        await change_stay(sessions, stay_id, followup_held_on=MONDAY)
    elif choice == 1:
        await change_stay(sessions, stay_id, decision_kind="home_going")
    elif choice == 2:
        await change_stay(sessions, stay_id, home_going_date=add_working_days(MONDAY, 1))
    elif choice == 3:
        await change_stay(sessions, stay_id, status="closed")
    else:
        try:
            await mark_item(sessions, stay_id, rng.choice(OPEN_ITEMS))
        except Exception:  # the stay has no checklist: nothing to tick off
            return


async def statuses(sessions: Sessions) -> dict[tuple[int, str], set[str]]:
    """(stay id, the stage's day in the key) -> the statuses of those rows."""
    async with db.transaction(sessions) as session:
        result = await session.exec(
            select(OutboxMessage.stay_id, OutboxMessage.key, OutboxMessage.status)
        )
        found: dict[tuple[int, str], set[str]] = {}
        for stay_id, key, status in result.all():
            assert stay_id is not None
            found.setdefault((stay_id, key.split(":")[3]), set()).add(status)
        return found


async def going_home_tomorrow(sessions: Sessions, count: int) -> list[int]:
    """Stays going home on Tuesday with their checklists open: readiness nudges are due."""
    return [
        await add_stay(
            sessions,
            f"ÄNG-{n:03d}",
            MONDAY - timedelta(days=9),
            held_on=MONDAY - timedelta(days=3),
            home_going=add_working_days(MONDAY, 1),
            home_going_time=time(10),
        )
        for n in range(count)
    ]


async def test_every_stay_is_read_in_slices_and_nudges_of_stays_not_reached_wait(
    sessions: Sessions,
) -> None:
    """A region too big for one tick is read a slice of stays per tick. Until a stay's slice
    is reached in a new epoch its queued nudges are not sent: they may no longer be due."""
    ids = await going_home_tomorrow(sessions, 5)
    friday, monday = "2026-11-20", MONDAY.isoformat()
    ticker = Notifier(
        sessions, Dispatcher(sessions, Renderer(), NeverSends()), slice_stays=2, budget_s=0
    )
    # Before 07:00 on Monday the reminders of Friday ("two working days before") are due.
    slices = [(await ticker.evaluate(local(MONDAY, 6, minute))).slice for minute in (0, 1, 2)]
    assert slices == [StaySlice(0, ids[1]), StaySlice(ids[1], ids[3]), StaySlice(ids[3], None)]
    assert (await ticker.evaluate(local(MONDAY, 6, 3))).slice is None
    assert await statuses(sessions) == {(stay, friday): {"pending"} for stay in ids}

    # 07:00: "the last working day" replaces them. The first tick reaches two stays: theirs
    # are replaced and sent (here nobody has opened Korttid: they wait); the others' old ones wait.
    await ticker.tick(local(MONDAY, 7, 0))
    assert await statuses(sessions) == {
        **{(stay, friday): {"withdrawn"} for stay in ids[:2]},
        **{(stay, monday): {"waiting"} for stay in ids[:2]},
        **{(stay, friday): {"pending"} for stay in ids[2:]},
    }
    await ticker.tick(local(MONDAY, 7, 1))
    await ticker.tick(local(MONDAY, 7, 2))
    assert await statuses(sessions) == {
        **{(stay, friday): {"withdrawn"} for stay in ids},
        **{(stay, monday): {"waiting"} for stay in ids},
    }
    await assert_a_full_evaluation_agrees(sessions, local(MONDAY, 7, 3))


async def test_a_one_off_tick_reads_every_slice_before_it_delivers(sessions: Sessions) -> None:
    """``korttid tick`` has no next tick to continue the slices: it reads them all at once."""
    ids = await going_home_tomorrow(sessions, 5)
    ticker = Notifier(
        sessions, Dispatcher(sessions, Renderer(), NeverSends()), slice_stays=2, budget_s=0
    )
    report = await ticker.tick(local(MONDAY, 7, 0), every_slice=True)
    assert report.evaluation.slice == StaySlice(0, None)
    assert await statuses(sessions) == {(stay, MONDAY.isoformat()): {"waiting"} for stay in ids}


async def test_a_tick_takes_slices_while_it_is_within_its_time_budget(sessions: Sessions) -> None:
    ids = [await add_stay(sessions, f"ÄNG-{n:03d}", MONDAY - timedelta(days=5)) for n in range(7)]
    seconds = iter(range(100))  # each look at the timer: a further 0.3 s spent
    ticker = Notifier(
        sessions,
        Dispatcher(sessions, Renderer(), NeverSends()),
        slice_stays=2,
        budget_s=0.5,
        timer=lambda: next(seconds) * 0.3,
    )
    # Started at 0.0; after the first slice 0.3 s spent, after the second 0.6 s: stop.
    first = await ticker.evaluate(local(MONDAY, 7, 5))
    assert first.slice == StaySlice(0, ids[3])
    assert (await ticker.evaluate(local(MONDAY, 7, 6))).slice == StaySlice(ids[3], None)
    await assert_a_full_evaluation_agrees(sessions, local(MONDAY, 7, 7))
