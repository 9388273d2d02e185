"""Writing to the outbox: every message Korttid sends goes through here, once per key."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import OutboxMessage
from storage.repos.outbox import OutboxRepository


def outbox_key(*parts: object) -> str:
    """The unique key of one fact to one recipient: (stay, kind, due date, recipient, ...)."""
    return ":".join(str(part) for part in parts)[:300]


async def enqueue(
    session: AsyncSession,
    *,
    key: str,
    kind: str,
    template: str,
    payload: dict[str, Any],
    due_at: datetime,
    recipient_staff_id: int | None = None,
    conversation_ref_id: int | None = None,
    stay_id: int | None = None,
    unit_id: int | None = None,
) -> bool:
    """Queue a card for delivery; a key already queued is left alone. True when queued now."""
    message = OutboxMessage(
        key=key,
        kind=kind,
        template=template,
        payload=payload,
        due_at=due_at,
        next_attempt_at=due_at,
        recipient_staff_id=recipient_staff_id,
        conversation_ref_id=conversation_ref_id,
        stay_id=stay_id,
        unit_id=unit_id,
    )
    return await OutboxRepository(session).add_once(message)
