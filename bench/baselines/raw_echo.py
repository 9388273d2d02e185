"""The floor: a bare aiohttp handler that posts one reply to the connector and answers 200.

No SDK, no auth, no database: one JSON parse, one POST over a kept-alive connection. It is what a
turn costs on this machine when nothing but HTTP happens.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import AsyncIterator, Sequence
from typing import Any

import aiohttp
from aiohttp import web

HTTP = web.AppKey("http", aiohttp.ClientSession)


async def messages(request: web.Request) -> web.Response:
    activity: dict[str, Any] = await request.json()
    if activity.get("type") == "message":
        conversation = activity["conversation"]
        reply = {
            "type": "message",
            "text": f"Echo: {activity.get('text') or ''}",
            "from": activity.get("recipient"),
            "recipient": activity.get("from"),
            "conversation": conversation,
            "replyToId": activity.get("id"),
        }
        url = (
            f"{activity['serviceUrl'].rstrip('/')}/v3/conversations/{conversation['id']}"
            f"/activities/{activity.get('id')}"
        )
        async with request.app[HTTP].post(url, json=reply) as response:
            await response.read()
    return web.Response(status=200)


async def _http(app: web.Application) -> AsyncIterator[None]:
    async with aiohttp.ClientSession() as session:
        app[HTTP] = session
        yield


def build_app() -> web.Application:
    app = web.Application()
    app.cleanup_ctx.append(_http)
    app.router.add_post("/api/messages", messages)
    return app


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.baselines.raw_echo")
    parser.add_argument("--port", type=int, default=3979)
    args = parser.parse_args(argv)
    web.run_app(build_app(), host="127.0.0.1", port=args.port, print=None, access_log=None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
