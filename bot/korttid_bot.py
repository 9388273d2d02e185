"""The activity handler: one transaction per turn, identity, references, then routing."""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import Any

from botbuilder.core import ConversationState, InvokeResponse, MessageFactory, TurnContext
from botbuilder.dialogs import DialogSet
from botbuilder.schema import Activity, ActivityTypes, ChannelAccount, DeliveryModes
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.chat_posts import Batch, ChatPosts, is_answer
from bot.demo_personas import DemoPersonas
from bot.identity import recognise
from bot.turn_session import turn_transaction
from dialogs.commands import GROUP, PERSONAL, TEAM
from dialogs.meeting.shared import press_as_submit, recheck_members
from dialogs.router import route_invoke, route_message
from dialogs.turn import LIVE_CARD_KEY, TURN_KEY, LiveCard, Turn
from dialogs.waits import PAYMENT_POLICY_KEY
from notifications.dispatcher import EXPIRED_WAITING
from notifications.outbox import queued_in
from notifications.render import Renderer
from storage.domain.clock import Clock
from storage.domain.payment import PaymentPolicy
from storage.models import ConversationKind, ConversationRef
from storage.repos.activities import GREETING_PREFIX, InboundActivityRepository
from storage.repos.conversations import ConversationRepository
from storage.repos.delivery import DeliveryRepository
from storage.repos.meeting_cards import MeetingCardRepository
from storage.repos.staff import StaffProfile, StaffRepository
from storage.repos.state import ETagConflict
from storage.repos.units import UnitRepository

log = logging.getLogger(__name__)

TURN_ATTEMPTS = 4  # of n turns at once, one can lose n - 1 races

# Set in a turn's state when it released messages that waited for its person.
_RELEASED = "korttid.waiting_released"

# installationUpdate actions; the -upgrade forms come when an app upgrade adds or drops the bot.
_ADD_ACTIONS = frozenset({"add", "add-upgrade"})
_REMOVE_ACTIONS = frozenset({"remove", "remove-upgrade"})

_HANDLED = {
    ActivityTypes.message,
    ActivityTypes.conversation_update,
    ActivityTypes.installation_update,
    ActivityTypes.invoke,
}


@dataclass(frozen=True, slots=True)
class BotDeps:
    sessions: async_sessionmaker[AsyncSession]
    conversation_state: ConversationState
    dialogs: DialogSet
    renderer: Renderer
    clock: Clock
    admin_contact: str
    payment_policy: PaymentPolicy = field(default_factory=PaymentPolicy)  # issue 4: waits
    # issue 15: called once a turn that queued outbox rows has committed (delivery at once)
    outbox_queued: Callable[[], None] | None = None
    # Called after a turn that released messages waiting for its person has committed.
    deliver_waiting: Callable[[int], None] = lambda staff_id: None
    # Dev mode only (the Agents Playground plays one user): `demo som …` switches who acts.
    personas: DemoPersonas | None = None
    # issue 16: what a press sends besides its answer goes after the answer (None: within it)
    chat_posts: ChatPosts | None = None


