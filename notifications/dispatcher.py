"""Delivery: claim due outbox rows, render each card, send it through a ``Sender``, record it.

Nothing here decides *what* to say; the rows were decided by a tick or a turn. The dispatcher
only decides *whether it went*: sent (with the channel's activity id), retried later (429 with
``Retry-After``; 412, 5xx and timeouts with exponential backoff and jitter), waiting (the person
has not opened Korttid yet: the row is delivered when they do, unless it expires first, see
``notifications.expiry``), or undeliverable (the channel says the conversation is gone:
401/403/404). No row is dropped: waiting, expired and undeliverable rows stay visible in
``korttid outbox list`` and the digest.

Sends to different conversations run concurrently (at most ``concurrency`` in flight), so the
send rate, not the channel's round trip, sets the pace; within one conversation they go one at a
time and in row order. A claimed batch is loaded in one short transaction and each outcome is
written in one of its own; no transaction is held across the network. A crash between a send
and its mark leaves the row claimed, and it is sent again once its lease runs out: at least once
at the channel's edge (up to ``concurrency`` rows), exactly once in the outbox.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from notifications.expiry import expiry_of
from notifications.fate import with_reminder_fate
from notifications.ratelimit import RateLimiter
from notifications.render import Renderer
from notifications.rules import RULE_KINDS
from notifications.timing import is_sending_time
from storage.db import transaction
from storage.domain.clock import Clock
from storage.repos.delivery import DeliveryRepository, HeldBack
from storage.repos.fact_changes import FactChangeRepository

log = logging.getLogger(__name__)

GONE = frozenset({401, 403, 404})  # the conversation is not ours to write to: never retried
TRANSIENT = frozenset({408, 412, 500, 502, 503, 504})
THROTTLED = 429
NO_REFERENCE = "waiting: the recipient has not opened Korttid yet"
EXPIRED_WAITING = "expired: the recipient did not open Korttid in time"

BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=1)
MAX_RETRY_AFTER = timedelta(hours=24)
# With Teams' ~100 ms round trip, 10 in flight carry about 100 sends a second: the rate limiter,
# not the round trip, sets the pace.
DEFAULT_CONCURRENCY = 10
# Rows put off for no longer than this (a 429's Retry-After, a conversation's send rate) get a
# follow-up pass in the same tick instead of waiting for the next one.
FOLLOW_UP_WITHIN = timedelta(seconds=5)
MAX_WAITING_FOLLOW_UPS = 3


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


# Called after a pass with the references of the conversations it sent to (issue 19, item 6):
# ``bot/`` shows a dialog that was waiting for an answer there its question again.
AfterDelivery = Callable[[Sequence[Mapping[str, Any]]], Awaitable[None]]


@dataclass
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    undeliverable: int = 0
    deferred: int = 0
    # Rows whose recipient has not opened Korttid yet, and waiting rows past their expiry.
    waiting: int = 0
    expired: int = 0
    # The pass stopped at its row limit: more rows may be due right now.
    full: bool = False
    # The soonest a row this pass put off (deferred, or retried after a 429) is due again.
    next_due: datetime | None = None

    @property
    def settled(self) -> int:
        """Rows this pass sent, gave up on or scheduled a retry for (not merely put off)."""
        return self.sent + self.retried + self.undeliverable + self.waiting + self.expired

    def put_off(self, until: datetime) -> None:
        if self.next_due is None or until < self.next_due:
            self.next_due = until

    def __str__(self) -> str:
        return (
            f"sent {self.sent}, retry later {self.retried}, "
            f"undeliverable {self.undeliverable}, deferred {self.deferred}, "
            f"waiting {self.waiting}, expired {self.expired}"
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


@dataclass(frozen=True, slots=True)
class _Nowhere:
    message_id: int
    kind: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class _Sent:
    message_id: int
    activity_id: str | None
    ref_id: int
    at: datetime


class _SentWriter:
    """Records sends that went, in groups: what is answered while one transaction is being
    written goes into the next. One writer keeps the database's connections few and frees a
    send's slot as soon as the channel answered; a row waits milliseconds to be marked."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], report: DeliveryReport):
        self.sessions = sessions
        self.report = report
        self.waiting: list[_Sent] = []
        self.ready = asyncio.Event()
        self.closing = False
        self.failed: BaseException | None = None

    def add(self, sent: _Sent) -> None:
        if self.failed is not None:  # stop the pass: what it sends now could not be recorded
            raise RuntimeError("recording sent outbox rows failed") from self.failed
        self.waiting.append(sent)
        self.ready.set()

    def close(self) -> None:
        self.closing = True
        self.ready.set()

    async def run(self) -> None:
        """Until closed and everything added is written."""
        try:
            await self._write()
        except BaseException as error:
            self.failed = error
            raise

    async def _write(self) -> None:
        while True:
            if not self.waiting:
                if self.closing:
                    return
                self.ready.clear()
                await self.ready.wait()
                continue
            group, self.waiting = self.waiting, []
            async with transaction(self.sessions) as session:
                repo = DeliveryRepository(session)
                for sent in group:
                    await repo.mark_sent(
                        sent.message_id,
                        activity_id=sent.activity_id,
                        ref_id=sent.ref_id,
                        at=sent.at,
                    )
            self.report.sent += len(group)


