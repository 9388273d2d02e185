"""A local Bot Framework connector: records what the bot sends, answers member look-ups.

This is the only fake: it stands where Teams' connector service would.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer


@dataclass
class Sent:
    method: str
    conversation_id: str
    activity: dict[str, Any]
    reply_to: str | None = None
    activity_id: str | None = None


@dataclass
class Member:
    id: str
    name: str
    email: str
    aad_object_id: str
    user_role: str = "user"  # Teams says "guest" for a guest of the tenant


@dataclass
class LocalConnector:
    sent: list[Sent] = field(default_factory=list)
    members: dict[str, Member] = field(default_factory=dict)
    chats: dict[str, list[str]] = field(default_factory=dict)  # group chat id -> member ids
    failures: list[Callable[[web.Request], web.StreamResponse | None]] = field(default_factory=list)
    server: TestServer | None = None
    put_gate: asyncio.Event | None = None  # when set, a message update waits for it
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("")).rstrip("/") + "/"

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v3/conversations/{cid}/activities/{reply_to}", self._post)
        app.router.add_post("/v3/conversations/{cid}/activities", self._post)
        app.router.add_put("/v3/conversations/{cid}/activities/{aid}", self._put)
        app.router.add_get("/v3/conversations/{cid}/members/{mid}", self._member)
        app.router.add_get("/v3/conversations/{cid}/pagedmembers", self._paged_members)
        app.router.add_post("/v3/conversations", self._create_conversation)
        return app

    async def start(self) -> None:
        self.server = TestServer(self.app(), host="127.0.0.1")
        await self.server.start_server()

    async def close(self) -> None:
        if self.server is not None:
            await self.server.close()

    def _fault(self, request: web.Request) -> web.StreamResponse | None:
        for failure in list(self.failures):
            response = failure(request)
            if response is not None:
                return response
        return None

    async def _post(self, request: web.Request) -> web.StreamResponse:
        fault = self._fault(request)
        if fault is not None:
            return fault
        activity = await request.json()
        activity_id = f"sent-{next(self._ids)}"
        self.sent.append(
            Sent(
                "POST",
                request.match_info["cid"],
                activity,
                request.match_info.get("reply_to"),
                activity_id,
            )
        )
        return web.json_response({"id": activity_id})

    async def _put(self, request: web.Request) -> web.StreamResponse:
        fault = self._fault(request)
        if fault is not None:
            return fault
        if self.put_gate is not None:
            await self.put_gate.wait()
        activity = await request.json()
        aid = request.match_info["aid"]
        self.sent.append(Sent("PUT", request.match_info["cid"], activity, None, aid))
        return web.json_response({"id": aid})

    async def _member(self, request: web.Request) -> web.StreamResponse:
        member = self.members.get(request.match_info["mid"])
        if member is None:
            return web.json_response({"error": {"code": "MemberNotFound"}}, status=404)
        return web.json_response(
            {
                "id": member.id,
                "name": member.name,
                "email": member.email,
                "userPrincipalName": member.email,
                "aadObjectId": member.aad_object_id,
            }
        )

    async def _paged_members(self, request: web.Request) -> web.StreamResponse:
        """Teams' paged member list: ``pageSize`` at a time, an offset as continuation token."""
        fault = self._fault(request)
        if fault is not None:
            return fault
        ids = self.chats.get(request.match_info["cid"], [])
        size = int(request.query.get("pageSize") or 50)
        start = int(request.query.get("continuationToken") or 0)
        page = [self._account(self.members[mid]) for mid in ids[start : start + size]]
        more = start + size < len(ids)
        return web.json_response(
            {"members": page, "continuationToken": str(start + size) if more else None}
        )

    @staticmethod
    def _account(member: Member) -> dict[str, Any]:
        return {
            "id": member.id,
            "name": member.name,
            "email": member.email,
            "userPrincipalName": member.email,
            "aadObjectId": member.aad_object_id,
            "userRole": member.user_role,
        }

    async def _create_conversation(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        return web.json_response(
            {"id": f"created-{next(self._ids)}", "activityId": "", "body": body}
        )

    # --- reading what was sent ---
    def texts(self, conversation_id: str | None = None) -> list[str]:
        return [s.activity.get("text") or "" for s in self.for_conversation(conversation_id)]

    def cards(self, conversation_id: str | None = None) -> list[dict[str, Any]]:
        cards = []
        for sent in self.for_conversation(conversation_id):
            for attachment in sent.activity.get("attachments") or []:
                if attachment.get("contentType") == "application/vnd.microsoft.card.adaptive":
                    cards.append(attachment["content"])
        return cards

    def posts(self, conversation_id: str | None = None) -> list[Sent]:
        return [s for s in self.for_conversation(conversation_id) if s.method == "POST"]

    def updates(self, conversation_id: str | None = None) -> list[Sent]:
        """Message updates (PUT on an activity): a card changed in place."""
        return [s for s in self.for_conversation(conversation_id) if s.method == "PUT"]

    def for_conversation(self, conversation_id: str | None) -> list[Sent]:
        return [
            s for s in self.sent if conversation_id is None or s.conversation_id == conversation_id
        ]

    def clear(self) -> None:
        self.sent.clear()
