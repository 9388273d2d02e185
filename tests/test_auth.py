"""Inbound authentication: with an app id configured, every request needs a valid channel token.

Offline: ``LocalIdentityProvider`` (own RSA keys, in a thread) stands where the Bot Framework's
OpenID metadata, JWKS and token service are. The app runs for real over HTTP; a refused request
must answer 401 (or 403 for another tenant) and leave the database and the connector untouched.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from botframework.connector.auth import ChannelValidation
from cryptography.hazmat.primitives import serialization

from bot.app import SESSIONS, create_app
from bot.logs import setup_logging
from bot.settings import Settings
from storage.domain.clock import FixedClock
from tests.channel import TENANT, TeamsChannel
from tests.connector import LocalConnector
from tests.db_snapshot import changed, row_counts
from tests.helpers import card_texts, seed_staff
from tests.identity_provider import ISSUER, KEY_ID, LocalIdentityProvider, new_rsa_key

APP_ID = "6f1c1c5e-0000-4000-8000-00000000b07a"
ATTACKER_KEY = new_rsa_key()


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalIdentityProvider]:
    local = LocalIdentityProvider(tmp_path_factory.mktemp("identity"))
    local.start()
    # requests (the SDK's metadata fetch, MSAL's token call) trusts our self-signed certificate.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REQUESTS_CA_BUNDLE", str(local.ca_file))
        yield local
    local.close()


def _settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        env="prod",
        app_id=APP_ID,
        app_password="local-test-client-secret",  # type: ignore[arg-type]
        app_type="SingleTenant",
        app_tenant_id=TENANT,
        scheduler_enabled=False,
    )


async def _serve(settings: Settings, clock: FixedClock, **kwargs: Any) -> TestServer:
    server = TestServer(create_app(settings, clock=clock, **kwargs), host="127.0.0.1")
    await server.start_server()
    return server


class AppChannel(TeamsChannel):
    """The channel, and the database behind the app it talks to."""

    def __init__(
        self, server: TestServer, connector: LocalConnector, http: aiohttp.ClientSession
    ) -> None:
        super().__init__(str(server.make_url("")).rstrip("/"), connector, http)
        self.sessions = server.app[SESSIONS]


@pytest.fixture
async def secured(
    database_url: str,
    clock: FixedClock,
    provider: LocalIdentityProvider,
    connector: LocalConnector,
) -> AsyncIterator[AppChannel]:
    """The app with authentication on, every SDK endpoint pointed at the local provider."""
    server = await _serve(_settings(database_url), clock, auth_overrides=provider.overrides())
    try:
        async with aiohttp.ClientSession() as http:
            yield AppChannel(server, connector, http)
    finally:
        await server.close()


def _record_outbound_auth(connector: LocalConnector) -> list[str]:
    seen: list[str] = []

    def record(request: web.Request) -> None:
        seen.append(request.headers.get("Authorization", ""))

    connector.failures.append(record)  # a hook that lets every request through
    return seen


async def test_valid_token_is_served_and_the_reply_carries_the_bots_own_token(
    secured: AppChannel, provider: LocalIdentityProvider
) -> None:
    sessions = secured.sessions
    await seed_staff(sessions, ("anna@kommun.se", "Anna", "handlaggare", "ÄNG"))
    anna = secured.user("anna", "anna@kommun.se")
    outbound = _record_outbound_auth(secured.connector)
    token = provider.token(app_id=APP_ID, service_url=secured.connector.url)

    response = await secured.post(
        secured.activity(anna, text="hjälp"), headers={"Authorization": f"Bearer {token}"}
    )

    assert response.status == 200
    cards = secured.connector.cards()
    assert cards and "Korttid" in card_texts(cards[0])
    assert outbound and all(h == "Bearer outbound-token-for-the-connector" for h in outbound)
    assert any(r.startswith("POST /adfs/oauth2/token") for r in provider.requests)


BadToken = Callable[[LocalIdentityProvider, str], str | None]

BAD_TOKENS: dict[str, BadToken] = {
    "missing": lambda p, url: None,
    "empty bearer": lambda p, url: "Bearer ",
    "not a jwt": lambda p, url: "Bearer not-a-token",
    "basic scheme": lambda p, url: "Basic " + p.token(app_id=APP_ID, service_url=url),
    "expired": lambda p, url: _bearer(p, url, exp=int(time.time()) - 900),
    "not yet valid": lambda p, url: _bearer(p, url, nbf=int(time.time()) + 900),
    "wrong audience": lambda p, url: _bearer(p, url, aud="another-bot-app-id"),
    "no audience": lambda p, url: _bearer(p, url, aud=None),
    "wrong issuer": lambda p, url: _bearer(p, url, iss="https://issuer.example.org"),
    "wrong serviceurl": lambda p, url: _bearer(p, url, serviceurl="https://evil.example.org/"),
    "no serviceurl": lambda p, url: _bearer(p, url, serviceurl=None),
    "wrong key": lambda p, url: (
        "Bearer " + p.token(app_id=APP_ID, service_url=url, key=ATTACKER_KEY)
    ),
    "alg none": lambda p, url: (
        "Bearer " + p.token(app_id=APP_ID, service_url=url, algorithm="none")
    ),
    "HS256 with the public key": lambda p, url: "Bearer " + _hs256_forgery(p, url),
}


def _bearer(provider: LocalIdentityProvider, url: str, **claims: Any) -> str:
    return "Bearer " + provider.token(app_id=APP_ID, service_url=url, **claims)


def _hs256_forgery(provider: LocalIdentityProvider, url: str) -> str:
    """Algorithm confusion: HMAC-signed with the public key as the secret (PyJWT won't build it)."""
    public = provider.signing_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": APP_ID, "serviceurl": url, "exp": now + 600, "nbf": now - 60}
    header = {"alg": "HS256", "typ": "JWT", "kid": KEY_ID}
    signing_input = _b64(json.dumps(header).encode()) + b"." + _b64(json.dumps(claims).encode())
    signature = hmac.new(public, signing_input, hashlib.sha256).digest()
    return (signing_input + b"." + _b64(signature)).decode()


def _b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


async def _refused(
    channel: TeamsChannel, sessions: Any, header: str | None, **activity: Any
) -> tuple[int, str]:
    someone = channel.user("anna", "anna@kommun.se")
    before = await row_counts(sessions)
    headers = {"Authorization": header} if header is not None else None
    response = await channel.post(channel.activity(someone, text="hjälp", **activity), headers)
    body = await response.text()
    assert await row_counts(sessions) == before, changed(before, await row_counts(sessions))
    assert channel.connector.sent == []
    return response.status, body


@pytest.mark.parametrize("case", list(BAD_TOKENS))
async def test_bad_token_is_refused_and_touches_nothing(
    secured: AppChannel, provider: LocalIdentityProvider, case: str
) -> None:
    sessions = secured.sessions
    await seed_staff(sessions, ("anna@kommun.se", "Anna", "handlaggare", "ÄNG"))
    header = BAD_TOKENS[case](provider, secured.connector.url)

    status, body = await _refused(secured, sessions, header)

    assert status == 401
    assert "Traceback" not in body


async def test_activity_from_another_tenant_is_refused(
    secured: AppChannel, provider: LocalIdentityProvider
) -> None:
    sessions = secured.sessions
    await seed_staff(sessions, ("anna@kommun.se", "Anna", "handlaggare", "ÄNG"))
    token = provider.token(app_id=APP_ID, service_url=secured.connector.url)
    other = {"tenant": {"id": "99999999-0000-0000-0000-000000000bad"}}

    status, _ = await _refused(secured, sessions, f"Bearer {token}", channelData=other)

    assert status == 403


async def test_unreachable_signing_keys_answer_503_so_the_channel_retries(
    database_url: str, clock: FixedClock, provider: LocalIdentityProvider, connector: LocalConnector
) -> None:
    overrides = provider.overrides() | {
        "TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL": "https://127.0.0.1:9/openid"
    }
    server = await _serve(_settings(database_url), clock, auth_overrides=overrides)
    try:
        async with aiohttp.ClientSession() as http:
            channel = AppChannel(server, connector, http)
            token = provider.token(app_id=APP_ID, service_url=connector.url)
            status, _ = await _refused(channel, channel.sessions, f"Bearer {token}")
    finally:
        await server.close()
    assert status == 503


@pytest.fixture
def public_cloud_keys(
    provider: LocalIdentityProvider, monkeypatch: pytest.MonkeyPatch
) -> LocalIdentityProvider:
    """The production code path (no overrides), with only its metadata address pointed here."""
    monkeypatch.setattr(ChannelValidation, "open_id_metadata_endpoint", f"{provider.url}/openid")
    return provider


@pytest.fixture
async def public_cloud(
    database_url: str,
    clock: FixedClock,
    public_cloud_keys: LocalIdentityProvider,
    connector: LocalConnector,
) -> AsyncIterator[AppChannel]:
    server = await _serve(_settings(database_url), clock)
    try:
        async with aiohttp.ClientSession() as http:
            yield AppChannel(server, connector, http)
    finally:
        await server.close()


async def test_production_validation_refuses_the_same_tokens(
    public_cloud: AppChannel, public_cloud_keys: LocalIdentityProvider
) -> None:
    """One app for the whole list: the refusal happens before the database is touched."""
    sessions = public_cloud.sessions
    statuses = {}
    for case, bad in BAD_TOKENS.items():
        header = bad(public_cloud_keys, public_cloud.connector.url)
        statuses[case], _ = await _refused(public_cloud, sessions, header)

    assert statuses == dict.fromkeys(BAD_TOKENS, 401)


async def test_production_validation_accepts_a_good_token(
    public_cloud: AppChannel, public_cloud_keys: LocalIdentityProvider
) -> None:
    """An activity the bot ignores, so no reply needs a token from login.microsoftonline.com."""
    someone = public_cloud.user("anna", "anna@kommun.se")
    token = public_cloud_keys.token(app_id=APP_ID, service_url=public_cloud.connector.url)

    response = await public_cloud.post(
        public_cloud.activity(someone, type_="messageReaction"),
        headers={"Authorization": f"Bearer {token}"},
    )

    assert response.status == 200
    assert any(r == "GET /keys" for r in public_cloud_keys.requests)


async def test_the_client_secret_never_reaches_the_log(
    secured: AppChannel, provider: LocalIdentityProvider
) -> None:
    """A full authenticated turn, outbound token fetch included, logged at DEBUG."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    secret = _settings("sqlite://").app_password.get_secret_value()
    setup_logging("DEBUG", secrets=(secret,))
    buffer = io.StringIO()
    ours = next(h for h in root.handlers if h.get_name() == "korttid")
    assert isinstance(ours, logging.StreamHandler)
    ours.setStream(buffer)
    try:
        await seed_staff(secured.sessions, ("anna@kommun.se", "Anna", "handlaggare", "ÄNG"))
        anna = secured.user("anna", "anna@kommun.se")
        token = provider.token(app_id=APP_ID, service_url=secured.connector.url)
        response = await secured.post(
            secured.activity(anna, text="hjälp"), headers={"Authorization": f"Bearer {token}"}
        )
        logging.getLogger("msal").debug("configured with %s", secret)  # as a library might
    finally:
        root.handlers[:], root.level = handlers, level

    assert response.status == 200 and secured.connector.cards()
    output = buffer.getvalue()
    assert output  # DEBUG logging did happen
    assert secret not in output
    assert "[hemligt]" in output
    assert token not in output  # nor the caller's bearer token
