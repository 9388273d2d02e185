"""A local Bot Framework connector for the benchmark, run as a process of its own.

It stands where Teams' connector service would: it accepts the activities a bot sends, answers
member look-ups (how Korttid learns a user's email), and counts what arrived. With ``--scale`` it
also enforces Teams-style send limits, answering 429 with ``Retry-After`` like Teams does.

It is separate from ``tests/connector.py`` on purpose: the benchmark never imports the tests, and
this one keeps counters instead of every activity, so it stays small over 100 000 messages.

Control endpoints (for the driver): ``POST /_bench/members`` registers members,
``GET /_bench/stats`` returns the counters, ``POST /_bench/reset`` clears them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import math
import socket
import sys
import time
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

# Teams' documented limits for a bot (DESIGN.md): per conversation 7 messages a second and 60 per
# 30 s; per app and tenant 50 requests a second. (limit, window in seconds)
CONVERSATION_WINDOWS: tuple[tuple[int, float], ...] = ((7, 1.0), (60, 30.0))
TENANT_WINDOWS: tuple[tuple[int, float], ...] = ((50, 1.0),)


@dataclass
class SlidingWindows:
    """Sliding-window counters for one key; ``scale`` Teams-seconds pass per real second."""

    windows: Sequence[tuple[int, float]]
    scale: float
    stamps: deque[float] = field(default_factory=deque)

    def retry_after(self, now: float) -> float:
        """Real seconds until one more request is allowed (0: now)."""
        longest = max(window for _, window in self.windows) / self.scale
        while self.stamps and self.stamps[0] <= now - longest:
            self.stamps.popleft()
        wait = 0.0
        for limit, window in self.windows:
            real = window / self.scale
            recent = [stamp for stamp in self.stamps if stamp > now - real]
            if len(recent) >= limit:
                wait = max(wait, recent[-limit] + real - now)
        return wait

    def record(self, now: float) -> None:
        self.stamps.append(now)


@dataclass
class Limits:
    scale: float
    conversations: dict[str, SlidingWindows] = field(default_factory=dict)
    tenants: dict[str, SlidingWindows] = field(default_factory=dict)

    def check(self, conversation: str, tenant: str) -> float:
        """0 when the send is allowed (and counted); else the real seconds to wait."""
        now = time.monotonic()
        conv = self.conversations.setdefault(
            conversation, SlidingWindows(CONVERSATION_WINDOWS, self.scale)
        )
        ten = self.tenants.setdefault(tenant, SlidingWindows(TENANT_WINDOWS, self.scale))
        wait = max(conv.retry_after(now), ten.retry_after(now))
        if wait > 0:
            return wait
        conv.record(now)
        ten.record(now)
        return 0.0


@dataclass
class Stats:
    posts: int = 0
    updates: int = 0  # message updates: a meeting's one card changed in place (issue 16)
    throttled: int = 0
    member_lookups: int = 0
    by_conversation: Counter[str] = field(default_factory=Counter)
    markers: Counter[str] = field(default_factory=Counter)
    # What the last message to each conversation was: "card" or "text" (a sanity check).
    last_kind: dict[str, str] = field(default_factory=dict)
    first_post: float | None = None
    last_post: float | None = None

    def as_json(self) -> dict[str, Any]:
        duplicates = {marker: n for marker, n in self.markers.items() if n > 1}
        return {
            "posts": self.posts,
            "updates": self.updates,
            "throttled": self.throttled,
            "member_lookups": self.member_lookups,
            "conversations": len(self.by_conversation),
            "by_conversation": dict(self.by_conversation),
            "markers": len(self.markers),
            "duplicate_markers": len(duplicates),
            "last_kind": self.last_kind,
            "first_post": self.first_post,
            "last_post": self.last_post,
        }


class BenchConnector:
    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits
        self.stats = Stats()
        self.members: dict[str, dict[str, str]] = {}
        self.chats: dict[str, list[dict[str, str]]] = {}  # a group chat's members, in order
        self._ids = itertools.count(1)

    def app(self) -> web.Application:
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.router.add_post("/v3/conversations/{cid}/activities/{reply_to}", self._post)
        app.router.add_post("/v3/conversations/{cid}/activities", self._post)
        app.router.add_put("/v3/conversations/{cid}/activities/{aid}", self._put)
        app.router.add_get("/v3/conversations/{cid}/members/{mid}", self._member)
        app.router.add_get("/v3/conversations/{cid}/pagedmembers", self._paged_members)
        app.router.add_post("/_bench/members", self._add_members)
        app.router.add_post("/_bench/chats", self._add_chats)
        app.router.add_get("/_bench/stats", self._stats)
        app.router.add_post("/_bench/reset", self._reset)
        return app

    async def _post(self, request: web.Request) -> web.StreamResponse:
        activity = await request.json()
        conversation = request.match_info["cid"]
        if self.limits is not None:
            wait = self.limits.check(conversation, _tenant(activity))
            if wait > 0:
                self.stats.throttled += 1
                # Teams answers in whole seconds of its own time.
                teams_seconds = max(1, math.ceil(wait * self.limits.scale))
                return web.json_response(
                    {"error": {"code": "Throttled"}},
                    status=429,
                    headers={"Retry-After": str(teams_seconds)},
                )
        now = time.monotonic()
        stats = self.stats
        stats.posts += 1
        stats.by_conversation[conversation] += 1
        stats.first_post = stats.first_post if stats.first_post is not None else now
        stats.last_post = now
        stats.last_kind[conversation] = "card" if activity.get("attachments") else "text"
        marker = find_marker(activity)
        if marker is not None:
            stats.markers[marker] += 1
        return web.json_response({"id": f"sent-{next(self._ids)}"})

    async def _put(self, request: web.Request) -> web.StreamResponse:
        await request.read()
        self.stats.updates += 1
        return web.json_response({"id": request.match_info["aid"]})

    async def _member(self, request: web.Request) -> web.StreamResponse:
        self.stats.member_lookups += 1
        member = self.members.get(request.match_info["mid"])
        if member is None:
            return web.json_response({"error": {"code": "MemberNotFound"}}, status=404)
        return web.json_response(member)

    async def _paged_members(self, request: web.Request) -> web.StreamResponse:
        """A group chat's members in one page (a chat of a few staff fits in Teams' first page)."""
        self.stats.member_lookups += 1
        return web.json_response({"members": self.chats.get(request.match_info["cid"], [])})

    async def _add_members(self, request: web.Request) -> web.StreamResponse:
        for member in await request.json():
            self._remember(member)
        return web.json_response({"members": len(self.members)})

    async def _add_chats(self, request: web.Request) -> web.StreamResponse:
        """``{conversation id: [members]}``: group chats, their members known one by one too."""
        for conversation, members in (await request.json()).items():
            self.chats[conversation] = [self._remember(member) for member in members]
        return web.json_response({"chats": len(self.chats)})

    def _remember(self, member: dict[str, str]) -> dict[str, str]:
        known = {
            "id": member["id"],
            "name": member["name"],
            "email": member["email"],
            "userPrincipalName": member["email"],
            "aadObjectId": member["aadObjectId"],
        }
        self.members[member["id"]] = known
        return known

    async def _stats(self, _request: web.Request) -> web.StreamResponse:
        return web.json_response(self.stats.as_json())

    async def _reset(self, _request: web.Request) -> web.StreamResponse:
        self.stats = Stats()
        if self.limits is not None:
            self.limits = Limits(self.limits.scale)
        return web.json_response({"ok": True})


def _tenant(activity: dict[str, Any]) -> str:
    tenant = (activity.get("channelData") or {}).get("tenant") or {}
    return str(tenant.get("id") or (activity.get("conversation") or {}).get("tenantId") or "")


def find_marker(value: Any) -> str | None:
    """The first ``stay_id`` anywhere in the activity: the delivery benchmark numbers its cards
    through it, so a lost or duplicated card shows up in the counts."""
    if isinstance(value, dict):
        if "stay_id" in value and value["stay_id"] is not None:
            return str(value["stay_id"])
        children: Any = value.values()
    elif isinstance(value, list):
        children = value
    else:
        return None
    for child in children:
        found = find_marker(child)
        if found is not None:
            return found
    return None


async def serve(port: int, scale: float | None) -> None:
    connector = BenchConnector(Limits(scale) if scale else None)
    runner = web.AppRunner(connector.app(), access_log=None)
    await runner.setup()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    site = web.SockSite(runner, sock)
    await site.start()
    print(f"READY {sock.getsockname()[1]}", flush=True)
    await asyncio.Event().wait()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.connector", description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument(
        "--scale", type=float, default=None, help="enforce Teams' limits, this many times faster"
    )
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.port, args.scale))
    return 0


if __name__ == "__main__":
    sys.exit(main())
