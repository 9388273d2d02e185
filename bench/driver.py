"""The load driver: acts as the Teams channel and posts activities to a bot over real HTTP.

A conversation sends its next activity when the bot has answered the previous one (a person
waits for the reply); 50 such conversations run at once for the concurrent figures. Latency is
the time from sending the activity to the bot's HTTP answer, which Korttid and both baselines
give only after their reply reached the connector.
"""

from __future__ import annotations

import asyncio
import itertools
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp

TENANT = "00000000-0000-0000-0000-0000000bench"
BOT = {"id": "28:korttid-bench-bot", "name": "Korttid"}

_activity_ids = itertools.count(1)


@dataclass(frozen=True, slots=True)
class Conversation:
    """One person's personal chat with the bot."""

    key: str
    email: str
    name: str
    thread: str = "main"  # one person may have several conversations with the bot

    def in_thread(self, thread: str) -> Conversation:
        return Conversation(self.key, self.email, self.name, thread)

    @property
    def member_id(self) -> str:
        return f"29:{self.key}"

    @property
    def aad_object_id(self) -> str:
        return f"aad-{self.key}"

    @property
    def conversation_id(self) -> str:
        return f"a:bench-{self.key}-{self.thread}"

    def member(self) -> dict[str, str]:
        return {
            "id": self.member_id,
            "name": self.name,
            "email": self.email,
            "aadObjectId": self.aad_object_id,
        }


def message(conversation: Conversation, text: str, service_url: str) -> dict[str, Any]:
    """A Teams personal-chat message, as Teams posts it to /api/messages."""
    return {
        "type": "message",
        "id": f"bench-{next(_activity_ids)}",
        "timestamp": "2026-11-23T08:00:00.000Z",
        "serviceUrl": service_url,
        "channelId": "msteams",
        "from": {
            "id": conversation.member_id,
            "name": conversation.name,
            "aadObjectId": conversation.aad_object_id,
        },
        "conversation": {
            "id": conversation.conversation_id,
            "conversationType": "personal",
            "tenantId": TENANT,
        },
        "recipient": BOT,
        "channelData": {"tenant": {"id": TENANT}},
        "locale": "sv-SE",
        "text": text,
    }


@dataclass
class LoadResult:
    turns: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    error_samples: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.latencies)
        return {
            "turns": self.turns,
            "errors": self.errors,
            "seconds": round(self.seconds, 3),
            "turns_per_s": round(self.turns / self.seconds, 1) if self.seconds else 0.0,
            "p50_ms": round(_percentile(ordered, 50) * 1000, 2),
            "p99_ms": round(_percentile(ordered, 99) * 1000, 2),
            "mean_ms": round(statistics.fmean(ordered) * 1000, 2) if ordered else 0.0,
            "error_samples": self.error_samples[:3],
        }


def _percentile(ordered: Sequence[float], percent: float) -> float:
    """Nearest-rank percentile of sorted values."""
    if not ordered:
        return 0.0
    rank = max(1, min(len(ordered), round(percent / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


class Driver:
    def __init__(self, http: aiohttp.ClientSession, bot_url: str, service_url: str) -> None:
        self.http = http
        self.bot_url = bot_url.rstrip("/") + "/api/messages"
        self.service_url = service_url.rstrip("/") + "/"

    async def say(self, conversation: Conversation, text: str) -> tuple[float, str | None]:
        """Send one message; returns (seconds, error or None)."""
        body = message(conversation, text, self.service_url)
        started = time.perf_counter()
        try:
            async with self.http.post(self.bot_url, json=body) as response:
                await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as error:
            return time.perf_counter() - started, type(error).__name__
        elapsed = time.perf_counter() - started
        return elapsed, None if status in (200, 201, 202) else f"HTTP {status}"

    async def run(
        self,
        conversations: Sequence[Conversation],
        turns_each: int,
        text_for: Callable[[int], str],
    ) -> LoadResult:
        """Every conversation sends ``turns_each`` messages, one after the other; all at once."""
        result = LoadResult()

        async def converse(conversation: Conversation) -> None:
            for index in range(turns_each):
                elapsed, error = await self.say(conversation, text_for(index))
                result.turns += 1
                result.latencies.append(elapsed)
                if error is not None:
                    result.errors += 1
                    result.error_samples.append(error)

        started = time.perf_counter()
        await asyncio.gather(*(converse(c) for c in conversations))
        result.seconds = time.perf_counter() - started
        return result


def http_session(connections: int = 100) -> aiohttp.ClientSession:
    """Kept-alive connections, as the Bot Connector service keeps them to a bot."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=connections),
        timeout=aiohttp.ClientTimeout(total=60),
    )
