"""The live meeting card of each conversation (issue 16): which message to update."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import MeetingCard, utcnow


class MeetingCardRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def for_conversation(self, conversation_id: str) -> MeetingCard | None:
        return await self.session.get(MeetingCard, conversation_id)

    async def open_in(
        self, conversation_id: str, meeting_id: int, *, shared: bool, member_ids: Sequence[str]
    ) -> MeetingCard:
        """The conversation now shows this meeting; its card message is posted anew."""
        card = await self.for_conversation(conversation_id)
        if card is None:
            card = MeetingCard(conversation_id=conversation_id, meeting_id=meeting_id)
        card.meeting_id = meeting_id
        card.activity_id = None
        card.shared = shared
        card.blocked = False
        card.member_ids = list(member_ids)
        return await self._save(card)

    async def remember_activity(
        self, conversation_id: str, meeting_id: int, activity_id: str
    ) -> None:
        """The card's message was posted: later turns update it in place."""
        card = await self.for_conversation(conversation_id)
        if card is None:
            card = MeetingCard(conversation_id=conversation_id, meeting_id=meeting_id)
        if card.meeting_id != meeting_id:
            return  # another meeting was opened here meanwhile; its card wins
        card.activity_id = activity_id
        await self._save(card)

    async def block(self, conversation_id: str) -> MeetingCard | None:
        card = await self.for_conversation(conversation_id)
        if card is not None and not card.blocked:
            card.blocked = True
            await self._save(card)
        return card

    async def _save(self, card: MeetingCard) -> MeetingCard:
        card.updated_at = utcnow()
        self.session.add(card)
        await self.session.flush()
        return card
