"""Who receives the weekly digest: unit managers with their units, and the steering group."""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import ConversationRef, Role, Staff, StaffRole, StaffUnit


class DigestRecipientRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def unit_managers(self) -> dict[int, list[int]]:
        """Active enhetschefer and the ids of their units: {staff id: [unit id, ...]}."""
        result = await self.session.exec(
            select(Staff.id, StaffUnit.unit_id)
            .join(StaffRole, col(StaffRole.staff_id) == Staff.id)
            .join(StaffUnit, col(StaffUnit.staff_id) == Staff.id)
            .where(StaffRole.role == Role.ENHETSCHEF, col(Staff.active))
            .order_by(col(Staff.id), col(StaffUnit.unit_id))
        )
        managers: dict[int, list[int]] = {}
        for staff_id, unit_id in result.all():
            assert staff_id is not None
            managers.setdefault(staff_id, []).append(unit_id)
        return managers

    async def conversation(self, reference: str) -> ConversationRef | None:
        """An active conversation by its Teams conversation id, or by our own row id."""
        result = await self.session.exec(
            select(ConversationRef).where(
                ConversationRef.conversation_id == reference, col(ConversationRef.active)
            )
        )
        found = result.first()
        if found is None and reference.isdigit():
            by_id = await self.session.get(ConversationRef, int(reference))
            found = by_id if by_id is not None and by_id.active else None
        return found
