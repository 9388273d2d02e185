"""After a proactive message, a dialog waiting for an answer asks its question again
(issue 19, item 6): a nudge that lands in the middle of ``ny vistelse`` is followed by the
form's current question, so the conversation is never lost from view."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from botbuilder.core import ConversationState, TurnContext
from botbuilder.dialogs import DialogSet
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import Activity, ConversationReference, ResourceResponse
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.turn_session import turn_transaction
from dialogs.commands import PERSONAL
from dialogs.router import reprompt_active
from dialogs.turn import TURN_KEY, Turn
from notifications.render import Renderer
from storage.domain.clock import Clock
from storage.models import ConversationKind
from storage.repos.conversations import ConversationRepository
from storage.repos.staff import StaffRepository

log = logging.getLogger(__name__)

SendHandler = Callable[[], Awaitable[list[ResourceResponse]]]


@dataclass(frozen=True, slots=True)
class DialogReprompt:
    """The dispatcher's ``after_delivery``: in each personal conversation just sent to, the
    running dialog's question again. The dialog state is read, not saved: nothing changes."""

    adapter: CloudAdapter
    app_id: str
    sessions: async_sessionmaker[AsyncSession]
    conversation_state: ConversationState
    dialogs: DialogSet
    renderer: Renderer
    clock: Clock

    async def __call__(self, references: Sequence[Mapping[str, Any]]) -> None:
        for reference in references:
            try:
                await self.adapter.continue_conversation(
                    ConversationReference().deserialize(dict(reference)),
                    self._reprompt,
                    self.app_id,
                )
            except Exception as error:  # the nudge went; its follow-up question is a courtesy
                log.warning("dialog not reprompted after delivery: %s", type(error).__name__)

    async def _reprompt(self, context: TurnContext) -> None:
        conversation_id = str(context.activity.conversation.id)
        async with turn_transaction(self.sessions) as session:
            conversation = await ConversationRepository(session).by_conversation_id(conversation_id)
            if conversation is None or conversation.kind != ConversationKind.PERSONAL:
                return
            staff = await StaffRepository(session).by_id(conversation.staff_id or 0)
            if staff is None:
                return
            profile = await StaffRepository(session).profile(staff)
            turn = Turn(context, session, profile, self.renderer, self.clock, PERSONAL)
            turn.conversation = conversation
            context.turn_state[TURN_KEY] = turn
            _stamp_tenant(context, conversation.tenant_id)
            if await reprompt_active(turn, self.dialogs):
                log.info("dialog reprompted after delivery staff_id=%s", profile.id)


def _stamp_tenant(context: TurnContext, tenant_id: str | None) -> None:
    """Proactive sends carry the tenant in channel data, as ``BotSender`` does."""
    if not tenant_id:
        return

    async def stamp(
        _context: TurnContext, activities: list[Activity], send: SendHandler
    ) -> list[ResourceResponse]:
        for activity in activities:
            activity.channel_data = {**(activity.channel_data or {}), "tenant": {"id": tenant_id}}
        return await send()

    context.on_send_activities(stamp)