class KorttidBot:
    def __init__(self, deps: BotDeps) -> None:
        self.deps = deps

    async def on_turn(self, context: TurnContext) -> None:
        activity = context.activity
        if activity.type not in _HANDLED:
            return
        chat_posts = self.deps.chat_posts
        with chat_posts.turn_in_progress() if chat_posts else contextlib.nullcontext():
            await self._attempts(context)

    async def _attempts(self, context: TurnContext) -> None:
        for attempt in range(1, TURN_ATTEMPTS + 1):
            try:
                await self._run_turn(context)
                return
            except Exception as error:
                if attempt < TURN_ATTEMPTS and _worth_another_attempt(error):
                    # Another turn of this conversation committed first (a second instance, or
                    # two quick messages), or the database had dropped the connection: run this
                    # one again on the state as it is now.
                    log.info("turn retried (%s), attempt=%s", type(error).__name__, attempt)
                    await self.deps.conversation_state.load(context, force=True)
                    continue
                await self._apologise(context)
                return

    async def _run_turn(self, context: TurnContext) -> None:
        """One attempt: the replies wait until the dialog state is saved, so an attempt that
        loses the eTag race has said nothing, and its retry does not say things twice."""
        context.turn_state.pop(LIVE_CARD_KEY, None)
        later: Batch | None = None
        async with self._turn_write() as session:
            with _replies_held(context) as replies:
                if not await self._first_delivery(session, context.activity):
                    log.info("duplicate activity ignored")
                    return
                await self._dispatch(context, session)
                await self._save_state(context)
            later = await self._hold_for_after_answer(context, session, replies)
            # A caller that asked for expectReplies gets them in the HTTP answer instead.
            if replies and context.activity.delivery_mode != DeliveryModes.expect_replies:
                await self._send_saved_replies(context, list(replies))
        if later is not None and self.deps.chat_posts is not None:
            self.deps.chat_posts.send_soon(later)  # committed: the chat sees it just after
        live = context.turn_state.get(LIVE_CARD_KEY)
        if isinstance(live, LiveCard):
            await self._deliver_live_card(context, live)
        if queued_in(session) and self.deps.outbox_queued is not None:
            self.deps.outbox_queued()  # committed: what the turn queued can go now
        released = context.turn_state.get(_RELEASED)
        if isinstance(released, int):
            self.deps.deliver_waiting(released)  # committed: what waited for them goes now

    @asynccontextmanager
    async def _turn_write(self) -> AsyncIterator[AsyncSession]:
        """The turn's transaction; it also deletes the chat posts that went since the last one
        (a statement in a write the turn makes anyway), or gives them back when it fails."""
        chat_posts = self.deps.chat_posts
        carried = chat_posts.carry_finished() if chat_posts is not None else []
        try:
            async with turn_transaction(self.deps.sessions) as session:
                if chat_posts is not None:
                    await chat_posts.delete_carried(session, carried)
                yield session
        except BaseException:
            if chat_posts is not None:
                chat_posts.give_back(carried)
            raise

    async def _hold_for_after_answer(
        self, context: TurnContext, session: AsyncSession, replies: list[Activity]
    ) -> Batch | None:
        """A press is answered first: the lines and the card update the others see are saved
        in this transaction and sent after the answer (issue 16). A card never posted before
        (no message to update) keeps the old way: its new message's id must be kept."""
        chat_posts = self.deps.chat_posts
        activity = context.activity
        if chat_posts is None or activity.type != ActivityTypes.invoke:
            return None
        if activity.delivery_mode == DeliveryModes.expect_replies:
            return None  # the caller gets every reply in the HTTP answer
        live = context.turn_state.get(LIVE_CARD_KEY)
        card: Activity | None = None
        if isinstance(live, LiveCard):
            target = live.activity_id or context.activity.reply_to_id
            if not target:
                return None
            if target != live.activity_id:  # the pressed card is the one to update from now on
                await MeetingCardRepository(session).remember_activity(
                    live.conversation_id, live.meeting_id, target
                )
            card = live.activity
            card.id = target
            context.turn_state.pop(LIVE_CARD_KEY, None)
        posts = [reply for reply in replies if not is_answer(reply)]
        if not posts and card is None:
            return None
        replies[:] = [reply for reply in replies if is_answer(reply)]
        return chat_posts.hold(session, context, posts, card)

    async def _deliver_live_card(self, context: TurnContext, live: LiveCard) -> None:
        """After the save: update the conversation's one meeting card, or post it and keep its
        id, so that every later turn (typed, pressed, on any instance) updates that message."""
        activity = live.activity
        target = live.activity_id
        if target is None and context.activity.type == ActivityTypes.invoke:
            target = context.activity.reply_to_id  # the card that was pressed
        try:
            if target:
                activity.id = target
                await context.update_activity(activity)
            else:
                target = (await context.send_activity(activity)).id
        except Exception as error:
            log.warning("live card not delivered: %s", type(error).__name__)
            return
        if target and target != live.activity_id:
            async with turn_transaction(self.deps.sessions) as session:
                await MeetingCardRepository(session).remember_activity(
                    live.conversation_id, live.meeting_id, target
                )

    async def _send_saved_replies(self, context: TurnContext, replies: list[Activity]) -> None:
        """The turn is saved: a reply that cannot be sent now must not end in the apology, which
        says nothing was saved (the person would then do the step again)."""
        try:
            # Straight to the adapter: the context already stamped and copied them when
            # they were held, and going through it again would deep-copy them once more.
            await context.adapter.send_activities(context, replies)
        except Exception as error:
            log.warning("reply not delivered after the turn was saved: %s", type(error).__name__)

    async def _save_state(self, context: TurnContext) -> None:
        """Saved on every turn that read it, changed or not. The eTag check then puts the turns
        of one conversation in order: of two at once (two instances, a double click on "Nästa")
        the later one is run again from the state the first left, instead of both acting on the
        same meeting step. Turns that never read it (strangers, installs) write nothing."""
        state = self.deps.conversation_state
        await state.save_changes(context, force=state.get_cached_state(context) is not None)

    async def _first_delivery(self, session: AsyncSession, activity: Activity) -> bool:
        if not activity.id:
            return True
        conversation_id = activity.conversation.id if activity.conversation else ""
        key = f"{conversation_id}|{activity.id}"[:400]
        return await InboundActivityRepository(session).claim(key)

    async def _dispatch(self, context: TurnContext, session: AsyncSession) -> None:
        activity = context.activity
        if activity.type == ActivityTypes.message or activity.type == ActivityTypes.invoke:
            await self._on_message(context, session)
        else:
            await self._on_membership(context, session)

    async def _on_message(self, context: TurnContext, session: AsyncSession) -> None:
        staff = StaffRepository(session)
        real = await recognise(context, staff)
        if real is None:
            await context.send_activity(
                MessageFactory.text(
                    self.deps.renderer.text("not_registered", contact=self.deps.admin_contact)
                )
            )
            return
        conversation, opened = await save_reference(context, session, real.id)
        if opened and conversation.kind == ConversationKind.PERSONAL:
            await self._release_waiting(context, session, real.id)
        if context.activity.text:
            context.activity.text = TurnContext.remove_recipient_mention(context.activity)
        profile = await self._persona(context, staff, real)
        if profile is None:
            return
        turn = Turn(
            context=context,
            session=session,
            profile=profile,
            renderer=self.deps.renderer,
            clock=self.deps.clock,
            scope=_scope(context.activity),
            conversation=conversation,
        )
        turn.extras[PAYMENT_POLICY_KEY] = self.deps.payment_policy
        context.turn_state[TURN_KEY] = turn
        if press_as_submit(context.activity):
            # A meeting card's Action.Execute runs through the meeting dialog like a submit.
            await route_message(turn, self.deps.dialogs)
            await _answer_press(turn)
            return
        if context.activity.type == ActivityTypes.invoke:
            await route_invoke(turn)  # Action.Execute: answered in the HTTP response
            return
        await route_message(turn, self.deps.dialogs)

    async def _persona(
        self, context: TurnContext, staff: StaffRepository, real: StaffProfile
    ) -> StaffProfile | None:
        """Dev mode's demo switch: who this turn acts as; None when the turn was the switch."""
        personas = self.deps.personas
        if personas is None:
            return real
        who = personas.asked(context.activity.text)
        if who is None:
            return await personas.acting_as(real, staff)
        switch = await personas.switch(real, who, staff)
        values = dict(switch.values)
        if "role" in values:
            values["role"] = self.deps.renderer.role_name(values["role"]).lower()
        await context.send_activity(
            MessageFactory.text(self.deps.renderer.text(switch.key, **values))
        )
        return None

    async def _on_membership(self, context: TurnContext, session: AsyncSession) -> None:
        """Installation and removal: greet once, remember or retire the conversation."""
        activity = context.activity
        bot_id = activity.recipient.id if activity.recipient else None
        removed = _bot_in(activity.members_removed, bot_id) or activity.action in _REMOVE_ACTIONS
        added = _bot_in(activity.members_added, bot_id) or activity.action in _ADD_ACTIONS
        conversations = ConversationRepository(session)
        if removed:
            await _retire(context, conversations)
            return
        if not added:
            if activity.members_added and _scope(activity) == GROUP:
                await recheck_members(context, session, self.deps.renderer)
            return
        profile = await _maybe_recognise(context, session) if _scope(activity) == PERSONAL else None
        conversation_id = _conversation_id(activity)
        if profile is not None:
            ref, _ = await save_reference(context, session, profile.id)
            if ref.kind == ConversationKind.PERSONAL:  # personal messages go to this chat
                await self._release_waiting(context, session, profile.id)
        elif activity.conversation.conversation_type != "personal":
            await save_reference(context, session, None)
        # else: a stranger's personal chat is not remembered (nothing may be sent to it).
        # Teams sends both conversationUpdate and installationUpdate for one install, often at
        # once: a unique row per conversation makes the greeting happen once.
        if await InboundActivityRepository(session).claim(_greeting_key(conversation_id)):
            await self._greet(context, session, profile)

    async def _release_waiting(
        self, context: TurnContext, session: AsyncSession, staff_id: int
    ) -> None:
        """The person can be reached now: messages that waited for them are due at once."""
        released = await DeliveryRepository(session).release_waiting(
            staff_id, self.deps.clock.now(), EXPIRED_WAITING
        )
        if released:
            log.info("%s waiting messages released for staff_id=%s", released, staff_id)
            context.turn_state[_RELEASED] = staff_id

    async def _greet(
        self, context: TurnContext, session: AsyncSession, profile: StaffProfile | None
    ) -> None:
        units = await UnitRepository(session).all()
        example = units[0].code if units else "ENHET"
        renderer = self.deps.renderer
        if _scope(context.activity) in (TEAM, GROUP):
            key = "welcome_team" if _scope(context.activity) == TEAM else "welcome_group"
            await context.send_activity(MessageFactory.text(renderer.text(key, example=example)))
            return
        if profile is None:
            text = renderer.text("welcome_personal_unknown", contact=self.deps.admin_contact)
            await context.send_activity(MessageFactory.text(text))
            return
        turn = Turn(context, session, profile, renderer, self.deps.clock, PERSONAL)
        from dialogs.basic import show_help

        await show_help(turn)

    async def _apologise(self, context: TurnContext) -> None:
        correlation_id = uuid.uuid4().hex[:8]
        log.exception(
            "turn failed correlation_id=%s type=%s", correlation_id, context.activity.type
        )
        if context.activity.type not in (ActivityTypes.message, ActivityTypes.invoke):
            return
        text = self.deps.renderer.text("apology", correlation_id=correlation_id)
        try:
            if context.activity.type == ActivityTypes.invoke:
                # Replaces any card answer given before the transaction failed: nothing was saved.
                await context.send_activity(invoke_message(text))
            await context.send_activity(MessageFactory.text(text))
        except Exception:
            log.warning("could not send apology correlation_id=%s", correlation_id)


