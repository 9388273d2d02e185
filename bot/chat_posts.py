"""Answer first, then tell the chat (issue 16): what a press sends besides its invoke answer.

A press in a shared chat used to wait, before its invoke answer, for the message update of the
chat's live card (and any history line) to reach the connector. Now the turn writes those
messages as ``chat_post`` rows in its own transaction, commits, answers, and a task here sends
them right after: one conversation at a time, in row order, deleting the rows that went.

Nothing is lost when a send fails or the process stops after answering: the rows stay, due
``FIRST_RETRY`` after the turn (so a tick does not race the task that is sending them), and every
tick sends the rows that are due, with backoff. Like the outbox it is at least once at the
channel's edge; a card update is idempotent, and a newer card of the conversation makes its
older updates moot, so only the newest is sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from botbuilder.core import TurnContext
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import Activity, ActivityTypes, Attachment, ConversationReference
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.sender import as_send_failed
from bot.turn_session import turn_transaction
from notifications.dispatcher import GONE, SendFailed
from storage.domain.clock import Clock
from storage.models import ChatPost
from storage.repos.chat_posts import POST, UPDATE, ChatPostRepository
from storage.repos.conversations import ConversationRepository

log = logging.getLogger(__name__)

FIRST_RETRY = timedelta(seconds=30)  # a tick sends a row no sooner: the task has it until then
BACKOFF_CAP = timedelta(hours=1)
MAX_ATTEMPTS = 12
DUE_BATCH = 500
CLOSE_WAIT_SECONDS = 5.0
# Rows that went are deleted by the next turn's transaction, one statement in a write it makes
# anyway; only when no turn comes this soon, by a transaction of their own.
FINISH_WAIT_SECONDS = 1.0
# What the others see waits for the turns in progress to be answered (the presser waits for the
# answer; nobody waits for their copy of the card to the millisecond), but never longer than this.
YIELD_TO_TURNS_SECONDS = 0.25


@dataclass(frozen=True, slots=True)
class Queued:
    """One saved row: a history line to post, or the live card's new content."""

    row: ChatPost
    activity: Activity

    @property
    def id(self) -> int:
        assert self.row.id is not None, "read after the turn's commit"
        return self.row.id

    @property
    def kind(self) -> str:
        return self.row.kind


@dataclass
class Batch:
    """A conversation's rows, sent in order; through the turn's own context when it has one."""

    conversation_id: str
    rows: list[Queued] = field(default_factory=list)
    context: TurnContext | None = None
    reference: dict[str, Any] | None = None  # the stored conversation reference, for a tick
    attempts: int = 0

    @property
    def newest_update(self) -> int | None:
        return max((row.id for row in self.rows if row.kind == UPDATE), default=None)


@dataclass(frozen=True, slots=True)
class Finished:
    """Rows of one conversation that went, and its newest card that went (older ones are moot)."""

    conversation_id: str
    ids: list[int]
    update_id: int | None


