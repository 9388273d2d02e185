"""The audit log: who did what to which stay, and when."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import NO_AUTOFLUSH, table_of
from storage.domain.pnr import redact_personal_numbers
from storage.models import AuditEvent, utcnow

# Built once (most turns write an event); inline: the new row's id is not read back.
_RECORD = insert(table_of(AuditEvent)).inline()


class AuditRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def record(
        self,
        action: str,
        actor_staff_id: int | None,
        *,
        stay_id: int | None = None,
        unit_id: int | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        # One INSERT, not an ORM object: nothing reads an event back in the turn that wrote it,
        # and the unit of work's bookkeeping cost more than the statement (issue 8).
        params = {
            "at": utcnow(),
            "action": action,
            "actor_staff_id": actor_staff_id,
            "stay_id": stay_id,
            "unit_id": unit_id,
            "detail": _redacted(detail or {}),
        }
        await self.session.exec(_RECORD, params=params, execution_options=NO_AUTOFLUSH)

    async def for_stay(self, stay_id: int) -> Sequence[AuditEvent]:
        result = await self.session.exec(
            select(AuditEvent).where(AuditEvent.stay_id == stay_id).order_by(col(AuditEvent.id))
        )
        return result.all()


def _redacted(value: Any) -> Any:
    """Details may quote what a card carried (a tampered id): never an identity number."""
    if isinstance(value, str):
        return redact_personal_numbers(value)
    if isinstance(value, dict):
        return {key: _redacted(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_redacted(item) for item in value]
    return value