@dataclass
class _Pass:
    now: datetime
    started: float  # the limiter's clock when the pass began
    slots: asyncio.Semaphore  # sends in flight
    sent: _SentWriter
    report: DeliveryReport
    # Conversations that answered 429 in this pass, and until when they are left alone.
    blocked: dict[str, datetime] = field(default_factory=dict)
    # One send at a time per conversation, in row order (asyncio locks serve in arrival order).
    lanes: dict[str, asyncio.Lock] = field(default_factory=dict)
    # Per tenant, one send at a time waits for the next token; the others queue behind it.
    gates: dict[str, asyncio.Lock] = field(default_factory=dict)
    # Only this person's rows (they have just opened Korttid); None: everyone's.
    recipient: int | None = None
    # conversation id -> reference, of the conversations sent to in this pass
    delivered: dict[str, dict[str, Any]] = field(default_factory=dict)

    def lane(self, conversation_id: str) -> asyncio.Lock:
        return self.lanes.setdefault(conversation_id, asyncio.Lock())

    def gate(self, tenant_id: str | None) -> asyncio.Lock:
        return self.gates.setdefault(tenant_id or "", asyncio.Lock())


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
        concurrency: int = DEFAULT_CONCURRENCY,
        lease: timedelta = timedelta(minutes=5),
        max_attempts: int = 12,
        max_inline_wait: float = 1.0,
        after_delivery: AfterDelivery | None = None,
    ) -> None:
        self.sessions = sessions
        self.renderer = renderer
        self.sender = sender
        # Its clock also times a pass: ``now`` plus what has passed on it since the pass began.
        self.limiter = limiter or RateLimiter()
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.batch_size = batch_size
        self.max_rows_per_pass = max_rows_per_pass
        self.concurrency = concurrency
        self.lease = lease
        self.max_attempts = max_attempts
        self.max_inline_wait = max_inline_wait
        self.after_delivery = after_delivery

    async def deliver_due(self, now: datetime, *, recipient: int | None = None) -> DeliveryReport:
        """One delivery pass at ``now``; silent outside working hours (07–18, working days).

        With ``recipient``, only that person's rows, at any hour: they have just opened Korttid
        and are in Teams now, so what waited for them goes at once.
        """
        report = DeliveryReport()
        if recipient is None and not is_sending_time(now):
            return report
        run = _Pass(
            now,
            self.limiter.monotonic(),
            asyncio.Semaphore(self.concurrency),
            _SentWriter(self.sessions, report),
            report,
            recipient=recipient,
        )
        await self._expire_waiting(now, report)
        writer = asyncio.create_task(run.sent.run())
        try:
            handled = await self._deliver_claimed(run)
        finally:
            run.sent.close()
            await writer  # what went is recorded, even when the pass failed
        report.full = handled >= self.max_rows_per_pass
        if handled:
            log.info("outbox delivery: %s", run.report)
        await self._after_delivery(run)
        return run.report

    async def _after_delivery(self, run: _Pass) -> None:
        """Once per conversation sent to, after the pass: a failure there is logged, never
        counted against what was sent."""
        if self.after_delivery is None or not run.delivered:
            return
        try:
            await self.after_delivery(list(run.delivered.values()))
        except Exception:
            log.exception("after delivery failed for %s conversations", len(run.delivered))

    async def _expire_waiting(self, now: datetime, report: DeliveryReport) -> None:
        async with transaction(self.sessions) as session:
            report.expired += await DeliveryRepository(session).expire_waiting(now, EXPIRED_WAITING)

    async def _deliver_claimed(self, run: _Pass) -> int:
        """Send the rows claimed batch by batch, a few at a time; returns the rows claimed."""
        batches: asyncio.Queue[list[_Delivery] | None] = asyncio.Queue(maxsize=1)
        async with asyncio.TaskGroup() as sends:
            claimer = sends.create_task(self._claim_ahead(run, batches))
            while (batch := await batches.get()) is not None:
                for delivery in batch:
                    await run.slots.acquire()  # at most ``concurrency`` in flight
                    sends.create_task(self._deliver(delivery, run))
        return claimer.result()

    async def _claim_ahead(self, run: _Pass, batches: asyncio.Queue[list[_Delivery] | None]) -> int:
        """Claims and loads the next batch while the one before is being sent, so the sends
        never wait for the database; ends the queue with None."""
        handled = 0
        while handled < self.max_rows_per_pass:
            limit = min(self.batch_size, self.max_rows_per_pass - handled)
            ids = await self._claim(run.now, limit, run.recipient)
            if not ids:
                break
            handled += len(ids)
            await batches.put(await self._prepare(ids, run))
        await batches.put(None)
        return handled

    async def follow_up(self, last: DeliveryReport, clock: Clock) -> list[DeliveryReport]:
        """Further passes after ``last`` within the same tick, so a backlog does not wait for
        the next one: at once while a pass ends at its row limit having got somewhere, and after
        a short wait when a pass put rows off for a few seconds only. Returns their reports."""
        passes: list[DeliveryReport] = []
        waits = 0
        while True:
            now = clock.now()
            if not (last.full and last.settled):
                due = last.next_due
                if due is None or due - now > FOLLOW_UP_WITHIN or waits >= MAX_WAITING_FOLLOW_UPS:
                    return passes
                waits += 1
                await self.sleep(max((due - now).total_seconds(), 0.0))
            last = await self.deliver_due(clock.now())
            passes.append(last)

    def _now(self, run: _Pass) -> datetime:
        """The pass's ``now``, moved on by the time the pass has taken so far."""
        return run.now + timedelta(seconds=max(self.limiter.monotonic() - run.started, 0.0))

    async def _claim(self, now: datetime, limit: int, recipient: int | None) -> list[int]:
        async with transaction(self.sessions) as session:
            held = await _held_back(session)
            return await DeliveryRepository(session).claim_due(
                now, now + self.lease, limit, held, recipient=recipient
            )

    async def _prepare(self, ids: list[int], run: _Pass) -> list[_Delivery]:
        """Load claimed rows and where they go; a row with nowhere to go yet waits."""
        deliveries: list[_Delivery] = []
        nowhere: list[_Nowhere] = []
        async with transaction(self.sessions) as session:
            repo = DeliveryRepository(session)
            for message_id in ids:
                message = await repo.claimed(message_id)
                if message is None:
                    continue
                ref = await repo.target_for(message)
                if ref is None or ref.id is None:
                    expires_at = message.expires_at or expiry_of(
                        message.kind, message.due_at, message.payload
                    )
                    nowhere.append(_Nowhere(message_id, message.kind, expires_at))
                    continue
                payload = await with_reminder_fate(
                    session, self.renderer, message.stay_id, message.payload
                )
                deliveries.append(
                    _Delivery(
                        message_id=message_id,
                        attempts=message.attempts,
                        template=message.template,
                        payload=payload,
                        ref_id=ref.id,
                        conversation_id=ref.conversation_id,
                        reference=dict(ref.reference),
                        tenant_id=ref.tenant_id,
                    )
                )
        for row in nowhere:
            # Written in a transaction of its own: reads then writes in one would, on SQLite,
            # fail instead of waiting when another writer committed in between.
            await self._wait_for_recipient(row, run)
        return deliveries

    async def _wait_for_recipient(self, row: _Nowhere, run: _Pass) -> None:
        """No conversation yet: the row waits until its recipient opens Korttid, or expires."""
        async with transaction(self.sessions) as session:
            repo = DeliveryRepository(session)
            if row.expires_at <= run.now:
                await repo.mark_expired(row.message_id, reason=EXPIRED_WAITING)
                run.report.expired += 1
                return
            await repo.mark_waiting(row.message_id, expires_at=row.expires_at, reason=NO_REFERENCE)
        log.info("outbox row %s (%s): waits for its recipient", row.message_id, row.kind)
        run.report.waiting += 1

    async def _deliver(self, delivery: _Delivery, run: _Pass) -> None:
        try:
            async with run.lane(delivery.conversation_id):
                await self._send(delivery, run)
        finally:
            run.slots.release()

    async def _send(self, delivery: _Delivery, run: _Pass) -> None:
        message_id = delivery.message_id
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
        run.sent.add(_Sent(message_id, activity_id, delivery.ref_id, self._now(run)))
        run.delivered[delivery.conversation_id] = delivery.reference

    async def _make_room(self, delivery: _Delivery, run: _Pass) -> bool:
        """Wait briefly for the send rate, or hand the row back for later (no attempt counted)."""
        blocked_until = run.blocked.get(delivery.conversation_id)
        wait = self.limiter.wait(delivery.conversation_id, delivery.tenant_id)
        if blocked_until is not None or wait > self.max_inline_wait:
            later = blocked_until or self._now(run) + timedelta(seconds=wait)
            async with transaction(self.sessions) as session:
                await DeliveryRepository(session).release(
                    delivery.message_id, next_attempt_at=later
                )
            run.report.deferred += 1
            run.report.put_off(later)
            return False
        conversation_wait = self.limiter.conversation_wait(delivery.conversation_id)
        if conversation_wait > 0:  # outside the gate: other conversations need not wait for it
            await self.sleep(conversation_wait)
        async with run.gate(delivery.tenant_id):
            # Taken when the send goes, not reserved ahead of the wait: sends held up by a busy
            # process must not go out together later, above the tenant's limit. (Taken even if
            # the clock stood still meanwhile, as a fixed clock in tests and ``tick --now`` does.)
            wait = self.limiter.wait(delivery.conversation_id, delivery.tenant_id)
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
        now = self._now(run)
        if status == THROTTLED:
            delay = retry_after_delay(failure.retry_after, now) or self._backoff(attempts)
            run.blocked[delivery.conversation_id] = now + delay
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
                next_attempt_at=now + delay,
                error=error,
            )
        run.report.retried += 1
        run.report.put_off(now + delay)

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


async def _held_back(session: AsyncSession) -> HeldBack | None:
    """While the rules re-evaluate every stay slice by slice (``notifications.tick``), their
    nudges for stays not yet reached wait: such a nudge may no longer be due."""
    progress = await FactChangeRepository(session).progress()
    if progress is None or progress.through_stay_id is None:
        return None
    return HeldBack(RULE_KINDS, progress.through_stay_id)