class ChatPosts:
    def __init__(
        self,
        adapter: CloudAdapter,
        app_id: str,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
    ) -> None:
        self.adapter = adapter
        self.app_id = app_id  # must equal the configured MicrosoftAppId, as for BotSender
        self.sessions = sessions
        self.clock = clock
        self._lanes: dict[str, asyncio.Lock] = {}
        self._waiting: dict[str, int] = {}  # batches per conversation, sending or queued
        self._newest: dict[str, int] = {}  # the newest card update scheduled per conversation
        self._tasks: set[asyncio.Task[None]] = set()
        self._finished: list[Finished] = []
        self._finishing: asyncio.Task[None] | None = None
        self._finish_now = asyncio.Event()
        self._turns = 0  # turns in progress on this instance
        self._no_turns = asyncio.Event()
        self._no_turns.set()

    def hold(
        self,
        session: AsyncSession,
        context: TurnContext,
        posts: Sequence[Activity],
        card: Activity | None,
    ) -> Batch:
        """In the turn's transaction: the lines and the card update are saved with it, before
        the answer; the batch is sent (``send_soon``) once the transaction has committed.

        ``posts`` were stamped by the turn context already; ``card`` has its target's id."""
        conversation_id = _conversation_id(context.activity)
        repo = ChatPostRepository(session)
        batch = Batch(conversation_id, context=context)
        due = self.clock.now() + FIRST_RETRY
        reference = TurnContext.get_conversation_reference(context.activity)
        stamped = [(POST, post) for post in posts]
        if card is not None:
            stamped.append((UPDATE, TurnContext.apply_conversation_reference(card, reference)))
        for kind, activity in stamped:
            body = _body(activity)
            row = repo.add(
                conversation_id, kind, body, activity_id=activity.id, next_attempt_at=due
            )
            batch.rows.append(Queued(row, activity))
        return batch

    @contextlib.contextmanager
    def turn_in_progress(self) -> Iterator[None]:
        """Around every turn: sending waits while turns are in progress (see ``_in_lane``)."""
        self._turns += 1
        self._no_turns.clear()
        try:
            yield
        finally:
            self._turns -= 1
            if not self._turns:
                self._no_turns.set()

    def send_soon(self, batch: Batch) -> None:
        """After the commit: send in the background, behind this conversation's earlier rows."""
        newest = batch.newest_update
        if newest is not None:
            self._newest[batch.conversation_id] = max(
                newest, self._newest.get(batch.conversation_id, 0)
            )
        task = asyncio.get_running_loop().create_task(self._in_lane(batch))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def idle(self) -> None:
        """Until every batch sent so far is through and its rows are deleted (tests and the
        benchmark wait here)."""
        self._finish_now.set()
        try:
            while self._tasks:
                await asyncio.gather(*list(self._tasks), return_exceptions=True)
        finally:
            self._finish_now.clear()

    async def sent(self) -> None:
        """Until every batch so far has gone (or failed); its rows may wait to be deleted."""
        while pending := [task for task in self._tasks if task is not self._finishing]:
            await asyncio.gather(*pending, return_exceptions=True)

    def carry_finished(self) -> list[Finished]:
        """For a turn about to write: the rows that went, to delete in its transaction."""
        group, self._finished = self._finished, []
        return group

    async def delete_carried(self, session: AsyncSession, group: Sequence[Finished]) -> None:
        if group:
            await ChatPostRepository(session).done_in_all(
                [(done.conversation_id, done.ids, done.update_id) for done in group]
            )

    def give_back(self, group: Sequence[Finished]) -> None:
        """The carrying turn's transaction failed: the rows are deleted later, as if not taken."""
        if group:
            self._finished[:0] = group
            self._write_soon()

    async def close(self) -> None:
        """At shutdown: a moment for what is in flight; what is left, a tick sends later."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(CLOSE_WAIT_SECONDS):
                await self.idle()

    async def send_due_now(self) -> None:
        """The scheduler's job; a failure is logged, and the next tick tries again."""
        try:
            await self.send_due(self.clock.now())
        except Exception:
            log.exception("chat posts due were not sent; the next tick tries again")

    async def send_due(self, now: datetime) -> int:
        """A tick: send the rows that are due (a failed send, a process that stopped)."""
        async with turn_transaction(self.sessions) as session:
            repo = ChatPostRepository(session)
            rows = await repo.due(now, DUE_BATCH)
            # Leased: another instance's tick leaves them alone while these are being sent.
            for row in rows:
                row.next_attempt_at = now + FIRST_RETRY
            await session.flush()
            batches = _batches(rows)
            conversations = ConversationRepository(session)
            for batch in batches:
                ref = await conversations.by_conversation_id(batch.conversation_id)
                batch.reference = dict(ref.reference) if ref is not None else None
        for batch in batches:
            self.send_soon(batch)
        await self.idle()  # sent, and what went deleted
        return len(rows)

    async def _in_lane(self, batch: Batch) -> None:
        key = batch.conversation_id
        self._waiting[key] = self._waiting.get(key, 0) + 1
        lane = self._lanes.setdefault(key, asyncio.Lock())
        try:
            async with lane:
                await self._between_turns()
                await self._send(batch)
        except Exception:
            log.exception("chat posts not handled; a tick sends them")
        finally:
            self._waiting[key] -= 1
            if not self._waiting[key]:
                del self._waiting[key], self._lanes[key]
                self._newest.pop(key, None)

    async def _between_turns(self) -> None:
        """A press is answered before the chats are told of earlier ones: the event loop is one,
        and a send's work (its serialization, its HTTP) would otherwise delay the answers of the
        presses that arrive meanwhile."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(YIELD_TO_TURNS_SECONDS):
                await self._no_turns.wait()

    async def _send(self, batch: Batch) -> None:
        """The lines, then the newest card; the rows that went are deleted."""
        newest = self._newest.get(batch.conversation_id, 0)
        sent: list[int] = []
        try:
            for row in batch.rows:
                if row.kind == UPDATE and row.id < newest:
                    sent.append(row.id)  # a newer card of this chat is on its way
                    continue
                await self._deliver(batch, row)
                sent.append(row.id)
        except SendFailed as failure:
            await self._failed(batch, sent, failure)
            return
        self._finish(Finished(batch.conversation_id, sent, batch.newest_update))

    def _finish(self, finished: Finished) -> None:
        """Rows that went are deleted in groups: by the next turn, or after
        ``FINISH_WAIT_SECONDS`` in one write, so a busy chat costs the database no write of its
        own per press."""
        self._finished.append(finished)
        self._write_soon()

    def _write_soon(self) -> None:
        if self._finishing is None or self._finishing.done():
            self._finishing = asyncio.get_running_loop().create_task(self._write_finished())
            self._tasks.add(self._finishing)
            self._finishing.add_done_callback(self._tasks.discard)

    async def _write_finished(self) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(FINISH_WAIT_SECONDS):
                await self._finish_now.wait()
        while self._finished:
            group = self.carry_finished()
            try:
                async with turn_transaction(self.sessions) as session:
                    await self.delete_carried(session, group)
            except Exception:  # the rows stay: a tick sends them again (at least once)
                log.exception("sent chat posts not deleted: %s groups", len(group))

    async def _deliver(self, batch: Batch, row: Queued) -> None:
        if batch.context is not None:  # the turn's context: its connector client is at hand
            await _through(batch.context, row)
            return
        if batch.reference is None:  # the conversation is not known (any more)
            raise SendFailed(404, reason="no conversation reference")
        outcome: dict[str, BaseException] = {}

        async def callback(context: TurnContext) -> None:
            # The adapter's on_turn_error would swallow what is raised here: carry it out.
            try:
                await _through(context, row, stamped=False)
            except Exception as error:
                outcome["error"] = error

        try:
            reference = ConversationReference().deserialize(dict(batch.reference))
            await self.adapter.continue_conversation(reference, callback, self.app_id)
        except Exception as error:
            raise as_send_failed(error) from error
        if "error" in outcome:
            raise as_send_failed(outcome["error"]) from outcome["error"]

    async def _failed(self, batch: Batch, sent: list[int], failure: SendFailed) -> None:
        left = [row.id for row in batch.rows if row.id not in sent]
        attempts = batch.attempts + 1
        now = self.clock.now()
        async with turn_transaction(self.sessions) as session:
            repo = ChatPostRepository(session)
            await repo.done(batch.conversation_id, sent, None)
            if failure.status in GONE or attempts >= MAX_ATTEMPTS:
                log.error(
                    "chat posts dropped after %s attempts (%s): %s rows",
                    attempts,
                    failure.status or failure.reason,
                    len(left),
                )
                await repo.drop(left)
                return
            log.warning(
                "chat posts not sent (%s), attempt %s; a tick sends them again",
                failure.status or failure.reason,
                attempts,
            )
            await repo.retry_later(
                left,
                attempts=attempts,
                next_attempt_at=now + backoff(attempts),
                error=f"HTTP {failure.status}" if failure.status else failure.reason,
            )


async def _through(context: TurnContext, row: Queued, *, stamped: bool = True) -> None:
    """Send one row; a row saved by a tick's load is not stamped with its conversation yet."""
    try:
        if not stamped:
            reference = TurnContext.get_conversation_reference(context.activity)
            TurnContext.apply_conversation_reference(row.activity, reference)
        if row.kind == UPDATE:
            await context.adapter.update_activity(context, row.activity)
        else:
            await context.adapter.send_activities(context, [row.activity])
    except SendFailed:
        raise
    except Exception as error:
        raise as_send_failed(error) from error