@contextmanager
def _replies_held(context: TurnContext) -> Iterator[list[Activity]]:
    """Collect what the turn sends instead of sending it (the SDK's expectReplies buffer)."""
    mode = context.activity.delivery_mode
    context.buffered_reply_activities.clear()
    context.activity.delivery_mode = DeliveryModes.expect_replies
    try:
        yield context.buffered_reply_activities
    finally:
        context.activity.delivery_mode = mode


def _worth_another_attempt(error: Exception) -> bool:
    """What a fresh attempt resolves: the eTag check, SQLite's writer lock, or a database
    connection the server had dropped (the pool has let it go). A turn whose commit went through
    before the connection was lost is not done twice: its activity id is claimed already."""
    if isinstance(error, ETagConflict):
        return True
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, OperationalError) and "database is locked" in str(error)


def invoke_message(text: str) -> Activity:
    """An invoke answer that shows a message instead of a refreshed card."""
    body = {"statusCode": 200, "type": "application/vnd.microsoft.activity.message", "value": text}
    return Activity(type=ActivityTypes.invoke_response, value=InvokeResponse(status=200, body=body))


async def _answer_press(turn: Turn) -> None:
    """A meeting press always gets an invoke answer: the card, or a short private message."""
    body = turn.press_answer
    if body is None:
        text = turn.renderer.text("meeting_press_done")
        body = {"statusCode": 200, "type": "application/vnd.microsoft.activity.message"}
        body["value"] = text
    await turn.context.send_activity(
        Activity(type=ActivityTypes.invoke_response, value=InvokeResponse(status=200, body=body))
    )


