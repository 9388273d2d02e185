"""The Bot Framework SDK's echo sample (python ``02.echo-bot``), as the sample writes it.

CloudAdapter with ConfigurationBotFrameworkAuthentication, an ActivityHandler that echoes, and
``adapter.process(request, bot)`` as the route: nothing tuned, so it shows what the SDK costs as
people deploy it. Only the configuration is read from the command line instead of ``config.py``,
and the globals are built in ``main()`` so importing this module starts nothing.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Callable, Sequence

from aiohttp import web
from aiohttp.web import Request, Response
from botbuilder.core import ActivityHandler, MessageFactory, TurnContext
from botbuilder.core.integration import aiohttp_error_middleware
from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication
from botbuilder.schema import ChannelAccount


class DefaultConfig:
    """The sample's config.py: empty credentials mean the local, unauthenticated mode."""

    PORT = 3978
    APP_ID = ""
    APP_PASSWORD = ""
    APP_TYPE = "MultiTenant"
    APP_TENANTID = ""


class EchoBot(ActivityHandler):  # type: ignore[misc]
    async def on_members_added_activity(
        self, members_added: list[ChannelAccount], turn_context: TurnContext
    ) -> None:
        for member in members_added:
            if member.id != turn_context.activity.recipient.id:
                await turn_context.send_activity("Hello and welcome!")

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        await turn_context.send_activity(MessageFactory.text(f"Echo: {turn_context.activity.text}"))


def build_app(config: DefaultConfig, adapter: CloudAdapter | None = None) -> web.Application:
    """The sample's app; ``adapter`` replaces the sample's own (``sdk_echo_tuned``)."""
    adapter = adapter or CloudAdapter(ConfigurationBotFrameworkAuthentication(config))

    async def on_error(context: TurnContext, error: Exception) -> None:
        print(f"\n [on_turn_error] unhandled error: {error}", file=sys.stderr)
        traceback.print_exc()
        await context.send_activity("The bot encountered an error or bug.")

    adapter.on_turn_error = on_error
    bot = EchoBot()

    async def messages(req: Request) -> Response:
        response: Response = await adapter.process(req, bot)
        return response

    app = web.Application(middlewares=[aiohttp_error_middleware])
    app.router.add_post("/api/messages", messages)
    return app


def serve(
    build: Callable[[DefaultConfig], web.Application], prog: str, argv: Sequence[str] | None
) -> int:
    parser = argparse.ArgumentParser(prog=prog)
    parser.add_argument("--port", type=int, default=DefaultConfig.PORT)
    args = parser.parse_args(argv)
    web.run_app(build(DefaultConfig()), host="127.0.0.1", port=args.port, print=None)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return serve(build_app, "python -m bench.baselines.sdk_echo", argv)


if __name__ == "__main__":
    sys.exit(main())
