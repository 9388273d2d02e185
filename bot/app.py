"""The composition root: ``create_app(settings)`` builds and wires everything, nothing at import."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import Activity
from botframework.connector.auth import AuthenticateRequestResult
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.adapter import CachingAuthentication, build_adapter, build_authentication
from bot.chat_posts import ChatPosts
from bot.demo_personas import DemoPersonas
from bot.graph_install import TokenSource, build_installer
from bot.korttid_bot import BotDeps, KorttidBot, team_of, tenant_of
from bot.notifier import WaitingDelivery, build_notifier, build_scheduler
from bot.reporting import tick_sources
from bot.reprompt import DialogReprompt
from bot.settings import Settings
from bot.state_storage import SqlStorage, TurnConversationState
from dialogs.router import build_dialog_set
from notifications.render import Renderer
from notifications.tick import Notifier, TickReport
from notifications.wake import DeliveryWaker
from storage import db
from storage.domain.clock import Clock, FixedClock

log = logging.getLogger(__name__)

SETTINGS = web.AppKey("settings", Settings)
ENGINE = web.AppKey("engine", AsyncEngine)
SESSIONS = web.AppKey("sessions", async_sessionmaker[AsyncSession])
AUTHENTICATION = web.AppKey("authentication", CachingAuthentication)
ADAPTER = web.AppKey("adapter", CloudAdapter)
BOT = web.AppKey("bot", KorttidBot)
RENDERER = web.AppKey("renderer", Renderer)
CLOCK = web.AppKey("clock", Clock)
NOTIFIER = web.AppKey("notifier", Notifier)
SCHEDULER = web.AppKey("scheduler", AsyncIOScheduler)
WAKER = web.AppKey("waker", DeliveryWaker)
WAITING_DELIVERY = web.AppKey("waiting_delivery", WaitingDelivery)
CHAT_POSTS = web.AppKey("chat_posts", ChatPosts)
CHAT_POSTS_JOB_ID = "korttid-chat-posts"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def create_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    migrate: bool = True,
    auth_overrides: dict[str, Any] | None = None,
    graph_token: TokenSource | None = None,
) -> web.Application:
    app = web.Application(
        client_max_size=settings.max_body_bytes, middlewares=[_errors_without_traces]
    )
    engine = db.create_engine(settings.database_url)
    sessions = db.session_factory(engine)
    renderer = Renderer()
    clock = clock or settings.make_clock()
    authentication = build_authentication(settings, **(auth_overrides or {}))
    adapter = build_adapter(authentication)
    conversation_state = TurnConversationState(SqlStorage(sessions))
    dialogs = build_dialog_set(conversation_state)
    sources = tick_sources(settings, renderer)
    reprompt = DialogReprompt(  # issue 19: a nudge never buries the question being asked
        adapter, settings.app_id, sessions, conversation_state, dialogs, renderer, clock
    )
    installer = build_installer(settings, graph_token)  # issue 18: None unless enabled
    notifier = build_notifier(
        sessions,
        renderer,
        adapter,
        settings.app_id,
        clock,
        sources,
        installer=installer,
        after_delivery=reprompt,
    )
    waker = DeliveryWaker(notifier.dispatcher, clock)  # issue 15: told means told, at once
    waiting = WaitingDelivery(notifier, clock)  # issue 18: what waited goes when they arrive
    chat_posts = build_chat_posts(adapter, settings, sessions, clock)  # issue 16: answer first
    bot = KorttidBot(
        BotDeps(
            sessions=sessions,
            conversation_state=conversation_state,
            dialogs=dialogs,
            renderer=renderer,
            clock=clock,
            admin_contact=settings.admin_contact,
            payment_policy=settings.payment_policy(),
            outbox_queued=waker.wake if settings.deliver_at_once else None,
            deliver_waiting=waiting.wake,
            personas=DemoPersonas() if settings.demo_switch_allowed else None,
            chat_posts=chat_posts,
        )
    )
    app[SETTINGS] = settings
    app[ENGINE] = engine
    app[SESSIONS] = sessions
    app[AUTHENTICATION] = authentication
    app[ADAPTER] = adapter
    app[BOT] = bot
    app[RENDERER] = renderer
    app[CLOCK] = clock
    app[NOTIFIER] = notifier
    app[WAKER] = waker
    app[WAITING_DELIVERY] = waiting
    app[CHAT_POSTS] = chat_posts
    app[SCHEDULER] = build_scheduler(notifier, clock, settings.tick_seconds)
    app[SCHEDULER].add_job(  # what a press could not send at once (or a stopped process left)
        chat_posts.send_due_now,
        "interval",
        seconds=settings.tick_seconds,
        id=CHAT_POSTS_JOB_ID,
        max_instances=1,
        coalesce=True,
    )
    app.cleanup_ctx.append(_database(migrate))
    if settings.deliver_at_once:
        app.cleanup_ctx.append(_waker)  # after the database: stops before it
    app.cleanup_ctx.append(_scheduler)
    app.router.add_post("/api/messages", messages)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    return app


def build_chat_posts(
    adapter: CloudAdapter,
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
) -> ChatPosts:
    """What a press sends after its answer (issue 16): sent by the app, and by every tick."""
    return ChatPosts(adapter, settings.app_id, sessions, clock)


@dataclass(frozen=True, slots=True)
class OneTick:
    """What ``korttid tick`` did: the nudges and the outbox, then the chat posts left due."""

    report: TickReport
    chat_posts: int  # rows due (a failed send, a process that stopped), sent or retried later

    def __str__(self) -> str:
        return f"{self.report}; chat posts due: {self.chat_posts}"


async def tick_once(settings: Settings, now: datetime) -> OneTick:
    """The serving app's scheduled jobs, run once at ``now`` and wired as the app wires them
    (``korttid tick``, by hand or from cron): every slice of the nudge rules, the outbox, the
    installs, and the chat posts a press left unsent."""
    engine = db.create_engine(settings.database_url)
    authentication = build_authentication(settings)
    installer = build_installer(settings)
    clock = FixedClock(now)
    try:
        await db.upgrade(engine)
        sessions = db.session_factory(engine)
        renderer = Renderer()
        adapter = build_adapter(authentication)
        notifier = build_notifier(
            sessions,
            renderer,
            adapter,
            settings.app_id,
            clock,
            sources=tick_sources(settings, renderer),
            installer=installer,
        )
        report = await notifier.tick(now, every_slice=True)
        posts = await build_chat_posts(adapter, settings, sessions, clock).send_due(now)
    finally:
        if installer is not None:
            installer.close()
        await authentication.close()
        await engine.dispose()
    return OneTick(report, posts)


def _database(
    migrate: bool,
) -> Callable[[web.Application], AsyncIterator[None]]:
    async def context(app: web.Application) -> AsyncIterator[None]:
        if migrate:
            await db.upgrade(app[ENGINE])
        yield
        await app[AUTHENTICATION].close()
        await app[ENGINE].dispose()

    return context


async def _waker(app: web.Application) -> AsyncIterator[None]:
    """Delivers what a turn queued right after its commit; stops before the database."""
    app[WAKER].start()
    yield
    await app[WAKER].stop()


async def _scheduler(app: web.Application) -> AsyncIterator[None]:
    """Ticks every ``tick_seconds`` while serving, when enabled; stops before the database."""
    scheduler = app[SCHEDULER]
    if app[SETTINGS].scheduler_enabled:
        scheduler.start()
    yield
    if scheduler.running:
        scheduler.shutdown(wait=False)
    await app[WAITING_DELIVERY].close()
    await app[CHAT_POSTS].close()


@web.middleware
async def _errors_without_traces(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return web.json_response({"error": "internal error"}, status=500)


async def messages(request: web.Request) -> web.StreamResponse:
    """POST /api/messages: our own handler around ``process_activity`` so invoke bodies work."""
    if request.content_type != "application/json":
        return web.json_response({"error": "content type must be application/json"}, status=415)
    body = await request.read()  # raises 413 past client_max_size
    activity = _parse_activity(body)
    if activity is None:
        return web.json_response({"error": "body is not a Bot Framework activity"}, status=400)
    authenticated = await _authenticate(request, activity)
    if isinstance(authenticated, web.Response):
        return authenticated
    response = await request.app[ADAPTER].process_activity(
        authenticated, activity, request.app[BOT].on_turn
    )
    if response is not None:
        if response.status == 501:
            # The SDK's answer to an invoke nobody handled: a request we do not support, not a
            # server fault, so the channel gets a 4xx.
            return web.json_response({"error": "unsupported invoke"}, status=400)
        return web.json_response(_plain(response.body), status=response.status)
    return web.Response(status=200)


async def _authenticate(
    request: web.Request, activity: Activity
) -> AuthenticateRequestResult | web.Response:
    """Check the Bot Framework token before anything is read or written.

    The SDK signals a bad token with PermissionError but also with PyJWT errors, IndexError (an
    unknown key id) or bare Exceptions: every one of them is a refusal (401), never a 500. Only a
    failure to fetch the signing keys (requests raises OSError subclasses) is ours: 503, so the
    channel retries. An activity from another tenant than ours is refused with 403.
    """
    auth_header = request.headers.get("Authorization", "")
    try:
        result: AuthenticateRequestResult = await request.app[AUTHENTICATION].authenticate_request(
            activity, auth_header
        )
    except PermissionError as error:
        log.warning("inbound request refused: %s", type(error).__name__)
        return web.json_response({"error": "unauthorized"}, status=401)
    except OSError as error:
        log.error("token signing keys unavailable: %s", type(error).__name__)
        return web.json_response({"error": "authentication unavailable"}, status=503)
    except Exception as error:
        log.warning("inbound request refused: %s", type(error).__name__)
        return web.json_response({"error": "unauthorized"}, status=401)
    settings = request.app[SETTINGS]
    tenant = settings.app_tenant_id if settings.app_id else ""
    if tenant and activity.channel_id == "msteams" and tenant_of(activity) != tenant:
        log.warning("activity from another tenant refused")
        return web.json_response({"error": "forbidden"}, status=403)
    return result


def _plain(body: Any) -> Any:
    """Invoke bodies may hold msrest models (the SDK's own responses): serialize those to JSON."""
    serialize = getattr(body, "serialize", None)
    return serialize() if callable(serialize) else body


def _parse_activity(body: bytes) -> Activity | None:
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        return None
    try:
        activity = Activity().deserialize(data)
    except Exception:  # msrest raises several kinds of errors on malformed fields
        return None
    valid = (
        activity.type
        and activity.conversation is not None
        and isinstance(activity.conversation.id, str)
        and isinstance(activity.service_url, str)
        and isinstance(activity.channel_id, str)
        and _within_limits(activity)
    )
    return activity if valid else None


# Longest identifiers Korttid stores; real Teams ids are far shorter. Dialog state is keyed by
# "<channel>/conversations/<conversation id>/" in a 400-character column.
_ID_LIMITS = {
    "conversation": 300, "service_url": 500, "channel": 32, "from": 200, "aad": 64,
    "tenant": 64, "team": 400,
}  # fmt: skip


def _within_limits(activity: Activity) -> bool:
    sender = activity.from_property
    sizes = {
        "conversation": len(activity.conversation.id),
        "service_url": len(activity.service_url),
        "channel": len(activity.channel_id),
        "from": len(str(getattr(sender, "id", "") or "")),
        "aad": len(str(getattr(sender, "aad_object_id", "") or "")),
        "tenant": len(tenant_of(activity) or ""),
        "team": len(team_of(activity) or ""),
    }
    return bool(activity.channel_id) and all(sizes[k] <= _ID_LIMITS[k] for k in sizes)


async def healthz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    ready, reason = await db.is_ready(request.app[ENGINE])
    return web.json_response(
        {"status": "ok" if ready else "unavailable", "detail": reason}, status=200 if ready else 503
    )
