"""Wiring the notification engine to the bot: the sender, the rate limiter, the scheduler."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import UTC

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from botbuilder.integration.aiohttp import CloudAdapter
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.sender import BotSender
from notifications.dispatcher import Dispatcher
from notifications.ratelimit import RateLimiter
from notifications.render import Renderer
from notifications.tick import Notifier, NudgeSource
from storage.domain.clock import Clock

log = logging.getLogger(__name__)

TICK_JOB_ID = "korttid-tick"


def build_notifier(
    sessions: async_sessionmaker[AsyncSession],
    renderer: Renderer,
    adapter: CloudAdapter,
    app_id: str,
    clock: Clock,
    sources: Sequence[NudgeSource] = (),
) -> Notifier:
    # The send rate is measured on the injected clock, so a test's fixed clock controls it too.
    limiter = RateLimiter(monotonic=lambda: clock.now().timestamp())
    dispatcher = Dispatcher(sessions, renderer, BotSender(adapter, app_id), limiter=limiter)
    return Notifier(sessions, dispatcher, sources=sources)


async def run_tick(notifier: Notifier, clock: Clock) -> None:
    """One scheduled tick; a failure is logged and the next tick simply tries again.

    A backlog is delivered in follow-up passes within the tick (see ``Dispatcher.follow_up``)
    rather than one pass a tick; the next tick's evaluation waits for them (``max_instances``).
    """
    try:
        report = await notifier.tick(clock.now())
        log.debug("tick: %s", report)
        more = await notifier.dispatcher.follow_up(report.delivery, clock)
    except Exception:
        log.exception("tick failed")
        return
    if more:
        log.debug("tick: %s follow-up delivery passes", len(more))


class DeliveryWaker:
    """Runs a delivery pass right after a turn released messages that waited for its person
    (they installed or opened Korttid), instead of leaving them for the next tick. Wakes that
    come while a pass runs make one more pass; a failure is logged like a tick's."""

    def __init__(self, notifier: Notifier, clock: Clock) -> None:
        self.notifier = notifier
        self.clock = clock
        self._task: asyncio.Task[None] | None = None
        self._again = False

    def wake(self) -> None:
        if self._task is not None and not self._task.done():
            self._again = True
            return
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        dispatcher = self.notifier.dispatcher
        while True:
            self._again = False
            try:
                report = await dispatcher.deliver_due(self.clock.now())
                await dispatcher.follow_up(report, self.clock)
            except Exception:
                log.exception("delivery after a wake failed")
            if not self._again:
                return

    async def close(self) -> None:
        """Lets a pass in flight finish, so what it sent is recorded."""
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)


def build_scheduler(notifier: Notifier, clock: Clock, tick_seconds: int) -> AsyncIOScheduler:
    """APScheduler only says *when* to tick; it holds no business state (the outbox does)."""
    scheduler = AsyncIOScheduler(timezone=UTC)
    scheduler.add_job(
        run_tick,
        "interval",
        seconds=tick_seconds,
        args=(notifier, clock),
        id=TICK_JOB_ID,
        max_instances=1,  # a long delivery pass is never overlapped by the next tick
        coalesce=True,  # ticks missed meanwhile collapse into one
        misfire_grace_time=tick_seconds,
    )
    return scheduler
