"""The Bot Framework adapter, with connector clients reused per service URL.

botbuilder 4.17's CloudAdapter builds a new connector client and user-token client (msrest) on
every turn, about 20 ms of a 21 ms echo turn on our machines. This authentication wrapper hands
the adapter the same client for the same (service URL, audience) and one user-token client per app.

Those clients send over one kept-alive aiohttp session (``AiohttpTransport``) instead of msrest's
default, which runs blocking ``requests`` calls in a worker thread for every reply.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import ssl
from types import SimpleNamespace
from typing import Any

import aiohttp
import certifi
from botbuilder.core import TurnContext
from botbuilder.integration.aiohttp import (
    CloudAdapter,
    ConfigurationBotFrameworkAuthentication,
)
from botbuilder.schema import Activity, Attachment
from botframework.connector.aio import ConnectorClient
from botframework.connector.auth import (
    AuthenticateRequestResult,
    AuthenticationConfiguration,
    BotFrameworkAuthentication,
    ClaimsIdentity,
    ConnectorFactory,
    JwtTokenValidation,
    UserTokenClient,
)
from msrest.pipeline import Request, Response, SansIOHTTPPolicy
from msrest.pipeline.async_abc import AsyncHTTPSender, AsyncPipeline
from msrest.pipeline.universal import RawDeserializer
from msrest.universal_http.aiohttp import AioHttpClientResponse

from bot.settings import Settings
from notifications.render import Card

log = logging.getLogger(__name__)


SEND_TIMEOUT = aiohttp.ClientTimeout(total=30, connect=10)
SEND_ATTEMPTS = 3
RETRIED_STATUSES = frozenset({502, 504})
RETRY_PAUSE_S = 0.2  # doubled each attempt, with jitter


class AiohttpTransport:
    """One kept-alive aiohttp session for every connector client of the process.

    msrest's default sender runs each request through ``requests`` in a thread pool: a thread hop
    and a blocking client per reply. The SDK lets a connector client take another sender; this one
    posts on the event loop. Like ``requests`` it trusts certifi's roots (or ``REQUESTS_CA_BUNDLE``)
    and the proxy settings in the environment. A send is tried again, shortly, only after a 502 or
    504 from the gateway or a kept-alive connection the other end had closed; anything else (a 429
    above all) goes back to the caller, whose pace it is: the dispatcher keeps the outbox's.
    """

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            trusted = os.environ.get("REQUESTS_CA_BUNDLE") or certifi.where()
            connector = aiohttp.TCPConnector(ssl=ssl.create_default_context(cafile=trusted))
            self._session = aiohttp.ClientSession(
                connector=connector, timeout=SEND_TIMEOUT, trust_env=True
            )
        return self._session

    def attach(self, client: ConnectorClient) -> None:
        """Send ``client``'s requests through this session, signed with its credentials."""
        config = client.config
        policies: list[Any] = [
            config.user_agent_policy,
            RawDeserializer(),
            config.http_logger_policy,
        ]
        if config.credentials:
            policies.insert(1, _BearerPolicy(config.credentials))
        config.pipeline = AsyncPipeline(policies, _Sender(self))

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class _BearerPolicy(SansIOHTTPPolicy[Any, Any]):
    """The bot's token on each request, as the SDK's credentials put it on a requests session."""

    def __init__(self, credentials: Any) -> None:
        self._credentials = credentials

    def on_request(self, request: Request[Any], **kwargs: Any) -> None:
        headers = request.http_request.headers
        if self._credentials._should_set_token(None):
            headers["Authorization"] = f"Bearer {self._credentials.get_access_token()}"
        else:
            headers.pop("Authorization", None)


class _Sender(AsyncHTTPSender[Any, Any]):
    def __init__(self, transport: AiohttpTransport) -> None:
        self._transport = transport

    async def __aenter__(self) -> _Sender:
        return self

    async def __aexit__(self, *exc_details: object) -> None:
        """The session belongs to the transport, closed with the app."""

    def build_context(self) -> None:
        return None

    async def send(self, request: Request[Any], **kwargs: Any) -> Response[Any, Any]:
        outgoing = request.http_request
        for attempt in range(1, SEND_ATTEMPTS + 1):
            last = attempt == SEND_ATTEMPTS
            try:
                answer = await self._transport.session.request(
                    outgoing.method, outgoing.url, headers=outgoing.headers, data=outgoing.data
                )
            except aiohttp.ServerDisconnectedError:
                if last:
                    raise
                log.info("connector closed a kept-alive connection, sending again")
                continue
            if answer.status in RETRIED_STATUSES and not last:
                answer.release()
                log.info("connector answered %s, sending again", answer.status)
                await asyncio.sleep(RETRY_PAUSE_S * 2 ** (attempt - 1) * random.uniform(0.5, 1.5))
                continue
            response = AioHttpClientResponse(outgoing, answer)
            await response.load_body()
            return Response(request, response)
        raise AssertionError("unreachable: the last attempt returns or raises")


class _CachingConnectorFactory(ConnectorFactory):  # type: ignore[misc]
    def __init__(
        self,
        inner: ConnectorFactory,
        cache: dict[tuple[str, str], ConnectorClient],
        transport: AiohttpTransport,
    ):
        self._inner = inner
        self._cache = cache
        self._transport = transport

    async def create(self, service_url: str, audience: str) -> ConnectorClient:
        key = (service_url, audience or "")
        client = self._cache.get(key)
        if client is None:
            client = await self._inner.create(service_url, audience)
            send_cards_as_they_are(client)
            self._transport.attach(client)
            self._cache[key] = client
        return client


