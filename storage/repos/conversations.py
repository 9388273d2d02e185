"""Conversation references: where proactive messages can be delivered."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import bindparam, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import ConversationKind, ConversationRef, utcnow

# Read on every turn: built once.
_BY_CONVERSATION_ID = select(ConversationRef).where(
    col(ConversationRef.conversation_id) == bindparam("conversation_id")
)


class ConversationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_conversation_id(self, conversation_id: str) -> ConversationRef | None:
        params = {"conversation_id": conversation_id}
        return (await self.session.exec(_BY_CONVERSATION_ID, params=params)).first()

    async def save(
        self,
        *,
        conversation_id: str,
        kind: ConversationKind,
        service_url: str,
        reference: dict[str, Any],
        tenant_id: str | None,
        staff_id: int | None = None,
        team_id: str | None = None,
        channel_id: str = "msteams",
    ) -> ConversationRef:
        """Insert or refresh a reference; service URL and active flag follow the latest activity."""
        ref, _ = await self.upsert(
            conversation_id=conversation_id,
            kind=kind,
            service_url=service_url,
            reference=reference,
            tenant_id=tenant_id,
            staff_id=staff_id,
            team_id=team_id,
            channel_id=channel_id,
        )
        return ref

    async def upsert(
        self,
        *,
        conversation_id: str,
        kind: ConversationKind,
        service_url: str,
        reference: dict[str, Any] | Callable[[], dict[str, Any]],
        tenant_id: str | None,
        staff_id: int | None = None,
        team_id: str | None = None,
        channel_id: str = "msteams",
    ) -> tuple[ConversationRef, bool]:
        """``save``, also telling whether the reference is new or was inactive (the person has
        just opened or reinstalled Korttid), so messages waiting for them can go.

        ``reference`` may be a function that builds it: called only when something is written."""
        ref = await self.by_conversation_id(conversation_id)
        opened = ref is None or not ref.active
        if ref is None:
            ref = ConversationRef(
                conversation_id=conversation_id, kind=kind, service_url=service_url
            )
        elif (
            ref.active
            and ref.service_url == service_url
            and (staff_id is None or ref.staff_id == staff_id)
            and (tenant_id is None or ref.tenant_id == tenant_id)
        ):
            return ref, False  # nothing changed: no write on the hot path
        opened = opened or (staff_id is not None and ref.staff_id != staff_id)
        ref.kind = kind
        ref.service_url = service_url
        ref.reference = reference() if callable(reference) else reference
        ref.tenant_id = tenant_id or ref.tenant_id
        ref.staff_id = staff_id if staff_id is not None else ref.staff_id
        ref.team_id = team_id or ref.team_id
        ref.channel_id = channel_id
        ref.active = True
        ref.updated_at = utcnow()
        self.session.add(ref)
        await self.session.flush()
        return ref, opened

    async def link_unit(self, ref: ConversationRef, unit_id: int) -> None:
        ref.unit_id = unit_id
        ref.updated_at = utcnow()
        self.session.add(ref)
        await self.session.flush()

    async def mark_inactive(self, conversation_id: str) -> None:
        await self.session.exec(
            update(ConversationRef)
            .where(col(ConversationRef.conversation_id) == conversation_id)
            .values(active=False, updated_at=utcnow())
        )

    async def mark_team_inactive(self, team_id: str) -> None:
        await self.session.exec(
            update(ConversationRef)
            .where(col(ConversationRef.team_id) == team_id)
            .values(active=False, updated_at=utcnow())
        )

    async def personal_for_staff(self, staff_id: int) -> ConversationRef | None:
        result = await self.session.exec(
            select(ConversationRef)
            .where(
                ConversationRef.staff_id == staff_id,
                ConversationRef.kind == ConversationKind.PERSONAL,
                col(ConversationRef.active),
            )
            .order_by(col(ConversationRef.updated_at).desc())
        )
        return result.first()

    async def channels_for_unit(self, unit_id: int) -> Sequence[ConversationRef]:
        result = await self.session.exec(
            select(ConversationRef).where(
                ConversationRef.unit_id == unit_id,
                ConversationRef.kind == ConversationKind.CHANNEL,
                col(ConversationRef.active),
            )
        )
        return result.all()

    async def without_personal_chat(self, staff_ids: Sequence[int]) -> set[int]:
        """Of these people, those with no personal conversation with Korttid yet."""
        wanted = sorted(set(staff_ids))
        if not wanted:
            return set()
        result = await self.session.exec(
            select(ConversationRef.staff_id).where(
                col(ConversationRef.staff_id).in_(wanted),
                ConversationRef.kind == ConversationKind.PERSONAL,
                col(ConversationRef.active),
            )
        )
        reachable = {int(staff_id) for staff_id in result.all() if staff_id is not None}
        return set(wanted) - reachable
