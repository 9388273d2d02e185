"""Who Korttid should install itself for: registered staff with a message waiting and no chat."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, exists, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import ConversationRef, OutboxMessage, OutboxStatus, Staff


@dataclass(frozen=True)
class InstallTarget:
    staff_id: int
    # Graph addresses a user by object id or user principal name; the email stands in for the
    # latter until the person's object id is known.
    user: str


class AppInstallRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def due(self, tried_before: datetime, most: int) -> list[InstallTarget]:
        """Active staff with a waiting message, no active personal conversation, and no install
        attempt since ``tried_before``."""
        waiting = exists().where(
            col(OutboxMessage.recipient_staff_id) == col(Staff.id),
            col(OutboxMessage.status) == OutboxStatus.WAITING,
        )
        return await self._unreached(tried_before, waiting, most)

    async def unreached(self, emails: Sequence[str], tried_before: datetime) -> list[InstallTarget]:
        """Of these staff (just imported), those with no conversation and no recent attempt."""
        return await self._unreached(tried_before, col(Staff.email).in_(emails), len(emails))

    async def _unreached(
        self, tried_before: datetime, which: ColumnElement[bool], most: int
    ) -> list[InstallTarget]:
        chat = exists().where(
            col(ConversationRef.staff_id) == col(Staff.id),
            col(ConversationRef.kind) == "personal",
            col(ConversationRef.active),
        )
        result = await self.session.exec(
            select(Staff.id, Staff.aad_object_id, Staff.email)
            .where(
                col(Staff.active),
                which,
                ~chat,
                or_(
                    col(Staff.app_install_at).is_(None),
                    col(Staff.app_install_at) < tried_before,
                ),
            )
            .order_by(col(Staff.id))
            .limit(most)
        )
        return [
            InstallTarget(staff_id, aad or email)
            for staff_id, aad, email in result.all()
            if staff_id is not None
        ]

    async def record(self, staff_id: int, at: datetime, result: str) -> None:
        staff = await self.session.get(Staff, staff_id)
        if staff is not None:
            staff.app_install_at = at
            staff.app_install_result = result[:200]
            self.session.add(staff)
            await self.session.flush()
