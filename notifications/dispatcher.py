"""Delivery: claim due outbox rows, render each card, send it through a ``Sender``, record it.

Nothing here decides *what* to say; the rows were decided by a tick or a turn. The dispatcher
only decides *whether it went*: sent (with the channel's activity id), retried later (429 with
``Retry-After``; 412, 5xx and timeouts with exponential backoff and jitter), or undeliverable
(the person never installed the app, or the channel says the conversation is gone: 401/403/404).
No row is dropped: undeliverable rows stay visible in ``korttid outbox list`` and the digest.

Each row is handled in short transactions of its own and never holds one across the network.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from notifications.ratelimit import RateLimiter
from notifications.render import Renderer
from notifications.timing import is_sending_time
from storage.db import transaction
from storage.repos.delivery import DeliveryRepository

log = logging.getLogger(__name__)

GONE = frozenset({401, 403, 404})  # the conversation is not ours to write to: never retried
TRANSIENT = frozenset({408, 412, 500, 502, 503, 504})
THROTTLED = 429
NO_REFERENCE = "no conversation reference: the recipient has not installed Korttid"

BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=1)
MAX_RETRY_AFTER = timedelta(hours=24)


class SendFailed(Exception):
    """A send that did not go; ``status`` is the HTTP status, None for timeouts and network."""

    def __init__(self, status: int | None, *, retry_after: str | None = None, reason: str = ""):
        super().__init__(reason or (f"HTTP {status}" if status else "no response"))
        self.status = status
        self.retry_after = retry_after
        self.reason = reason


class Sender(Protocol):
    """Sends one Adaptive Card proactively; ``bot/`` implements it with the adapter."""

    async def send(
        self, reference: Mapping[str, Any], card: Mapping[str, Any], *, tenant_id: str | None
    ) -> str | None:
        """Returns the sent activity's id; raises ``SendFailed``."""
        ...


@dataclass
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    undeliverable: int = 0
    deferred: int = 0

    def __str__(self) -> str:
        return (
            f"sent {self.sent}, retry later {self.retried}, "
            f"undeliverable {self.undeliverable}, deferred {self.deferred}"
        )


@dataclass(frozen=True, slots=True)
class _Delivery:
    message_id: int
    attempts: int
    template: str
    payload: dict[str, Any]
    ref_id: int
    conversation_id: str
    reference: dict[str, Any]
    tenant_id: str | None


@dataclass
class _Pass:
    now: datetime
    report: DeliveryReport = field(default_factory=DeliveryReport)
    # Conversations that answered 429 in this pass, and until when they are left alone.
    blocked: dict[str, datetime] = field(default_factory=dict)


