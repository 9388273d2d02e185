"""Microsoft Graph's proactive installation: Korttid installs itself for a staff member.

``POST {graph}/users/{user}/teamwork/installedApps`` with the app's catalog id, under the
application permission ``TeamsAppInstallation.ReadWriteSelfForUser.All`` (admin consent). 201 is
installed, 409 already installed. 429 is retried after its Retry-After and 5xx/timeouts with
backoff, a bounded number of times; 401/403/404 are answered at once with their cause (no
consent, unknown user), never retried here: ``notifications.install`` tries again a day later.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

import aiohttp

from bot.settings import Settings
from notifications.install import ALREADY_INSTALLED, INSTALLED

log = logging.getLogger(__name__)

GRAPH_URL = "https://graph.microsoft.com/v1.0"
GRAPH_SCOPE = "https://graph.microsoft.com/.default"
PERMISSION = "TeamsAppInstallation.ReadWriteSelfForUser.All"
MAX_ATTEMPTS = 4
BACKOFF_BASE_S = 1.0
MAX_RETRY_AFTER_S = 60.0
TIMEOUT = aiohttp.ClientTimeout(total=30)

TokenSource = Callable[[], Awaitable[str]]
Sleep = Callable[[float], Awaitable[None]]

_CAUSES = {
    401: "401 unauthorised: the app's client secret or tenant is wrong",
    403: f"403 forbidden: {PERMISSION} is not granted (admin consent missing)"
    " or the app is blocked in the tenant",
    404: "404 not found: no such user in the tenant, or no such app in the catalog",
}


class MsalTokenSource:
    """An app-only Graph token by client credentials, through the MSAL the Bot SDK brings.

    MSAL is synchronous and caches the token itself; it runs in a worker thread."""

    def __init__(self, app_id: str, secret: str, tenant_id: str, authority_host: str) -> None:
        self._app_id = app_id
        self._secret = secret
        self._authority = f"{authority_host.rstrip('/')}/{tenant_id}"
        self._client: Any = None

    async def __call__(self) -> str:
        return await asyncio.to_thread(self._acquire)

    def close(self) -> None:
        """Closes MSAL's HTTP connections (tests, and a process that stops)."""
        if self._client is not None:
            self._client.http_client.close()

    def _acquire(self) -> str:
        if self._client is None:
            # The SDK's dependency (untyped); imported only when Graph install is enabled.
            import msal  # type: ignore[import-untyped]

            self._client = msal.ConfidentialClientApplication(
                self._app_id,
                client_credential=self._secret,
                authority=self._authority,
                instance_discovery=False,  # the configured tenant's own authority is used as is
            )
        result: dict[str, Any] = self._client.acquire_token_for_client(scopes=[GRAPH_SCOPE])
        token = result.get("access_token")
        if not isinstance(token, str):
            raise PermissionError(f"no Graph token: {result.get('error', 'unknown error')}")
        return token


class GraphInstaller:
    """Implements ``notifications.install.AppInstaller`` over Microsoft Graph."""

    def __init__(
        self,
        token: TokenSource,
        catalog_app_id: str,
        *,
        graph_url: str = GRAPH_URL,
        sleep: Sleep = asyncio.sleep,
        max_attempts: int = MAX_ATTEMPTS,
    ) -> None:
        self._token = token
        self._catalog_app_id = catalog_app_id
        self._graph_url = graph_url.rstrip("/")
        self._sleep = sleep
        self._max_attempts = max_attempts

    def close(self) -> None:
        """Closes the token source's connections, when it holds any (MSAL does)."""
        close = getattr(self._token, "close", None)
        if callable(close):
            close()

    async def install(self, user: str) -> str:
        url = f"{self._graph_url}/users/{quote(user, safe='')}/teamwork/installedApps"
        body = {
            "teamsApp@odata.bind": f"{self._graph_url}/appCatalogs/teamsApps/"
            f"{quote(self._catalog_app_id, safe='')}"
        }
        try:
            token = await self._token()
        except Exception as error:
            return f"no token: {error}"[:200]
        async with aiohttp.ClientSession(timeout=TIMEOUT) as http:
            for attempt in range(1, self._max_attempts + 1):
                outcome, wait = await self._post(http, url, body, token, attempt)
                if wait is None or attempt == self._max_attempts:
                    return outcome
                await self._sleep(wait)
        return "not attempted"

    async def _post(
        self, http: aiohttp.ClientSession, url: str, body: dict[str, str], token: str, attempt: int
    ) -> tuple[str, float | None]:
        """One call: its outcome, and how long to wait before another, None for no other."""
        headers = {"Authorization": f"Bearer {token}"}
        try:
            async with http.post(url, json=body, headers=headers) as response:
                status = response.status
                retry_after = response.headers.get("Retry-After")
                detail = (await response.text())[:120]
        except (TimeoutError, aiohttp.ClientError) as error:
            return f"no response: {type(error).__name__}", self._backoff(attempt)
        if status in (200, 201, 204):
            return INSTALLED, None
        if status == 409:
            return ALREADY_INSTALLED, None
        if status in _CAUSES:
            return _CAUSES[status], None
        if status == 429:
            return "429 throttled", _retry_after(retry_after, self._backoff(attempt))
        if status >= 500 or status == 408:
            return f"{status} from Graph", self._backoff(attempt)
        return f"{status} from Graph: {detail}", None

    @staticmethod
    def _backoff(attempt: int) -> float:
        return float(BACKOFF_BASE_S * 2 ** (attempt - 1))


def _retry_after(header: str | None, default: float) -> float | None:
    """Seconds to wait for a 429; None when Graph asks for longer than is worth waiting in a
    tick (the next day's attempt takes over)."""
    try:
        seconds = float(header) if header is not None else default
    except ValueError:
        seconds = default
    return max(seconds, 0.0) if seconds <= MAX_RETRY_AFTER_S else None


def build_installer(settings: Settings, token: TokenSource | None = None) -> GraphInstaller | None:
    """The installer when proactive install is on and configured; ``token`` replaces MSAL."""
    if token is None and not settings.graph_install_ready:
        return None
    if not (settings.graph_proactive_install and settings.graph_catalog_app_id):
        return None
    source = token or MsalTokenSource(
        settings.app_id,
        settings.app_password.get_secret_value(),
        settings.app_tenant_id,
        settings.graph_authority_host,
    )
    return GraphInstaller(source, settings.graph_catalog_app_id, graph_url=settings.graph_url)
