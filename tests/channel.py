"""Acts as the Teams channel: posts activities to the running bot over real HTTP."""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from tests.connector import LocalConnector, Member, Sent

TENANT = "00000000-0000-0000-0000-00000000cafe"
BOT = {"id": "28:korttid-bot", "name": "Korttid"}


@dataclass
class TeamsUser:
    member: Member

    @property
    def conversation_id(self) -> str:
        return f"a:personal-{self.member.id}"


class TeamsChannel:
    def __init__(
        self,
        bot_url: str,
        connector: LocalConnector,
        session: aiohttp.ClientSession,
        settle: Callable[[], Awaitable[None]] | None = None,
    ):
        self.bot_url = bot_url
        self.connector = connector
        self.http = session
        # A press is answered before the chat is told (issue 16): wait for that too, so what the
        # bot sent for an exchange is all there.
        self.settle = settle
        self._ids = itertools.count(1)

    def user(self, key: str, email: str, name: str = "Test Person") -> TeamsUser:
        member = Member(id=f"29:{key}", name=name, email=email, aad_object_id=f"aad-{key}")
        self.connector.members[member.id] = member
        return TeamsUser(member)

    def activity(
        self,
        user: TeamsUser,
        *,
        type_: str = "message",
        text: str | None = None,
        value: dict[str, Any] | None = None,
        conversation_id: str | None = None,
        conversation_type: str = "personal",
        team_id: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        activity: dict[str, Any] = {
            "type": type_,
            "id": f"act-{next(self._ids)}",
            "timestamp": "2026-11-23T08:00:00.000Z",
            "serviceUrl": self.connector.url,
            "channelId": "msteams",
            "from": {
                "id": user.member.id,
                "name": user.member.name,
                "aadObjectId": user.member.aad_object_id,
            },
            "conversation": {
                "id": conversation_id or user.conversation_id,
                "conversationType": conversation_type,
                "tenantId": TENANT,
            },
            "recipient": BOT,
            "channelData": {"tenant": {"id": TENANT}},
            "locale": "sv-SE",
        }
        if team_id:
            activity["channelData"]["team"] = {"id": team_id}
            activity["channelData"]["channel"] = {"id": activity["conversation"]["id"]}
        if text is not None:
            activity["text"] = text
        if value is not None:
            activity["value"] = value
        activity.update(extra)
        return activity

    async def post(
        self, activity: dict[str, Any], headers: dict[str, str] | None = None
    ) -> aiohttp.ClientResponse:
        response = await self.http.post(
            f"{self.bot_url}/api/messages", json=activity, headers=headers
        )
        await response.read()
        if self.settle is not None:
            await self.settle()
        return response

    async def say(self, user: TeamsUser, text: str, **kwargs: Any) -> list[Sent]:
        """Send a message and return what the bot sent in reply to it."""
        activity = self.activity(user, text=text, **kwargs)
        return await self._exchange(activity)

    async def submit(self, user: TeamsUser, value: dict[str, Any], **kwargs: Any) -> list[Sent]:
        """An Action.Submit from a card: a message with a value and no text."""
        activity = self.activity(user, value=value, **kwargs)
        return await self._exchange(activity)

    async def execute(
        self, user: TeamsUser, verb: str, data: dict[str, Any], **kwargs: Any
    ) -> tuple[dict[str, Any], list[Sent]]:
        """An Action.Execute press: the invoke answer's body, and what the bot sent meanwhile."""
        value = {"action": {"type": "Action.Execute", "verb": verb, "data": data}}
        value["trigger"] = kwargs.pop("trigger", "manual")
        activity = self.activity(
            user, type_="invoke", name="adaptiveCard/action", value=value, **kwargs
        )
        before = len(self.connector.sent)
        response = await self.post(activity)
        assert response.status == 200, response.status
        return await response.json(), self.connector.sent[before:]

    async def _exchange(self, activity: dict[str, Any]) -> list[Sent]:
        before = len(self.connector.sent)
        response = await self.post(activity)
        assert response.status in (200, 201, 202), response.status
        return self.connector.sent[before:]
