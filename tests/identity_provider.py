"""A local stand-in for the Bot Framework's token services, for offline authentication tests.

It serves, over HTTPS with a self-signed certificate, what the SDK fetches with blocking
``requests`` (so it runs in its own thread, not on the test's event loop):

- ``/openid``: OpenID metadata naming the JWKS below (inbound tokens, channel to bot);
- ``/keys``: the public half of our own RSA key, endorsed for ``msteams``;
- ``/adfs/...``: an authority MSAL accepts without asking login.microsoftonline.com (an ADFS-style
  path skips MSAL's instance discovery), whose token endpoint hands out the bot's outbound token.

Tokens are minted with ``token(...)``; each claim can be overridden to build the bad ones.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import ssl
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from jwt.algorithms import RSAAlgorithm

ISSUER = "https://api.botframework.com"
KEY_ID = "korttid-test-key"


def new_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _self_signed(key: rsa.RSAPrivateKey) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )


class LocalIdentityProvider:
    def __init__(self, folder: Path) -> None:
        self.signing_key = new_rsa_key()
        self.requests: list[str] = []
        tls_key = new_rsa_key()
        self.ca_file = folder / "identity-provider.pem"
        key_file = folder / "identity-provider.key"
        self.ca_file.write_bytes(_self_signed(tls_key).public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(
            tls_key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.ca_file, key_file)
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def overrides(self) -> dict[str, str]:
        """``create_app(auth_overrides=...)``: every endpoint the SDK would call, pointed here."""
        return {
            "TO_BOT_FROM_CHANNEL_TOKEN_ISSUER": ISSUER,
            "TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL": f"{self.url}/openid",
            "TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL": f"{self.url}/openid",
            "TO_CHANNEL_FROM_BOT_OAUTH_SCOPE": ISSUER,
            "TO_CHANNEL_FROM_BOT_LOGIN_URL": f"{self.url}/adfs",
            "OAUTH_URL": f"{self.url}/oauth",
        }

    def token(
        self,
        *,
        app_id: str,
        service_url: str,
        key: rsa.RSAPrivateKey | None = None,
        algorithm: str = "RS256",
        lifetime: int = 3600,
        **claims: Any,
    ) -> str:
        """A channel-to-bot token; a claim passed as ``None`` is left out."""
        now = int(time.time())
        payload: dict[str, Any] = {
            "iss": ISSUER,
            "aud": app_id,
            "serviceurl": service_url,
            "nbf": now - 60,
            "iat": now - 60,
            "exp": now + lifetime,
            "jti": uuid.uuid4().hex,
        }
        payload.update(claims)
        payload = {name: value for name, value in payload.items() if value is not None}
        if algorithm == "none":
            return jwt.encode(payload, None, algorithm="none", headers={"kid": KEY_ID})
        return jwt.encode(
            payload, key or self.signing_key, algorithm=algorithm, headers={"kid": KEY_ID}
        )

    # --- the HTTP side ---

    def _documents(self) -> dict[str, Any]:
        jwk = json.loads(RSAAlgorithm.to_jwk(self.signing_key.public_key()))
        jwk.update({"kid": KEY_ID, "use": "sig", "alg": "RS256", "endorsements": ["msteams"]})
        authority = f"{self.url}/adfs"
        return {
            "/openid": {
                "issuer": ISSUER,
                "jwks_uri": f"{self.url}/keys",
                "id_token_signing_alg_values_supported": ["RS256"],
            },
            "/keys": {"keys": [jwk]},
            "/adfs/.well-known/openid-configuration": {
                "issuer": authority,
                "authorization_endpoint": f"{authority}/oauth2/authorize",
                "token_endpoint": f"{authority}/oauth2/token",
            },
        }

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                provider.requests.append(f"GET {self.path}")
                document = provider._documents().get(self.path.split("?", 1)[0])
                self._answer(404 if document is None else 200, document or {})

            def do_POST(self) -> None:
                provider.requests.append(f"POST {self.path}")
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if not self.path.startswith("/adfs/oauth2/token"):
                    self._answer(404, {})
                    return
                self._answer(
                    200,
                    {
                        "access_token": "outbound-token-for-the-connector",
                        "token_type": "Bearer",
                        "expires_in": 3600,
                    },
                )

            def _answer(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the test reads ``provider.requests`` instead."""

        return Handler