def backoff(attempts: int) -> timedelta:
    step: timedelta = FIRST_RETRY * (2 ** max(attempts - 1, 0))
    return min(step, BACKOFF_CAP)


def _batches(rows: Sequence[ChatPost]) -> list[Batch]:
    """Saved rows as batches per conversation, in row order, with the attempts made so far."""
    batches: dict[str, Batch] = {}
    for row in rows:
        batch = batches.setdefault(row.conversation_id, Batch(row.conversation_id))
        batch.attempts = max(batch.attempts, row.attempts)
        batch.rows.append(Queued(row, _activity(row.body)))
    return list(batches.values())


def _body(activity: Activity) -> dict[str, Any]:
    """What a tick needs to send a saved activity again; where to is the conversation's stored
    reference. Plain values, so saving one costs no model serialization."""
    return {
        "type": activity.type,
        "id": activity.id,
        "text": activity.text,
        "replyToId": activity.reply_to_id,
        "attachments": [
            {"contentType": item.content_type, "content": item.content}
            for item in activity.attachments or []
        ],
    }


def _activity(body: dict[str, Any]) -> Activity:
    return Activity(
        type=body.get("type") or ActivityTypes.message,
        id=body.get("id"),
        text=body.get("text"),
        reply_to_id=body.get("replyToId"),
        attachments=[
            Attachment(content_type=item.get("contentType"), content=item.get("content"))
            for item in body.get("attachments") or []
        ]
        or None,
    )


def _conversation_id(activity: Activity) -> str:
    return str(activity.conversation.id).split(";messageid=", 1)[0]


def is_answer(activity: Activity) -> bool:
    return bool(activity.type == ActivityTypes.invoke_response)