def retry_after_delay(value: str | None, now: datetime) -> timedelta | None:
    """``Retry-After`` as seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    try:
        delay = timedelta(seconds=float(value))
    except ValueError:
        try:
            delay = parsedate_to_datetime(value) - now
        except (TypeError, ValueError):
            return None
    return min(max(delay, timedelta(seconds=1)), MAX_RETRY_AFTER)


class Dispatcher:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        renderer: Renderer,
        sender: Sender,
        *,
        limiter: RateLimiter | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
        batch_size: int = 50,
        max_rows_per_pass: int = 2000,
        lease: timedelta = timedelta(minutes=5),
        max_attempts: int = 12,
        max_inline_wait: float = 1.0,
    ) -> None:
        self.sessions = sessions
        self.renderer = renderer
        self.sender = sender
        self.limiter = limiter or RateLimiter()
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.batch_size = batch_size
        self.max_rows_per_pass = max_rows_per_pass
        self.lease = lease
        self.max_attempts = max_attempts
        self.max_inline_wait = max_inline_wait

    async def deliver_due(self, now: datetime) -> DeliveryReport:
        """One delivery pass at ``now``; silent outside working hours (07–18, working days)."""
        run = _Pass(now)
        if not is_sending_time(now):
            return run.report
        handled = 0
        while handled < self.max_rows_per_pass:
            ids = await self._claim(now)
            if not ids:
                break
            for message_id in ids:
                await self._deliver(message_id, run)
            handled += len(ids)
        if handled:
            log.info("outbox delivery: %s", run.report)
        return run.report

    async def _claim(self, now: datetime) -> list[int]:
        async with transaction(self.sessions) as session:
            return await DeliveryRepository(session).claim_due(
                now, now + self.lease, self.batch_size
            )

    async def _deliver(self, message_id: int, run: _Pass) -> None:
        delivery = await self._prepare(message_id, run)
        if delivery is None:
            return
        try:
            card = self.renderer.card(delivery.template, **delivery.payload)
        except Exception as error:  # a template bug must not stop the other rows
            log.exception("outbox row %s: card %s failed to render", message_id, delivery.template)
            await self._undeliverable(delivery, run, f"render failed: {type(error).__name__}")
            return
        if not await self._make_room(delivery, run):
            return
        try:
            activity_id = await self.sender.send(
                delivery.reference, card, tenant_id=delivery.tenant_id
            )
        except SendFailed as failure:
            await self._failed(delivery, failure, run)
            return
        async with transaction(self.sessions) as session:
            await DeliveryRepository(session).mark_sent(
                message_id, activity_id=activity_id, ref_id=delivery.ref_id, at=run.now
            )
        run.report.sent += 1

    async def _prepare(self, message_id: int, run: _Pass) -> _Delivery | None:
        """Load a claimed row and where it goes; a row with nowhere to go is undeliverable."""
        async with transaction(self.sessions) as session:
            repo = DeliveryRepository(session)
            message = await repo.claimed(message_id)
            if message is None:
                return None
            ref = await repo.target_for(message)
            attempts, kind = message.attempts, message.kind
            if ref is not None and ref.id is not None:
                return _Delivery(
                    message_id=message_id,
                    attempts=message.attempts,
                    template=message.template,
                    payload=dict(message.payload),
                    ref_id=ref.id,
                    conversation_id=ref.conversation_id,
                    reference=dict(ref.reference),
                    tenant_id=ref.tenant_id,
                )
        # Written in a transaction of its own: reads then writes in one would, on SQLite, fail
        # instead of waiting when another writer committed in between.
        async with transaction(self.sessions) as session:
            await DeliveryRepository(session).mark_undeliverable(
                message_id, attempts=attempts, error=NO_REFERENCE
            )
        log.warning("outbox row %s (%s): no conversation reference", message_id, kind)
        run.report.undeliverable += 1
        return None

    async def _make_room(self, delivery: _Delivery, run: _Pass) -> bool:
        """Wait briefly for the send rate, or hand the row back for later (no attempt counted)."""
        blocked_until = run.blocked.get(delivery.conversation_id)
        wait = self.limiter.wait(delivery.conversation_id, delivery.tenant_id)
        if blocked_until is not None or wait > self.max_inline_wait:
            later = blocked_until or run.now + timedelta(seconds=wait)
            async with transaction(self.sessions) as session:
                await DeliveryRepository(session).release(
                    delivery.message_id, next_attempt_at=later
                )
            run.report.deferred += 1
            return False
        if wait > 0:
            await self.sleep(wait)
        self.limiter.take(delivery.conversation_id, delivery.tenant_id)
        return True

    async def _failed(self, delivery: _Delivery, failure: SendFailed, run: _Pass) -> None:
        attempts = delivery.attempts + 1
        status = failure.status
        log.warning(
            "outbox row %s: send failed (%s), attempt %s",
            delivery.message_id,
            status or failure.reason or "no response",
            attempts,
        )
        if status in GONE:
            await self._undeliverable(
                delivery, run, f"HTTP {status}: conversation gone", attempts, retire=True
            )
            return
        if status == THROTTLED:
            delay = retry_after_delay(failure.retry_after, run.now) or self._backoff(attempts)
            run.blocked[delivery.conversation_id] = run.now + delay
        elif status is None or status in TRANSIENT:
            delay = self._backoff(attempts)
        else:
            await self._undeliverable(delivery, run, f"HTTP {status}", attempts)
            return
        error = f"HTTP {status}" if status else f"no response: {failure.reason or 'timeout'}"
        if attempts >= self.max_attempts:
            await self._undeliverable(delivery, run, f"gave up after {attempts}: {error}", attempts)
            return
        async with transaction(self.sessions) as session:
            await DeliveryRepository(session).schedule_retry(
                delivery.message_id,
                attempts=attempts,
                next_attempt_at=run.now + delay,
                error=error,
            )
        run.report.retried += 1

    async def _undeliverable(
        self,
        delivery: _Delivery,
        run: _Pass,
        error: str,
        attempts: int | None = None,
        *,
        retire: bool = False,
    ) -> None:
        async with transaction(self.sessions) as session:
            repo = DeliveryRepository(session)
            if retire:
                await repo.deactivate_reference(delivery.ref_id)
            await repo.mark_undeliverable(
                delivery.message_id,
                attempts=delivery.attempts if attempts is None else attempts,
                error=error,
                ref_id=delivery.ref_id,
            )
        run.report.undeliverable += 1

    def _backoff(self, attempts: int) -> timedelta:
        """Exponential backoff with jitter: half the step fixed, half random."""
        step: timedelta = min(BACKOFF_BASE * (2 ** max(attempts - 1, 0)), BACKOFF_CAP)
        jitter: float = self.rng.random()
        return step / 2 + step / 2 * jitter