def send_cards_as_they_are(client: ConnectorClient) -> None:
    """Serialize outgoing activities in one pass instead of msrest's three.

    Before sending, msrest's ``Serializer.body`` rebuilds the activity from itself (a deserializing
    walk), validates it (a second walk) and only then serializes it: an Adaptive Card's whole tree
    included, most of the CPU of a send. The activities Korttid sends are models it built itself,
    so they are serialized directly, with the card content (plain JSON, parsed from a rendered
    template, which msrest copies as it is) set aside and put back. The body sent is the same
    (``tests/test_adapter_serialization.py`` compares them); anything else goes the msrest way.
    """
    serializer = client._serialize
    original = serializer.body

    def body(data: Any, data_type: str, **kwargs: Any) -> Any:
        if data_type != "Activity" or not isinstance(data, Activity):
            return original(data, data_type, **kwargs)
        attachments = data.attachments or []
        if kwargs or not all(
            isinstance(a, Attachment) and _is_plain_json(a.content) for a in attachments
        ):
            for attachment in attachments:
                if isinstance(attachment.content, Card):
                    # msrest writes a dict subclass as its Python repr, a string
                    attachment.content = dict(attachment.content)
            return original(data, data_type, **kwargs)
        return serialize_activity(serializer, data)

    serializer.body = body


def serialize_activity(serializer: Any, activity: Activity) -> dict[str, Any]:
    """msrest's serialization of one activity, the card content copied as it is."""
    attachments = activity.attachments or []
    contents = [attachment.content for attachment in attachments]
    try:
        for attachment in attachments:
            attachment.content = None
        serialized: dict[str, Any] = serializer._serialize(activity, "Activity")
    finally:
        for attachment, content in zip(attachments, contents, strict=True):
            attachment.content = content
    for item, content in zip(serialized.get("attachments", []), contents, strict=True):
        if content is not None:
            item["content"] = content
    return serialized


def _is_plain_json(value: Any) -> bool:
    """Only what JSON itself has: msrest serializes these to themselves. A rendered ``Card`` is
    parsed JSON and never changed, so it is not walked again."""
    if value is None or isinstance(value, Card):
        return True
    if isinstance(value, str | bool | int | float):
        return True
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_plain_json(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_is_plain_json(item) for item in value)
    return False


class CachingAuthentication(BotFrameworkAuthentication):  # type: ignore[misc]
    """Delegates every check to the SDK; only the clients it builds are reused."""

    def __init__(self, inner: BotFrameworkAuthentication) -> None:
        self._inner = inner
        self._connectors: dict[tuple[str, str], ConnectorClient] = {}
        self._transport = AiohttpTransport()
        self._token_clients: dict[str, UserTokenClient] = {}

    async def authenticate_request(
        self, activity: Any, auth_header: str
    ) -> AuthenticateRequestResult:
        result: AuthenticateRequestResult = await self._inner.authenticate_request(
            activity, auth_header
        )
        if result.connector_factory is not None:
            result.connector_factory = _CachingConnectorFactory(
                result.connector_factory, self._connectors, self._transport
            )
        return result

    async def authenticate_streaming_request(self, auth_header: str, channel_id_header: str) -> Any:
        return await self._inner.authenticate_streaming_request(auth_header, channel_id_header)

    def create_connector_factory(self, claims_identity: ClaimsIdentity) -> ConnectorFactory:
        return _CachingConnectorFactory(
            self._inner.create_connector_factory(claims_identity), self._connectors, self._transport
        )

    async def create_user_token_client(self, claims_identity: ClaimsIdentity) -> UserTokenClient:
        app_id = JwtTokenValidation.get_app_id_from_claims(claims_identity.claims) or ""
        client = self._token_clients.get(app_id)
        if client is None:
            client = await self._inner.create_user_token_client(claims_identity)
            self._token_clients[app_id] = client
        return client

    def create_bot_framework_client(self) -> Any:
        return self._inner.create_bot_framework_client()

    def get_originating_audience(self) -> str:
        return str(self._inner.get_originating_audience())

    async def authenticate_channel_request(self, auth_header: str) -> ClaimsIdentity:
        return await self._inner.authenticate_channel_request(auth_header)

    async def close(self) -> None:
        self._connectors.clear()
        await self._transport.close()


def build_authentication(settings: Settings, **overrides: Any) -> CachingAuthentication:
    config = SimpleNamespace(
        APP_ID=settings.app_id,
        APP_PASSWORD=settings.app_password.get_secret_value(),
        # Dev mode has no app id; the SDK only accepts that as "MultiTenant" (anonymous).
        APP_TYPE=settings.app_type if settings.app_id else "MultiTenant",
        APP_TENANTID=settings.app_tenant_id,
        **overrides,
    )
    inner = ConfigurationBotFrameworkAuthentication(
        config, auth_configuration=AuthenticationConfiguration()
    )
    return CachingAuthentication(inner)


def build_adapter(authentication: CachingAuthentication) -> CloudAdapter:
    adapter = CloudAdapter(authentication)

    async def on_error(context: TurnContext, error: Exception) -> None:
        # KorttidBot handles its own failures; this catches the adapter's (auth, middleware).
        log.error("adapter error: %s", type(error).__name__)

    adapter.on_turn_error = on_error
    return adapter
