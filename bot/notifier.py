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
from notifications.dispatcher import AfterDelivery, Dispatcher
from notifications.install import AppInstaller
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
    *,
    installer: AppInstaller | None = None,
    after_delivery: AfterDelivery | None = None,
) -> Notifier:
    # The send rate is measured on the injected clock, so a test's fixed clock controls it too.
    limiter = RateLimiter(monotonic=lambda: clock.now().timestamp())
    sender = BotSender(adapter, app_id)
    dispatcher = Dispatcher(
        sessions, renderer, sender, limiter=limiter, after_delivery=after_delivery
    )
    return Notifier(sessions, dispatcher, sources=sources, installer=installer)


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


class WaitingDelivery:
    """Delivers at once what waited for a person who has just installed or opened Korttid,
    instead of leaving it for the next tick (or the next working morning: they are in Teams
    now). People woken while a pass runs get theirs in the passes that follow; a failure is
    logged like a tick's, and the next tick tries again."""

    def __init__(self, notifier: Notifier, clock: Clock) -> None:
        self.notifier = notifier
        self.clock = clock
        self._task: asyncio.Task[None] | None = None
        self._people: dict[int, None] = {}  # in the order they were woken

    def wake(self, staff_id: int) -> None:
        self._people[staff_id] = None
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        dispatcher = self.notifier.dispatcher
        while self._people:
            staff_id = next(iter(self._people))
            del self._people[staff_id]
            try:
                while (await dispatcher.deliver_due(self.clock.now(), recipient=staff_id)).full:
                    pass
            except Exception:
                log.exception("delivery of waiting messages failed staff_id=%s", staff_id)

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
