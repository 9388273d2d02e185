"""The Bot Framework adapter, with connector clients reused per service URL.

botbuilder 4.17's CloudAdapter builds a new connector client and user-token client (msrest) on
every turn, about 20 ms of a 21 ms echo turn on our machines. This authentication wrapper hands
the adapter the same client for the same (service URL, audience) and one user-token client per app.
"""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any

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

from bot.settings import Settings
from notifications.render import Card

log = logging.getLogger(__name__)


class _CachingConnectorFactory(ConnectorFactory):  # type: ignore[misc]
    def __init__(self, inner: ConnectorFactory, cache: dict[tuple[str, str], ConnectorClient]):
        self._inner = inner
        self._cache = cache

    async def create(self, service_url: str, audience: str) -> ConnectorClient:
        key = (service_url, audience or "")
        client = self._cache.get(key)
        if client is None:
            client = await self._inner.create(service_url, audience)
            send_cards_as_they_are(client)
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
    """Only what JSON itself has: msrest serializes these to themselves."""
    if value is None or isinstance(value, str | bool | int | float):
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
        self._token_clients: dict[str, UserTokenClient] = {}

    async def authenticate_request(
        self, activity: Any, auth_header: str
    ) -> AuthenticateRequestResult:
        result: AuthenticateRequestResult = await self._inner.authenticate_request(
            activity, auth_header
        )
        if result.connector_factory is not None:
            result.connector_factory = _CachingConnectorFactory(
                result.connector_factory, self._connectors
            )
        return result

    async def authenticate_streaming_request(self, auth_header: str, channel_id_header: str) -> Any:
        return await self._inner.authenticate_streaming_request(auth_header, channel_id_header)

    def create_connector_factory(self, claims_identity: ClaimsIdentity) -> ConnectorFactory:
        return _CachingConnectorFactory(
            self._inner.create_connector_factory(claims_identity), self._connectors
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
        for client in self._connectors.values():
            await client.__aexit__(None, None, None)
        self._connectors.clear()


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
