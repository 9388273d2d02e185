"""The composition root: ``create_app(settings)`` builds and wires everything, nothing at import."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiohttp import web
from botbuilder.core import ConversationState
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import Activity
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.adapter import CachingAuthentication, build_adapter, build_authentication
from bot.korttid_bot import BotDeps, KorttidBot
from bot.settings import Settings
from bot.state_storage import SqlStorage
from dialogs.router import build_dialog_set
from notifications.render import Renderer
from storage import db
from storage.domain.clock import Clock, SystemClock

log = logging.getLogger(__name__)

SETTINGS = web.AppKey("settings", Settings)
ENGINE = web.AppKey("engine", AsyncEngine)
SESSIONS = web.AppKey("sessions", async_sessionmaker[AsyncSession])
AUTHENTICATION = web.AppKey("authentication", CachingAuthentication)
ADAPTER = web.AppKey("adapter", CloudAdapter)
BOT = web.AppKey("bot", KorttidBot)
RENDERER = web.AppKey("renderer", Renderer)
CLOCK = web.AppKey("clock", Clock)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def create_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    migrate: bool = True,
    auth_overrides: dict[str, Any] | None = None,
) -> web.Application:
    app = web.Application(
        client_max_size=settings.max_body_bytes, middlewares=[_errors_without_traces]
    )
    engine = db.create_engine(settings.database_url)
    sessions = db.session_factory(engine)
    renderer = Renderer()
    clock = clock or SystemClock()
    authentication = build_authentication(settings, **(auth_overrides or {}))
    adapter = build_adapter(authentication)
    conversation_state = ConversationState(SqlStorage(sessions))
    bot = KorttidBot(
        BotDeps(
            sessions=sessions,
            conversation_state=conversation_state,
            dialogs=build_dialog_set(conversation_state),
            renderer=renderer,
            clock=clock,
            admin_contact=settings.admin_contact,
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
    app.cleanup_ctx.append(_database(migrate))
    app.router.add_post("/api/messages", messages)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    return app


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
    auth_header = request.headers.get("Authorization", "")
    try:
        response = await request.app[ADAPTER].process_activity(
            auth_header, activity, request.app[BOT].on_turn
        )
    except PermissionError:
        return web.json_response({"error": "unauthorized"}, status=401)
    if response is not None:
        return web.json_response(response.body, status=response.status)
    return web.Response(status=200)


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
    )
    return activity if valid else None


async def healthz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    ready, reason = await db.is_ready(request.app[ENGINE])
    return web.json_response(
        {"status": "ok" if ready else "unavailable", "detail": reason}, status=200 if ready else 503
    )
