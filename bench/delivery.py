"""Proactive delivery: 10 000 nudges to 2 000 conversations through Teams-style limits.

The product's own dispatcher (issue 5) and ``BotSender`` deliver through the adapter to a
connector process that enforces Teams' limits (7/s and 60/30 s per conversation, 50/s per tenant)
and answers 429 with ``Retry-After``. So that the run takes well under a minute, *time* is scaled:
the connector's limits run ``scale`` times faster, and the dispatcher's clock (its ``now``, its
rate limiter and its sleeps) runs ``scale`` times faster too, so every figure below is in Teams
seconds and the ratios are those of an unscaled run. Passes run as the scheduler's tick runs
them (``bot.notifier.run_tick``): one at each tick (60 s), never two at once, and the
dispatcher's follow-up passes within a tick while a backlog is left.

The time measured runs from the first send to the last one the connector acknowledged, on the
dispatcher's clock; the minimum is the earliest the connector's own limits let the last send
arrive.

Every card carries its row's number (as ``stay_id``), so the connector's counts show a card lost
(never arrived) or duplicated (arrived twice).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bench import data
from bench.connector import CONVERSATION_WINDOWS, TENANT_WINDOWS
from bench.databases import database
from bench.procs import start_connector
from bot.adapter import build_adapter, build_authentication
from bot.sender import BotSender
from bot.settings import Settings
from notifications.dispatcher import Dispatcher, Sender
from notifications.ratelimit import RateLimiter
from notifications.render import Renderer
from storage import db
from storage.models import ConversationRef, OutboxMessage, OutboxStatus, Staff

log = logging.getLogger("bench")

TENANT = "00000000-0000-0000-0000-0000000bench"
TICK_SECONDS = 60.0  # Settings.tick_seconds' default: the scheduler starts a tick this often


@dataclass(frozen=True)
class DeliverySizes:
    messages: int
    conversations: int
    scale: float  # Teams seconds per real second
    timeout_s: float  # real seconds before the run is called off


class ScaledClock:
    """Teams time for the dispatcher: starts at ``start`` and runs ``scale`` times faster."""

    def __init__(self, start: datetime, scale: float) -> None:
        self.start = start
        self.scale = scale
        self.origin = time.monotonic()

    def now(self) -> datetime:
        return self.start + timedelta(seconds=(time.monotonic() - self.origin) * self.scale)

    def elapsed(self) -> float:
        return (time.monotonic() - self.origin) * self.scale

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds / self.scale)


def minimum_seconds(messages: int, conversations: int) -> float:
    """The least time Teams' limits allow for the run, in Teams seconds: from the first send to
    the last, whichever bound is larger, the tenant's (all the messages) or a conversation's
    (the most any one conversation gets)."""
    busiest = math.ceil(messages / conversations)
    return max(last_send_at(messages, TENANT_WINDOWS), last_send_at(busiest, CONVERSATION_WINDOWS))


def last_send_at(count: int, windows: Sequence[tuple[int, float]]) -> float:
    """When the last of ``count`` sends can go at the earliest, the first at 0, under
    sliding-window limits (at most ``limit`` sends in any ``window`` seconds, as the connector
    counts them): each send as early as the windows allow, which no other order beats."""
    stamps: list[float] = []
    for _ in range(count):
        at = stamps[-1] if stamps else 0.0
        for limit, window in windows:
            if len(stamps) >= limit:
                at = max(at, stamps[-limit] + window)
        stamps.append(at)
    return stamps[-1] if stamps else 0.0


class TimedSender:
    """The product's sender, timed on the dispatcher's clock: when the first send began and
    when the last one the connector accepted was acknowledged."""

    def __init__(self, sender: Sender, clock: ScaledClock) -> None:
        self.sender = sender
        self.clock = clock
        self.first_send: float | None = None
        self.last_ack: float | None = None

    async def send(
        self, reference: Mapping[str, Any], card: Mapping[str, Any], *, tenant_id: str | None
    ) -> str | None:
        if self.first_send is None:
            self.first_send = self.clock.elapsed()
        activity_id = await self.sender.send(reference, card, tenant_id=tenant_id)
        self.last_ack = self.clock.elapsed()
        return activity_id

    def seconds(self) -> float:
        if self.first_send is None or self.last_ack is None:
            return 0.0
        return self.last_ack - self.first_send


async def bench_delivery(
    backend: str, workdir: Path, admin_url: str, sizes: DeliverySizes
) -> dict[str, Any]:
    connector = await start_connector(workdir, scale=sizes.scale)
    try:
        async with database(backend, workdir, admin_url) as url:
            return await _run(url, connector.url, sizes)
    finally:
        await connector.stop()


async def _run(url: str, connector_url: str, sizes: DeliverySizes) -> dict[str, Any]:
    engine = db.create_engine(url)
    settings = Settings(database_url=url, env="dev", app_id="")
    authentication = build_authentication(settings)
    try:
        await db.upgrade(engine)
        sessions = db.session_factory(engine)
        start = data.NOW + timedelta(hours=2)  # 09:05 on a working Monday: sending time
        async with db.transaction(sessions) as session:
            await _seed(session, connector_url, sizes, start)
        clock = ScaledClock(start, sizes.scale)
        sender = TimedSender(BotSender(build_adapter(authentication), settings.app_id), clock)
        # As bot/notifier.py builds it, with the dispatcher's sleeps on the scaled clock too.
        dispatcher = Dispatcher(
            sessions,
            Renderer(),
            sender,
            limiter=RateLimiter(monotonic=lambda: clock.now().timestamp()),
            sleep=clock.sleep,
        )
        passes, timed_out = await _deliver_as_scheduled(dispatcher, clock, sessions, sizes)
        whole_run = clock.elapsed()
        seconds = sender.seconds()
        stats = await _connector_stats(connector_url)
        left = await _left(sessions)
    finally:
        await authentication.close()
        await engine.dispose()
    minimum = minimum_seconds(sizes.messages, sizes.conversations)
    delivered = stats["markers"]
    return {
        "messages": sizes.messages,
        "conversations": sizes.conversations,
        "scale": sizes.scale,
        "passes": passes,
        "timed_out": timed_out,
        "teams_seconds": round(seconds, 1),
        "real_seconds": round(seconds / sizes.scale, 1),
        # The whole run, from the first claim to the outbox found empty, and what the connector
        # saw from its first accepted send to its last (a cross-check of teams_seconds).
        "run_teams_seconds": round(whole_run, 1),
        "connector_teams_seconds": _connector_span(stats, sizes.scale),
        "minimum_teams_seconds": round(minimum, 1),
        "ratio_to_minimum": round(seconds / minimum, 3) if minimum else None,
        "delivered": delivered,
        "lost": sizes.messages - delivered,
        "duplicated": stats["duplicate_markers"],
        "throttled_429": stats["throttled"],
        "left_in_outbox": left,
    }


async def _seed(
    session: AsyncSession, connector_url: str, sizes: DeliverySizes, due: datetime
) -> None:
    """``conversations`` people who installed the app, and the nudges queued for them."""
    stamp = due - timedelta(days=30)
    staff: list[dict[str, Any]] = []
    refs: list[dict[str, Any]] = []
    for n in range(1, sizes.conversations + 1):
        staff.append(
            {
                "id": n,
                "email": f"person{n}@bench.korttid.se",
                "name": f"Person {n}",
                "active": True,
                "created_at": stamp,
                "updated_at": stamp,
            }
        )
        conversation_id = f"a:bench-delivery-{n}"
        refs.append(
            {
                "id": n,
                "conversation_id": conversation_id,
                "kind": "personal",
                "staff_id": n,
                "tenant_id": TENANT,
                "service_url": connector_url + "/",
                "channel_id": "msteams",
                "reference": _reference(conversation_id, connector_url, n),
                "active": True,
                "created_at": stamp,
                "updated_at": stamp,
            }
        )
    outbox = [_nudge(n, sizes.conversations, due) for n in range(1, sizes.messages + 1)]
    await data.bulk_insert(session, Staff, staff)
    await data.bulk_insert(session, ConversationRef, refs)
    await data.bulk_insert(session, OutboxMessage, outbox)
    await data.fix_sequences(session, (Staff, ConversationRef, OutboxMessage))


def _reference(conversation_id: str, connector_url: str, n: int) -> dict[str, Any]:
    """What ``save_reference`` stores for a personal chat."""
    return {
        "activityId": f"install-{n}",
        "user": {"id": f"29:person{n}", "name": f"Person {n}", "aadObjectId": f"aad-person{n}"},
        "bot": {"id": "28:korttid-bench-bot", "name": "Korttid"},
        "conversation": {
            "id": conversation_id,
            "conversationType": "personal",
            "tenantId": TENANT,
        },
        "channelId": "msteams",
        "locale": "sv-SE",
        "serviceUrl": connector_url + "/",
    }


def _nudge(n: int, conversations: int, due: datetime) -> dict[str, Any]:
    """Row ``n``, for person ``n mod conversations``: what a tick queues for a long stay."""
    recipient = (n - 1) % conversations + 1
    return {
        "id": n,
        "key": f"bench:{n}",
        "kind": "nudge_long_stay",
        "stay_id": None,
        "unit_id": None,
        "recipient_staff_id": recipient,
        "conversation_ref_id": None,
        "template": "nudge_long_stay",
        "payload": {
            "stay_id": n,  # the card's button carries it: the connector counts by it
            "case_code": f"K-{n:07d}",
            "room": None,
            "day_number": 14,
            "arrival_text": "tisdag 10 november 2026",
        },
        "status": OutboxStatus.PENDING.value,
        "due_at": due,
        "next_attempt_at": due,
        "lease_until": None,
        "attempts": 0,
        "last_error": None,
        "sent_activity_id": None,
        "created_at": due,
        "sent_at": None,
    }


async def _deliver_as_scheduled(
    dispatcher: Dispatcher,
    clock: ScaledClock,
    sessions: async_sessionmaker[AsyncSession],
    sizes: DeliverySizes,
) -> tuple[int, bool]:
    """Ticks as APScheduler runs them (one at a time, missed ticks collapse), each a delivery
    pass and its follow-ups as ``run_tick`` does, until nothing is left to send."""
    passes = 0
    next_tick = 0.0
    deadline = time.monotonic() + sizes.timeout_s
    while await _left(sessions):
        if time.monotonic() > deadline:
            return passes, True
        wait = next_tick - clock.elapsed()
        if wait > 0:
            await clock.sleep(wait)
        report = await dispatcher.deliver_due(clock.now())
        passes += 1 + len(await dispatcher.follow_up(report, clock))
        while next_tick <= clock.elapsed():
            next_tick += TICK_SECONDS
    return passes, False


async def _left(sessions: async_sessionmaker[AsyncSession]) -> int:
    """Rows not yet sent and not given up on."""
    async with db.transaction(sessions) as session:
        result = await (await session.connection()).execute(
            select(func.count()).where(
                OutboxMessage.status.in_(  # type: ignore[attr-defined]
                    (OutboxStatus.PENDING.value, OutboxStatus.CLAIMED.value)
                )
            )
        )
        return int(result.scalar() or 0)


def _connector_span(stats: dict[str, Any], scale: float) -> float | None:
    first, last = stats.get("first_post"), stats.get("last_post")
    if first is None or last is None:
        return None
    return round((float(last) - float(first)) * scale, 1)


async def _connector_stats(connector_url: str) -> dict[str, Any]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(connector_url + "/_bench/stats") as response,
    ):
        stats: dict[str, Any] = await response.json()
        return stats
