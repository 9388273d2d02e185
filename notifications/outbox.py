"""Writing to the outbox: every message Korttid sends goes through here, once per key."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Required, TypedDict, Unpack

from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import OutboxMessage, OutboxStatus, utcnow
from storage.repos.outbox import OutboxRepository

# Set on a session that queued rows, so the turn that commits it can wake delivery at once.
QUEUED = "korttid.outbox_queued"


def queued_in(session: AsyncSession) -> bool:
    """Whether rows were queued in this session (the flag is cleared by asking)."""
    return bool(session.info.pop(QUEUED, False))


def outbox_key(*parts: object) -> str:
    """The unique key of one fact to one recipient: (stay, kind, due date, recipient, ...)."""
    return ":".join(str(part) for part in parts)[:300]


class OutboxFields(TypedDict, total=False):
    """What queues one card: the key (once per key), what to render, when and for whom."""

    key: Required[str]
    kind: Required[str]
    template: Required[str]
    payload: Required[dict[str, Any]]
    due_at: Required[datetime]
    recipient_staff_id: int | None
    conversation_ref_id: int | None
    stay_id: int | None
    unit_id: int | None


async def enqueue(session: AsyncSession, **fields: Unpack[OutboxFields]) -> bool:
    """Queue a card for delivery; a key already queued is left alone. True when queued now."""
    message = OutboxMessage(**outbox_row(**fields))
    added = await OutboxRepository(session).add_once(message)
    if added:
        session.info[QUEUED] = True
    return added


def outbox_row(**fields: Unpack[OutboxFields]) -> dict[str, Any]:
    """The row ``enqueue`` writes, as plain values, for ``enqueue_many``."""
    row: dict[str, Any] = {
        "recipient_staff_id": None,
        "conversation_ref_id": None,
        "stay_id": None,
        "unit_id": None,
        **fields,
    }
    row.update(
        status=OutboxStatus.PENDING.value,
        next_attempt_at=fields["due_at"],
        attempts=0,
        created_at=utcnow(),
    )
    return row


async def enqueue_many(session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> int:
    """Queue many cards at once (``outbox_row``s); keys already queued are left alone.

    Returns how many were queued now. Same guarantee as ``enqueue``: once per key.
    """
    added = await OutboxRepository(session).add_many_once(rows)
    if added:
        session.info[QUEUED] = True
    return added