def _scope(activity: Activity) -> str:
    conversation_type = activity.conversation.conversation_type if activity.conversation else None
    if conversation_type == "groupChat":
        return GROUP
    return TEAM if conversation_type == "channel" else PERSONAL


def _bot_in(members: list[ChannelAccount] | None, bot_id: str | None) -> bool:
    return bool(members) and any(m.id == bot_id for m in members or [])


def _channel_data(activity: Activity) -> dict[str, Any]:
    data = activity.channel_data
    return data if isinstance(data, dict) else {}


def tenant_of(activity: Activity) -> str | None:
    """Teams sends the tenant in channel data; the SDK drops ``conversation.tenantId``."""
    tenant = _channel_data(activity).get("tenant")
    if isinstance(tenant, dict) and tenant.get("id"):
        return str(tenant["id"])
    conversation = activity.conversation
    return getattr(conversation, "tenant_id", None) if conversation else None


def team_of(activity: Activity) -> str | None:
    team = _channel_data(activity).get("team")
    return str(team["id"]) if isinstance(team, dict) and team.get("id") else None


async def save_reference(
    context: TurnContext, session: AsyncSession, staff_id: int | None
) -> tuple[ConversationRef, bool]:
    """Remember where to reach this conversation; True when it is new or was inactive."""
    activity = context.activity
    tenant_id = tenant_of(activity)
    kind = ConversationKind.CHANNEL if _scope(activity) == TEAM else ConversationKind.PERSONAL
    if activity.conversation.conversation_type == "groupChat":
        kind = ConversationKind.GROUP
    conversation_id = _conversation_id(activity)

    def reference() -> dict[str, Any]:  # serialized only when it is written (seldom)
        serialized: dict[str, Any] = TurnContext.get_conversation_reference(activity).serialize()
        conversation = serialized.setdefault("conversation", {})
        if tenant_id:
            conversation["tenantId"] = tenant_id
        conversation["id"] = conversation_id
        return serialized

    return await ConversationRepository(session).upsert(
        conversation_id=conversation_id,
        kind=kind,
        service_url=activity.service_url,
        reference=reference,
        tenant_id=tenant_id,
        staff_id=staff_id if kind == ConversationKind.PERSONAL else None,
        team_id=team_of(activity),
        channel_id=activity.channel_id or "msteams",
    )


def _conversation_id(activity: Activity) -> str:
    """In a channel, a message's conversation id names its thread (";messageid=..."); a
    proactive message to the unit's channel must start a new post, so keep the channel's id."""
    return str(activity.conversation.id).split(";messageid=", 1)[0]


def _greeting_key(conversation_id: str) -> str:
    return f"{GREETING_PREFIX}{conversation_id}"[:400]


async def _retire(context: TurnContext, conversations: ConversationRepository) -> None:
    team_id = team_of(context.activity)
    if team_id:
        await conversations.mark_team_inactive(team_id)
    conversation_id = _conversation_id(context.activity)
    await conversations.mark_inactive(conversation_id)
    # Installed again later, the app greets again.
    await InboundActivityRepository(conversations.session).forget(_greeting_key(conversation_id))


async def _maybe_recognise(context: TurnContext, session: AsyncSession) -> StaffProfile | None:
    return await recognise(context, StaffRepository(session))
