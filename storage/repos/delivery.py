"""Outbox delivery: claiming rows, recording outcomes, and what a tick needs to reconcile.

Claims are one atomic UPDATE: PostgreSQL locks the chosen rows with ``FOR UPDATE SKIP LOCKED``
so instances never wait for or share a row; SQLite serialises writers, so the same statement is
atomic there. A claim carries a lease: a row whose claimer died is claimable again after it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import on_postgres
from storage.models import (
    ConversationRef,
    OutboxMessage,
    OutboxStatus,
    Staff,
    Stay,
    StayStatus,
    utcnow,
)
from storage.repos.facts import EVERY_STAY, StayScope, select_columns

_CHUNK = 900
# Rows not sent yet that a tick may withdraw or refresh: due, or waiting for their recipient.
UNSENT = (OutboxStatus.PENDING.value, OutboxStatus.WAITING.value)
# Any constant works; it only has to be the same for every instance of Korttid.
_EVALUATION_LOCK = 0x4B6F7274  # "Kort"


@dataclass(frozen=True, slots=True)
class PendingNudge:
    id: int
    key: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class OutboxLine:
    """One row of ``korttid outbox list``: no payload, no free text."""

    id: int
    status: str
    kind: str
    due_at: datetime
    attempts: int
    recipient: str | None
    case_code: str | None
    last_error: str | None
    sent_at: datetime | None


@dataclass(frozen=True, slots=True)
class ReminderRow:
    status: str
    sent_at: datetime | None


@dataclass(frozen=True, slots=True)
class WaitingNotice:
    """A notice about a stay still waiting for a recipient who has not opened Korttid."""

    id: int
    stay_id: int
    unit_id: int
    handlaggare_id: int | None
    recipient_id: int
    recipient_name: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class HeldBack:
    """Rows of these kinds for stays after this id wait: the rules have not yet re-evaluated
    those stays in this epoch, so such a row may no longer be due."""

    kinds: frozenset[str]
    after_stay_id: int

    def released(self) -> ColumnElement[bool]:
        return or_(
            col(OutboxMessage.kind).not_in(sorted(self.kinds)),
            col(OutboxMessage.stay_id) <= self.after_stay_id,
            col(OutboxMessage.stay_id).is_(None),
        )


class DeliveryRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # --- the tick's side ---
    async def try_evaluation_lock(self) -> bool:
        """On PostgreSQL, one instance at a time evaluates the rules (held until commit).

        The unique keys already make concurrent evaluations safe; the lock only saves the work.
        SQLite has one writer at a time: there the tick takes the write lock before it reads
        (a write matching no row), so it waits its turn instead of failing when a turn
        commits between its reads and its writes.
        """
        if not on_postgres(self.session):
            await self.session.exec(
                update(OutboxMessage).where(col(OutboxMessage.id) < 0).values(attempts=0)
            )
            return True
        result = await self.session.exec(select(func.pg_try_advisory_xact_lock(_EVALUATION_LOCK)))
        return bool(result.one())

    async def existing_keys(self, keys: Iterable[str]) -> set[str]:
        wanted = sorted(set(keys))
        found: set[str] = set()
        for start in range(0, len(wanted), _CHUNK):
            result = await self.session.exec(
                select(OutboxMessage.key).where(
                    col(OutboxMessage.key).in_(wanted[start : start + _CHUNK])
                )
            )
            found.update(result.all())
        return found

    async def pending_of_kinds(
        self,
        kinds: Iterable[str],
        scope: StayScope = EVERY_STAY,
        *,
        due_by: datetime | None = None,
    ) -> list[PendingNudge]:
        """Undelivered rows of these kinds, of the stays in ``scope`` (due by ``due_by`` when
        given): the ones a tick may withdraw or refresh."""
        query = (
            select(OutboxMessage.id, OutboxMessage.key, OutboxMessage.payload)
            .where(
                *scope.where(OutboxMessage.stay_id),
                col(OutboxMessage.status).in_(UNSENT),
                col(OutboxMessage.kind).in_(sorted(set(kinds))),
            )
            .order_by(col(OutboxMessage.id))
        )
        if due_by is not None:
            query = query.where(col(OutboxMessage.due_at) <= due_by)
        result = await self.session.exec(query)
        return [PendingNudge(id_, key, dict(payload)) for id_, key, payload in result.all() if id_]

    async def withdraw_ids(self, ids: Sequence[int], reason: str) -> int:
        withdrawn = 0
        for start in range(0, len(ids), _CHUNK):
            result = await self.session.exec(
                update(OutboxMessage)
                .where(
                    col(OutboxMessage.id).in_(ids[start : start + _CHUNK]),
                    col(OutboxMessage.status).in_(UNSENT),
                )
                .values(status=OutboxStatus.WITHDRAWN, lease_until=None, last_error=reason)
            )
            withdrawn += int(result.rowcount or 0)
        return withdrawn

    async def refresh_payload(self, message_id: int, payload: dict[str, Any]) -> None:
        await self.session.exec(
            update(OutboxMessage)
            .where(
                col(OutboxMessage.id) == message_id,
                col(OutboxMessage.status).in_(UNSENT),
            )
            .values(payload=payload)
        )

    # --- the dispatcher's side ---
    async def claim_due(
        self,
        now: datetime,
        lease_until: datetime,
        limit: int,
        held: HeldBack | None = None,
        *,
        recipient: int | None = None,
    ) -> list[int]:
        """Claim up to ``limit`` rows due now (or whose lease ran out), except those ``held``
        back, only ``recipient``'s when given; returns their ids."""
        claimable = or_(
            and_(
                col(OutboxMessage.status) == OutboxStatus.PENDING,
                col(OutboxMessage.next_attempt_at) <= now,
            ),
            and_(
                col(OutboxMessage.status) == OutboxStatus.CLAIMED,
                col(OutboxMessage.lease_until) < now,
            ),
        )
        if held is not None:
            claimable = and_(claimable, held.released())
        if recipient is not None:
            claimable = and_(claimable, col(OutboxMessage.recipient_staff_id) == recipient)
        # A CTE, not an IN (subquery): PostgreSQL may run a subquery again for each row it
        # updates, and with SKIP LOCKED every run finds new rows, so it claimed all due rows.
        # A CTE with FOR UPDATE is evaluated once.
        chosen = (
            select(OutboxMessage.id)
            .where(claimable)
            .order_by(col(OutboxMessage.next_attempt_at), col(OutboxMessage.id))
            .limit(limit)
            .with_for_update(skip_locked=True)
            .cte("chosen")
        )
        result = await self.session.exec(
            update(OutboxMessage)
            .where(col(OutboxMessage.id).in_(select(chosen.c.id)), claimable)
            .values(status=OutboxStatus.CLAIMED, lease_until=lease_until)
            .returning(col(OutboxMessage.id))
        )
        return sorted(int(row[0]) for row in result.all())

    async def claimed(self, message_id: int) -> OutboxMessage | None:
        message = await self.session.get(OutboxMessage, message_id)
        if message is None or message.status != OutboxStatus.CLAIMED:
            return None
        return message

    async def target_for(self, message: OutboxMessage) -> ConversationRef | None:
        """Where a row goes: its own reference, else the recipient's personal chat, else
        (for rows addressed to a unit, not a person) the unit's linked channel."""
        if message.conversation_ref_id is not None:
            ref = await self.session.get(ConversationRef, message.conversation_ref_id)
            return ref if ref is not None and ref.active else None
        if message.recipient_staff_id is not None:
            result = await self.session.exec(
                select(ConversationRef)
                .where(
                    ConversationRef.staff_id == message.recipient_staff_id,
                    ConversationRef.kind == "personal",
                    col(ConversationRef.active),
                )
                .order_by(col(ConversationRef.updated_at).desc(), col(ConversationRef.id).desc())
            )
            return result.first()
        if message.unit_id is not None:
            result = await self.session.exec(
                select(ConversationRef)
                .where(
                    ConversationRef.unit_id == message.unit_id,
                    ConversationRef.kind == "channel",
                    col(ConversationRef.active),
                )
                .order_by(col(ConversationRef.id))
            )
            return result.first()
        return None

    async def _finish_claim(self, message_id: int, **values: Any) -> bool:
        result = await self.session.exec(
            update(OutboxMessage)
            .where(
                col(OutboxMessage.id) == message_id,
                col(OutboxMessage.status) == OutboxStatus.CLAIMED,
            )
            .values(lease_until=None, **values)
        )
        return bool(result.rowcount)

    async def mark_sent(
        self, message_id: int, *, activity_id: str | None, ref_id: int | None, at: datetime
    ) -> bool:
        return await self._finish_claim(
            message_id,
            status=OutboxStatus.SENT,
            sent_activity_id=(activity_id or "")[:200] or None,
            conversation_ref_id=ref_id,
            sent_at=at,
            last_error=None,
        )

    async def schedule_retry(
        self, message_id: int, *, attempts: int, next_attempt_at: datetime, error: str
    ) -> bool:
        return await self._finish_claim(
            message_id,
            status=OutboxStatus.PENDING,
            attempts=attempts,
            next_attempt_at=next_attempt_at,
            last_error=error[:500],
        )

    async def release(self, message_id: int, *, next_attempt_at: datetime) -> bool:
        """Hand a claimed row back untried (send rate reached): no attempt is counted."""
        return await self._finish_claim(
            message_id, status=OutboxStatus.PENDING, next_attempt_at=next_attempt_at
        )

    async def mark_undeliverable(
        self, message_id: int, *, attempts: int, error: str, ref_id: int | None = None
    ) -> bool:
        return await self._finish_claim(
            message_id,
            status=OutboxStatus.UNDELIVERABLE,
            attempts=attempts,
            last_error=error[:500],
            conversation_ref_id=ref_id,
        )

    async def mark_waiting(self, message_id: int, *, expires_at: datetime, reason: str) -> bool:
        """The recipient has no conversation yet: the row waits for them (no attempt counted)."""
        return await self._finish_claim(
            message_id, status=OutboxStatus.WAITING, expires_at=expires_at, last_error=reason
        )

    async def mark_expired(self, message_id: int, *, reason: str) -> bool:
        return await self._finish_claim(
            message_id, status=OutboxStatus.EXPIRED, last_error=reason[:500]
        )

    async def expire_waiting(
        self, now: datetime, reason: str, *, staff_id: int | None = None
    ) -> int:
        """Waiting rows (of one person, or everyone's) past their expiry are no longer worth
        sending; returns how many were marked expired."""
        query = update(OutboxMessage).where(
            col(OutboxMessage.status) == OutboxStatus.WAITING,
            col(OutboxMessage.expires_at) <= now,
        )
        if staff_id is not None:
            query = query.where(col(OutboxMessage.recipient_staff_id) == staff_id)
        result = await self.session.exec(
            query.values(status=OutboxStatus.EXPIRED, last_error=reason)
        )
        return int(result.rowcount or 0)

    async def release_waiting(self, staff_id: int, now: datetime, expired_reason: str) -> int:
        """The person can now be reached: their waiting rows are due at once, oldest first (the
        claim orders by due time, then id), except those past their expiry, which are marked
        expired. Returns how many were released."""
        await self.expire_waiting(now, expired_reason, staff_id=staff_id)
        result = await self.session.exec(
            update(OutboxMessage)
            .where(
                col(OutboxMessage.status) == OutboxStatus.WAITING,
                col(OutboxMessage.recipient_staff_id) == staff_id,
            )
            .values(status=OutboxStatus.PENDING, next_attempt_at=now, last_error=None)
        )
        return int(result.rowcount or 0)

    async def reminders(
        self, stay_id: int, kinds: Sequence[str], recipients: Sequence[int]
    ) -> list[ReminderRow]:
        """The outbox rows of these kinds about a stay to these people: what became of them."""
        if not kinds or not recipients:
            return []
        result = await self.session.exec(
            select(OutboxMessage.status, OutboxMessage.sent_at).where(
                OutboxMessage.stay_id == stay_id,
                col(OutboxMessage.kind).in_(list(kinds)),
                col(OutboxMessage.recipient_staff_id).in_(list(recipients)),
            )
        )
        return [ReminderRow(status, sent_at) for status, sent_at in result.all()]

    async def waiting_notices(self, kinds: Sequence[str]) -> list[WaitingNotice]:
        """Waiting rows of these kinds about active stays, with whom to tell."""
        result = await self.session.exec(
            select_columns(
                OutboxMessage.id,
                Stay.id,
                Stay.unit_id,
                Stay.handlaggare_id,
                Staff.id,
                Staff.name,
                OutboxMessage.payload,
            )
            .join(Stay, col(Stay.id) == OutboxMessage.stay_id)
            .join(Staff, col(Staff.id) == OutboxMessage.recipient_staff_id)
            .where(
                OutboxMessage.status == OutboxStatus.WAITING,
                col(OutboxMessage.kind).in_(list(kinds)),
                Stay.status == StayStatus.ACTIVE,
            )
            .order_by(col(OutboxMessage.id))
        )
        return [WaitingNotice(*row) for row in result.all()]

    async def deactivate_reference(self, ref_id: int) -> None:
        await self.session.exec(
            update(ConversationRef)
            .where(col(ConversationRef.id) == ref_id)
            .values(active=False, updated_at=utcnow())
        )

    # --- operations ---
    async def listing(self, status: str | None, limit: int) -> list[OutboxLine]:
        query = (
            select_columns(
                OutboxMessage.id,
                OutboxMessage.status,
                OutboxMessage.kind,
                OutboxMessage.due_at,
                OutboxMessage.attempts,
                Staff.email,
                Stay.case_code,
                OutboxMessage.last_error,
                OutboxMessage.sent_at,
            )
            .outerjoin(Staff, col(Staff.id) == OutboxMessage.recipient_staff_id)
            .outerjoin(Stay, col(Stay.id) == OutboxMessage.stay_id)
            .order_by(col(OutboxMessage.id).desc())
            .limit(limit)
        )
        if status:
            query = query.where(OutboxMessage.status == status)
        result = await self.session.exec(query)
        return [OutboxLine(*row) for row in result.all()]
