"""Told means told, at once: a turn that queued outbox rows wakes delivery in its own process.

The turn calls ``wake`` after its transaction committed; one task here then runs a delivery pass
(and its follow-up passes) instead of leaving the rows for the next minute's tick. Other
instances are not woken: their ticks still pick up whatever is left, and the outbox claim keeps
a row from being sent by two passes at once. A wake during a pass runs one more pass after it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from notifications.dispatcher import Dispatcher
from storage.domain.clock import Clock

log = logging.getLogger(__name__)


class DeliveryWaker:
    def __init__(self, dispatcher: Dispatcher, clock: Clock) -> None:
        self.dispatcher = dispatcher
        self.clock = clock
        self._due = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        """Deliver what is due soon; cheap, and safe to call from any turn."""
        self._due.set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="korttid-delivery-waker")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            await self._due.wait()
            self._due.clear()
            await self.deliver()

    async def deliver(self) -> None:
        """One pass and its follow-ups; a failure is logged, and the tick tries again."""
        try:
            report = await self.dispatcher.deliver_due(self.clock.now())
            await self.dispatcher.follow_up(report, self.clock)
        except Exception:
            log.exception("delivery after a turn failed; the next tick retries")
