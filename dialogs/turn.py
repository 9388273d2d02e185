"""What a command handler or dialog step gets: the turn, its transaction, who is speaking."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from botbuilder.core import CardFactory, MessageFactory, TurnContext
from botbuilder.dialogs import DialogContext
from botbuilder.schema import Activity, ActivityTypes
from sqlmodel.ext.asyncio.session import AsyncSession

from notifications.render import CARD_CONTENT_TYPE, Renderer
from storage.domain.clock import Clock
from storage.models import ConversationRef
from storage.repos.audit import AuditRepository
from storage.repos.staff import StaffProfile

TURN_KEY = "korttid.turn"
LIVE_CARD_KEY = "korttid.live_card"
MESSAGE_CONTENT_TYPE = "application/vnd.microsoft.activity.message"


@dataclass(frozen=True, slots=True)
class LiveCard:
    """A conversation's one live card (issue 16): after the turn is saved, the bot updates the
    message ``activity_id`` in place, or posts it and keeps the new message's id."""

    conversation_id: str
    meeting_id: int
    activity: Activity
    activity_id: str | None


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

    @property
    def is_press(self) -> bool:
        """An Action.Execute press: answered in the invoke response, not with new messages."""
        return bool(self.context.activity.type == ActivityTypes.invoke)

    @property
    def conversation_id(self) -> str:
        return str(self.context.activity.conversation.id).split(";messageid=", 1)[0]

    def show_live_card(
        self, meeting_id: int, activity_id: str | None, template: str, /, **values: Any
    ) -> None:
        """Show the card in place: the press's answer, else the message the bot updates."""
        activity = self.card_activity(template, **values)
        if self.is_press:
            card = activity.attachments[0].content
            self._answer_press({"statusCode": 200, "type": CARD_CONTENT_TYPE, "value": card})
        live = LiveCard(self.conversation_id, meeting_id, activity, activity_id)
        self.context.turn_state[LIVE_CARD_KEY] = live

    async def say_private(self, key: str, **values: Any) -> None:
        """Only for the person who pressed: the invoke answer; typed, an ordinary reply."""
        await self.say_private_text(self.renderer.text(key, **values))

    async def say_private_text(self, text: str) -> None:
        if self.is_press:
            self._answer_press({"statusCode": 200, "type": MESSAGE_CONTENT_TYPE, "value": text})
            self.context.turn_state.pop(LIVE_CARD_KEY, None)
            return
        await self.say_text(text)

    def show_private_card(self, template: str, /, **values: Any) -> bool:
        """A press answered with a card only its presser sees (e.g. their form sent back to be
        fixed); the conversation's live card stays as it is. False when this is no press."""
        if not self.is_press:
            return False
        card = self.card_activity(template, **values).attachments[0].content
        self._answer_press({"statusCode": 200, "type": CARD_CONTENT_TYPE, "value": card})
        self.context.turn_state.pop(LIVE_CARD_KEY, None)
        return True

    @property
    def press_answer(self) -> dict[str, Any] | None:
        """The invoke answer this turn set for a press (a card or a private message), if any."""
        body = self.extras.get("press_answered")
        return body if isinstance(body, dict) else None

    def _answer_press(self, body: dict[str, Any]) -> None:
        self.extras["press_answered"] = body

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
