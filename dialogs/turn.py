"""What a command handler or dialog step gets: the turn, its transaction, who is speaking."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from botbuilder.core import CardFactory, MessageFactory, TurnContext
from botbuilder.dialogs import DialogContext
from botbuilder.schema import Activity
from sqlmodel.ext.asyncio.session import AsyncSession

from notifications.render import Renderer
from storage.domain.clock import Clock
from storage.models import ConversationRef
from storage.repos.audit import AuditRepository
from storage.repos.staff import StaffProfile

TURN_KEY = "korttid.turn"


@dataclass
class Turn:
    context: TurnContext
    session: AsyncSession
    profile: StaffProfile
    renderer: Renderer
    clock: Clock
    scope: str
    conversation: ConversationRef | None = None
    dialog_context: DialogContext | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    @staticmethod
    def of(context: TurnContext) -> Turn:
        turn: Turn = context.turn_state[TURN_KEY]
        return turn

    async def say(self, key: str, **values: Any) -> None:
        await self.context.send_activity(MessageFactory.text(self.renderer.text(key, **values)))

    async def say_text(self, text: str) -> None:
        await self.context.send_activity(MessageFactory.text(text))

    def card_activity(self, template: str, /, **values: Any) -> Activity:
        card = self.renderer.card(template, **values)
        activity: Activity = MessageFactory.attachment(CardFactory.adaptive_card(card))
        return activity

    async def show_card(self, template: str, /, **values: Any) -> None:
        await self.context.send_activity(self.card_activity(template, **values))

    async def audit(
        self,
        action: str,
        *,
        stay_id: int | None = None,
        unit_id: int | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        await AuditRepository(self.session).record(
            action, self.profile.id, stay_id=stay_id, unit_id=unit_id, detail=detail
        )
