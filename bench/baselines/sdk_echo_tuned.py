"""The SDK's echo sample on Korttid's adapter: the ceiling for any turn that goes through the SDK.

The same app as ``sdk_echo``, but with the adapter ``bot.adapter`` builds for Korttid: connector
clients kept per service URL, one user-token client, replies posted on one kept-alive aiohttp
session. No database, no dialog, no card: what the SDK's turn pipeline (inbound parse,
authentication, TurnContext, ActivityHandler, msrest's serializer) costs alone.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from aiohttp import web

from bench.baselines.sdk_echo import DefaultConfig, build_app, serve
from bot.adapter import build_adapter, build_authentication
from bot.settings import Settings


def build_tuned_app(config: DefaultConfig) -> web.Application:
    settings = Settings(
        app_id=config.APP_ID,
        app_password=config.APP_PASSWORD,
        app_type=config.APP_TYPE,
        app_tenant_id=config.APP_TENANTID,
    )
    authentication = build_authentication(settings)
    app = build_app(config, build_adapter(authentication))

    async def close(_app: web.Application) -> None:
        await authentication.close()

    app.on_cleanup.append(close)
    return app


def main(argv: Sequence[str] | None = None) -> int:
    return serve(build_tuned_app, "python -m bench.baselines.sdk_echo_tuned", argv)


if __name__ == "__main__":
    sys.exit(main())
