"""The SDK's echo sample on Korttid's adapter: the ceiling for any turn that goes through the SDK.

The same ``EchoBot`` and ``CloudAdapter`` as ``sdk_echo``, but built by ``bot.adapter`` as Korttid
builds its own: connector clients kept per service URL, one user-token client, replies posted on
one kept-alive aiohttp session. No database, no dialog, no card: what the SDK's turn pipeline
(inbound parse, authentication, TurnContext, ActivityHandler, msrest's serializer) costs alone.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from aiohttp import web
from aiohttp.web import Request, Response

from bench.baselines.sdk_echo import DefaultConfig, EchoBot
from bot.adapter import build_adapter, build_authentication
from bot.settings import Settings


def build_app(config: DefaultConfig) -> web.Application:
    settings = Settings(
        app_id=config.APP_ID,
        app_password=config.APP_PASSWORD,
        app_type=config.APP_TYPE,
        app_tenant_id=config.APP_TENANTID,
    )
    authentication = build_authentication(settings)
    adapter = build_adapter(authentication)
    bot = EchoBot()

    async def messages(req: Request) -> Response:
        response: Response = await adapter.process(req, bot)
        return response

    async def close(_app: web.Application) -> None:
        await authentication.close()

    app = web.Application()
    app.router.add_post("/api/messages", messages)
    app.on_cleanup.append(close)
    return app


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.baselines.sdk_echo_tuned")
    parser.add_argument("--port", type=int, default=DefaultConfig.PORT)
    args = parser.parse_args(argv)
    web.run_app(build_app(DefaultConfig()), host="127.0.0.1", port=args.port, print=None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
