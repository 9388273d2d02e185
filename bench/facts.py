"""The reminder tick and the indicators over a region's data, at growing sizes.

The tick is the product's own ``Notifier`` (issue 5) with its digest source (issue 6), timed at
07:05 on a Monday: the *first* tick after new stays appear queues every nudge due (a morning's
work), and a *steady* tick one minute later finds everything queued and delivered, which is what
almost every tick of a day does. The indicators are the product's ``compute_indicators`` and the
steering group's weekly digest (every unit, 12-week trend and chart).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bench import data
from bench.databases import database
from notifications.digest import DigestSettings, digest_payload, digest_source
from notifications.dispatcher import Dispatcher
from notifications.indicators import compute_indicators
from notifications.render import Renderer
from notifications.tick import Notifier
from storage import db
from storage.domain.payment import PaymentPolicy
from storage.domain.periods import half_year_of, iso_week_of, quarter_of
from storage.models import (
    OutboxMessage,
    OutboxStatus,
    ReadinessItem,
    ReadinessStatus,
    Stay,
    StayStatus,
)

log = logging.getLogger("bench")

# Stays changed between two ticks in the "busy minute": a region's staff at their busiest.
BUSY_MINUTE = 200
POLICY = PaymentPolicy(daily_amounts=dict.fromkeys(range(2020, 2028), 9300))


@dataclass(frozen=True)
class FactSizes:
    units: int
    stages: Sequence[tuple[int, int]]  # (active, closed) stays, growing
    history: tuple[int, int]  # the last stage: more history only, for the indicators


class NoSender:
    """The tick benchmarks never deliver: a steady tick finds nothing due."""

    async def send(
        self, reference: Mapping[str, Any], card: Mapping[str, Any], *, tenant_id: str | None
    ) -> str | None:
        raise AssertionError("the tick benchmark delivers nothing")


async def timed(work: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = await work()
    return time.perf_counter() - started, result


async def bench_facts(
    backend: str, workdir: Path, admin_url: str, sizes: FactSizes
) -> dict[str, Any]:
    """Grow the region stage by stage; time the ticks at each, the indicators at the last two."""
    results: dict[str, Any] = {"tick": [], "indicators": []}
    async with database(backend, workdir, admin_url) as url:
        engine = db.create_engine(url)
        try:
            await db.upgrade(engine)
            sessions = db.session_factory(engine)
            async with db.transaction(sessions) as session:
                region = await data.create_region(session, sizes.units)
            stages = [*sizes.stages, sizes.history]
            for index, (active, closed) in enumerate(stages):
                started = time.perf_counter()
                await _grow(sessions, region, active, closed)
                row: dict[str, Any] = {
                    "active": region.active,
                    "closed": region.closed,
                    "load_s": round(time.perf_counter() - started, 1),
                }
                row.update(await _ticks(sessions))
                results["tick"].append(row)
                log.info("%s tick at %s", backend, row)
                if index >= len(stages) - 2:
                    figures = await _indicators(sessions)
                    figures.update(active=region.active, closed=region.closed)
                    results["indicators"].append(figures)
                    log.info("%s indicators at %s", backend, figures)
        finally:
            await engine.dispose()
    return results


async def _grow(
    sessions: async_sessionmaker[AsyncSession], region: data.Region, active: int, closed: int
) -> None:
    async with db.transaction(sessions) as session:
        await data.grow(session, region, active=active, closed=closed, seed=8)
    async with db.transaction(sessions) as session:
        await data.analyze(session)


def notifier(sessions: async_sessionmaker[AsyncSession]) -> Notifier:
    renderer = Renderer()
    dispatcher = Dispatcher(sessions, renderer, NoSender())
    return Notifier(
        sessions, dispatcher, sources=[digest_source(DigestSettings(payment=POLICY), renderer)]
    )


async def _ticks(sessions: async_sessionmaker[AsyncSession]) -> dict[str, Any]:
    """Ticks a minute apart from 07:05: the morning's, from the first after the stays appeared
    until every stay was evaluated (queuing what is due); a steady one; one after a busy minute
    (``BUSY_MINUTE`` stays changed); and a restarted process's, which evaluate every stay again
    as the ticks after each rule instant do."""
    ticker = notifier(sessions)
    morning, queued, minute = await _every_slice(ticker, 0)
    await _mark_delivered(sessions)
    steady_s, steady = await timed(lambda: ticker.tick(data.NOW + timedelta(minutes=minute)))
    await _busy_minute(sessions)
    busy_s, busy = await timed(lambda: ticker.tick(data.NOW + timedelta(minutes=minute + 1)))
    restarted, restart_queued, _minute = await _every_slice(notifier(sessions), minute + 2)
    return {
        "first_tick_s": round(max(morning), 3),
        "morning_ticks": len(morning),
        "morning_s": round(sum(morning), 3),
        "queued": queued,
        "steady_tick_s": round(steady_s, 3),
        "steady_changed": steady.evaluation.changed,
        "steady_queued": steady.evaluation.queued,
        "steady_sent": steady.delivery.sent,
        "busy_tick_s": round(busy_s, 3),
        "busy_stays": busy.evaluation.changed,
        "full_tick_s": round(max(restarted), 3),
        "full_ticks": len(restarted),
        "full_s": round(sum(restarted), 3),
        "restart_queued": restart_queued,
    }


async def _every_slice(ticker: Notifier, minute: int) -> tuple[list[float], int, int]:
    """Ticks a minute apart from ``minute`` past 07:05 until every active stay has been
    evaluated: their times, the nudges they queued, the next minute."""
    seconds: list[float] = []
    queued = 0
    while True:
        started = time.perf_counter()
        report = await ticker.evaluate(data.NOW + timedelta(minutes=minute))
        seconds.append(time.perf_counter() - started)
        queued += report.queued
        minute += 1
        if report.slice is None or report.slice.through is None:
            return seconds, queued, minute


async def _busy_minute(sessions: async_sessionmaker[AsyncSession]) -> None:
    """What staff do in a minute across a region: items ticked off, stays edited."""
    async with db.transaction(sessions) as session:
        items = await session.exec(
            select(ReadinessItem.id)
            .where(col(ReadinessItem.status) == ReadinessStatus.NOT_READY)
            .order_by(col(ReadinessItem.id).desc())
            .limit(BUSY_MINUTE // 2)
        )
        await session.exec(
            update(ReadinessItem)
            .where(col(ReadinessItem.id).in_(list(items.all())))
            .values(status=ReadinessStatus.READY)
        )
        stays = await session.exec(
            select(Stay.id)
            .where(col(Stay.status) == StayStatus.ACTIVE)
            .order_by(col(Stay.id))
            .limit(BUSY_MINUTE // 2)
        )
        await session.exec(
            update(Stay).where(col(Stay.id).in_(list(stays.all()))).values(room="12B")
        )


async def _mark_delivered(sessions: async_sessionmaker[AsyncSession]) -> None:
    """What the dispatcher would have done in the minute between: every queued row sent."""
    async with db.transaction(sessions) as session:
        await session.exec(
            update(OutboxMessage)
            .where(col(OutboxMessage.status) == OutboxStatus.PENDING)
            .values(status=OutboxStatus.SENT, sent_at=data.NOW, lease_until=None)
        )


async def _indicators(sessions: async_sessionmaker[AsyncSession]) -> dict[str, Any]:
    """Every indicator, all units: a quarter, a half-year, and the steering group's digest."""
    today = data.TODAY
    renderer = Renderer()
    figures: dict[str, Any] = {}
    periods = {
        "quarter_s": quarter_of(today),
        "half_year_s": half_year_of(today),
    }
    for name, period in periods.items():
        async with db.transaction(sessions) as session:
            started = time.perf_counter()
            await compute_indicators(session, period, today, payment=POLICY)
        figures[name] = round(time.perf_counter() - started, 3)
    last_week = iso_week_of(today - timedelta(days=7))
    async with db.transaction(sessions) as session:
        seconds, _payload = await timed(
            lambda: digest_payload(
                session, last_week, today, renderer, unit_ids=None, payment=POLICY
            )
        )
    figures["digest_s"] = round(seconds, 3)
    figures["worst_s"] = max(figures["quarter_s"], figures["half_year_s"], figures["digest_s"])
    return figures
