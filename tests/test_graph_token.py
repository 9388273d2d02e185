"""The Graph token is taken through MSAL with the bot's own credentials (client credentials).

A local HTTPS fake of the tenant's authority (OpenID configuration and token endpoint) checks
the request MSAL makes: client id, secret, grant type and the Graph scope.
"""

from __future__ import annotations

import argparse
import datetime as dt
import ipaddress
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from bot.cli import cmd_staff_import
from bot.graph_install import GRAPH_SCOPE, MsalTokenSource
from bot.settings import Settings


def _self_signed(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class FakeAuthority:
    def __init__(self) -> None:
        self.token_requests: list[dict[str, str]] = []
        self.answer: dict[str, object] = {
            "access_token": "graph-token-1",
            "token_type": "Bearer",
            "expires_in": 3600,
        }

    async def openid(self, request: web.Request) -> web.Response:
        base = f"https://localhost:{request.url.port}/{request.match_info['tenant']}"
        return web.json_response(
            {
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "token_endpoint": f"{base}/oauth2/v2.0/token",
                "issuer": f"{base}/v2.0",
            }
        )

    async def token(self, request: web.Request) -> web.Response:
        form = await request.post()
        self.token_requests.append({key: str(value) for key, value in form.items()})
        status = 200 if "access_token" in self.answer else 401
        return web.json_response(self.answer, status=status)


@pytest.fixture
async def authority(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[FakeAuthority, str]]:
    cert, key = _self_signed(tmp_path)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))  # MSAL's requests trusts the fake
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    fake = FakeAuthority()
    app = web.Application()
    app.router.add_get("/{tenant}/v2.0/.well-known/openid-configuration", fake.openid)
    app.router.add_post("/{tenant}/oauth2/v2.0/token", fake.token)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server(ssl=context)
    yield fake, f"https://localhost:{server.port}"
    await server.close()


async def test_the_token_is_taken_by_client_credentials_for_graph_and_cached(
    authority: tuple[FakeAuthority, str],
) -> None:
    fake, host = authority
    source = MsalTokenSource("app-id-1", "the-secret", "tenant-1", host)

    try:
        assert await source() == "graph-token-1"
        assert await source() == "graph-token-1"
    finally:
        source.close()

    [request] = fake.token_requests  # the second came from MSAL's cache
    assert request["grant_type"] == "client_credentials"
    assert request["client_id"] == "app-id-1" and request["client_secret"] == "the-secret"
    assert GRAPH_SCOPE in request["scope"]


async def test_a_refused_token_raises_with_the_cause(authority: tuple[FakeAuthority, str]) -> None:
    fake, host = authority
    fake.answer = {"error": "invalid_client", "error_description": "bad secret"}
    source = MsalTokenSource("app-id-1", "wrong", "tenant-1", host)

    try:
        with pytest.raises(PermissionError, match="invalid_client"):
            await source()
    finally:
        source.close()


# --- at staff import: MSAL's token, then Graph installs Korttid for each imported person --------


async def test_staff_import_installs_korttid_for_the_imported_staff(
    authority: tuple[FakeAuthority, str],
    database_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake_authority, host = authority
    installs: list[tuple[str, str]] = []

    async def installed_apps(request: web.Request) -> web.Response:
        installs.append((request.match_info["user"], request.headers.get("Authorization", "")))
        status = 409 if request.match_info["user"] == "olle@kommun.se" else 201
        return web.json_response({}, status=status)

    graph_app = web.Application()
    graph_app.router.add_post("/v1.0/users/{user}/teamwork/installedApps", installed_apps)
    graph = TestServer(graph_app, host="127.0.0.1")
    await graph.start_server()
    settings = Settings(
        database_url=database_url, env="dev", app_id="app-id-1", app_password="the-secret",
        app_tenant_id="tenant-1", graph_proactive_install=True, graph_catalog_app_id="cat-1",
        graph_url=str(graph.make_url("/v1.0")), graph_authority_host=host,
    )  # fmt: skip
    staff_csv = tmp_path / "staff.csv"
    staff_csv.write_text(
        "email,name,roles,units\n"
        "anna@kommun.se,Anna A,enhetschef,ÄNG\n"
        "olle@kommun.se,Olle O,sjukskoterska,ÄNG\n",
        encoding="utf-8",
    )
    try:
        code = await cmd_staff_import(argparse.Namespace(file=staff_csv), settings)
    finally:
        await graph.close()

    assert code == 0
    assert sorted(installs) == [
        ("anna@kommun.se", "Bearer graph-token-1"),
        ("olle@kommun.se", "Bearer graph-token-1"),
    ]
    assert len(fake_authority.token_requests) == 1
    assert "app install: 2 of 2" in capsys.readouterr().out
