"""Turns over HTTP: Korttid's help and meeting-step turns against two echo baselines.

Each server is its own process; the connector is another. Figures per server: one conversation
sequentially, then ``conversations`` conversations at once (each waits for its reply before
sending the next message), with turns/s, p50, p99 and memory.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import aiohttp

from bench.driver import Conversation, Driver, LoadResult, http_session
from bench.procs import Server, free_port, start_connector, start_server
from dialogs.staff_import import StaffRow, import_staff
from storage import db
from storage.models import Stay
from storage.repos.stays import StayRepository
from storage.repos.units import UnitRepository

log = logging.getLogger("bench")

# The demo's handläggare (bot/demo.py) and one of her stays that has no meeting yet.
DEMO_HANDLAGGARE = Conversation("hanna", "handlaggare@demo.korttid.se", "Hanna Handläggare")
DEMO_STAY = "ÄNG-032"
BENCH_UNIT = "ÄNG"


@dataclass(frozen=True)
class TurnSizes:
    sequential: int  # timed turns in one conversation
    concurrent_each: int  # timed turns per conversation when all run at once
    conversations: int  # conversations at once
    warmup: int  # untimed turns first, so imports and caches are warm
    memory_round: int  # turns per memory round (two rounds); 0 skips the memory check
    sdk_divisor: int = 2  # the SDK echo is ~10x slower: fewer turns keep the run short


def help_text(_index: int) -> str:
    return "hjälp"


def meeting_text(index: int) -> str:
    """Forward and back again, so the meeting never reaches its decision step."""
    return "nästa" if index % 2 == 0 else "tillbaka"


def echo_text(index: int) -> str:
    return f"hej {index}"


def bench_people(count: int) -> list[Conversation]:
    return [
        Conversation(f"bench{n:03d}", f"bench{n:03d}@demo.korttid.se", f"Bänk Handläggare {n}")
        for n in range(1, count + 1)
    ]


def bench_stay_code(index: int) -> str:
    return f"{BENCH_UNIT}-{900 + index:03d}"


class TurnBench:
    def __init__(self, log_dir: Path, sizes: TurnSizes) -> None:
        self.log_dir = log_dir
        self.sizes = sizes
        self.connector: Server | None = None
        self.http: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> TurnBench:
        self.connector = await start_connector(self.log_dir)
        self.http = http_session(self.sizes.conversations * 2)
        return self

    async def __aexit__(self, *_exc: object) -> None:
        if self.http is not None:
            await self.http.close()
        if self.connector is not None:
            await self.connector.stop()

    # --- the connector ---

    async def _control(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        assert self.http is not None and self.connector is not None
        async with self.http.request(method, self.connector.url + path, json=body) as response:
            response.raise_for_status()
            data: dict[str, Any] = await response.json()
            return data

    async def register(self, conversations: Sequence[Conversation]) -> None:
        await self._control("POST", "/_bench/members", [c.member() for c in conversations])

    async def stats(self) -> dict[str, Any]:
        return await self._control("GET", "/_bench/stats")

    async def reset(self) -> None:
        await self._control("POST", "/_bench/reset")

    def driver(self, server: Server) -> Driver:
        assert self.http is not None and self.connector is not None
        return Driver(self.http, server.url, self.connector.url)

    # --- one measured scenario ---

    async def measure(
        self,
        server: Server,
        sequential: Conversation,
        concurrent: Sequence[Conversation],
        text_for: Callable[[int], str],
        *,
        divisor: int = 1,
    ) -> dict[str, Any]:
        """Warm up, then the sequential and the concurrent run; each reply is counted."""
        driver = self.driver(server)
        sizes = self.sizes
        await driver.run([sequential], max(sizes.warmup // divisor, 2), text_for)
        await driver.run(concurrent, 2, text_for)
        seq = await self._counted(
            driver.run([sequential], _even(sizes.sequential // divisor), text_for)
        )
        conc = await self._counted(
            driver.run(concurrent, _even(sizes.concurrent_each // divisor), text_for)
        )
        return {"sequential": seq, "concurrent": conc, "memory_mb": server.memory_mb()}

    async def _counted(self, run: Any) -> dict[str, Any]:
        """A run's summary, with every turn checked to have got exactly one reply."""
        await self.reset()
        result: LoadResult = await run
        stats = await self.stats()
        summary = result.summary()
        # A meeting turn answers by updating the meeting's one card in place (issue 16), and
        # "nästa" adds a short step line: there the updates are the one answer per turn.
        replies = stats.get("updates") or stats["posts"]
        summary["replies"] = replies
        if replies != result.turns:
            summary["errors"] += abs(result.turns - replies)
            summary["error_samples"].append(f"{replies} replies to {result.turns} turns")
        return summary

    # --- the baselines ---

    async def baseline(self, name: str, module: str, divisor: int = 1) -> dict[str, Any]:
        port = free_port()
        server = await start_server(
            name, ["-m", module, "--port", str(port)], port=port, log_dir=self.log_dir
        )
        try:
            people = bench_people(self.sizes.conversations)
            return await self.measure(server, DEMO_HANDLAGGARE, people, echo_text, divisor=divisor)
        finally:
            await server.stop()

    # --- Korttid ---

    async def korttid(self, database_url: str, today: date) -> dict[str, Any]:
        """Help and meeting-step turns on a demo database, then the memory rounds."""
        env = korttid_env(database_url)
        await seed_demo(database_url, env, self.log_dir)
        people = bench_people(self.sizes.conversations)
        await seed_bench_people(database_url, people, today)
        await self.register([DEMO_HANDLAGGARE, *people])
        port = free_port()
        server = await start_server(
            "korttid",
            ["-m", "bot.cli", "serve", "--port", str(port)],
            port=port,
            log_dir=self.log_dir,
            env=env,
            ready_path="/readyz",
        )
        try:
            results: dict[str, Any] = {}
            seq_help = DEMO_HANDLAGGARE.in_thread("help")
            results["help"] = await self.measure(
                server, seq_help, [p.in_thread("help") for p in people], help_text
            )
            meeting_people = [p.in_thread("meeting") for p in people]
            seq_meeting = DEMO_HANDLAGGARE.in_thread("meeting")
            problems = await self._open_meetings(server, seq_meeting, meeting_people)
            results["meeting"] = await self.measure(
                server, seq_meeting, meeting_people, meeting_text
            )
            results["meeting"]["setup_problems"] = problems
            if self.sizes.memory_round:
                results["memory"] = await self._memory(server, meeting_people)
            return results
        finally:
            await server.stop()

    async def _open_meetings(
        self, server: Server, sequential: Conversation, people: Sequence[Conversation]
    ) -> list[str]:
        """Start each conversation's meeting (untimed); the step card must come back."""
        driver = self.driver(server)
        problems: list[str] = []
        starts = [(sequential, DEMO_STAY)] + [
            (person, bench_stay_code(n)) for n, person in enumerate(people, start=1)
        ]
        for conversation, code in starts:
            _elapsed, error = await driver.say(conversation, f"uppföljning {code}")
            if error:
                problems.append(f"{code}: {error}")
        stats = await self.stats()
        for conversation, code in starts:
            if stats["last_kind"].get(conversation.conversation_id) != "card":
                problems.append(f"{code}: no step card after 'uppföljning'")
        return problems

    async def _memory(self, server: Server, people: Sequence[Conversation]) -> dict[str, Any]:
        """Two rounds of meeting turns: the peak after the first, and growth over the second."""
        driver = self.driver(server)
        each = _even(max(self.sizes.memory_round // len(people), 2))
        rounds: list[dict[str, Any]] = []
        for _ in range(2):
            result = await driver.run(people, each, meeting_text)
            rounds.append({"turns": result.turns, "errors": result.errors, **server.memory_mb()})
        return {
            "turns_per_round": rounds[0]["turns"],
            "errors": rounds[0]["errors"] + rounds[1]["errors"],
            "rss_after_first_mb": round(rounds[0]["rss"], 1),
            "peak_after_first_mb": round(rounds[0]["peak"], 1),
            "rss_after_second_mb": round(rounds[1]["rss"], 1),
            "peak_after_second_mb": round(rounds[1]["peak"], 1),
            "growth_mb": round(rounds[1]["rss"] - rounds[0]["rss"], 1),
        }


def _even(count: int) -> int:
    """Meeting turns alternate forward and back: an even count ends where it began."""
    return max(2, count + count % 2)


def korttid_env(database_url: str) -> dict[str, str]:
    """``korttid serve`` as a developer runs it locally: dev mode, no scheduler ticking."""
    return {
        "DATABASE_URL": database_url,
        "KORTTID_ENV": "dev",
        "MicrosoftAppId": "",
        "MicrosoftAppPassword": "",
        "KORTTID_SCHEDULER": "false",
        "KORTTID_LOG_LEVEL": "INFO",
    }


async def seed_demo(database_url: str, env: dict[str, str], log_dir: Path) -> None:
    """``korttid demo seed``, as a person would run it."""
    log = (log_dir / "demo-seed.log").open("ab")
    try:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.cli",
            "demo",
            "seed",
            stdout=log,
            stderr=asyncio.subprocess.STDOUT,
            env={**os.environ, **env},
        )
        code = await process.wait()
    finally:
        log.close()
    if code != 0:
        raise RuntimeError(f"korttid demo seed failed ({code}); see {log_dir / 'demo-seed.log'}")


async def seed_bench_people(database_url: str, people: Sequence[Conversation], today: date) -> None:
    """One handläggare per concurrent conversation, each with a stay to hold a meeting for.

    Through the product's own code: the staff import and the stay repository.
    """
    engine = db.create_engine(database_url)
    try:
        async with db.transaction(db.session_factory(engine)) as session:
            await import_staff(
                session,
                [
                    StaffRow(n + 2, p.email, p.name, ("handlaggare",), (BENCH_UNIT,))
                    for n, p in enumerate(people)
                ],
            )
            unit = await UnitRepository(session).by_code(BENCH_UNIT)
            assert unit is not None and unit.id is not None
            stays = StayRepository(session)
            for n in range(1, len(people) + 1):
                code = bench_stay_code(n)
                if await stays.case_code_taken(unit.id, code):
                    continue
                await stays.add(
                    Stay(
                        unit_id=unit.id,
                        case_code=code,
                        room=str(n),
                        arrival_date=today,
                        goal="Träna inför hemgång",
                        followup_deadline=today,  # the repository derives the real one
                    )
                )
    finally:
        await engine.dispose()
