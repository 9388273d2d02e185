"""Issue 16: a press in a shared chat, answered in the invoke response, under 20 meetings at once.

``korttid serve`` runs in a process of its own (SQLite by default, ``--backend postgres`` for a
fresh PostgreSQL database), as in production, beside the benchmark's connector process (it answers
the paged member list and accepts posts and message updates); this process only drives. Twenty
group chats of eight staff each hold a meeting at step 3, and their members press "Spara" (a tick
changed, alternately by the nurse and the handläggare). The figure is the time from the press's
POST to its invoke answer; the shared card's update is sent after the answer and counted
separately (every one must reach the connector, and no saved row may be left).

Two ways to press:

- the open loop (``--open-loop N``, the target's meaning): twenty meetings in progress, each chat
  pressed at random (Poisson) instants ``--mean-interval`` seconds apart on average, whether or
  not the press before was answered: about 10 presses a second on the instance at 2 s;
- rounds (the default): each round presses every chat once, ``--at-once`` of them at the same
  instant; 20 at once is the worst case, not a load people make.

Run: ``.venv/bin/python -m bench.shared_meeting --open-loop 1200 [--backend postgres]`` or
``--rounds 30 --at-once 20``; ``--profile FILE`` writes the server's pyinstrument report.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bench.databases import database, postgres_admin_url
from bench.procs import Server, free_port, start_connector, start_server
from bench.turns import korttid_env
from dialogs.staff_import import StaffRow, import_staff
from storage.db import create_engine, session_factory, transaction
from storage.models import ChatPost, Stay
from storage.repos.meetings import MeetingRepository
from storage.repos.stays import StayRepository
from storage.repos.units import UnitRepository

MEETINGS = 20
MEMBERS = 8  # the handläggare, a nurse, a physiotherapist and five undersköterskor
TENANT = "00000000-0000-0000-0000-00000000cafe"
BOT = {"id": "28:korttid-bench", "name": "Korttid"}
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
ROLES = ("handlaggare", "sjukskoterska", "rehab") + ("omsorgspersonal",) * (MEMBERS - 3)
CARD = "application/vnd.microsoft.card.adaptive"
SETTLE_SECONDS = 60.0


def _person(meeting: int, seat: int) -> dict[str, str]:
    key = f"m{meeting:02d}p{seat}"
    return {
        "id": f"29:{key}",
        "name": f"Bench {key}",
        "email": f"{key}@bench.se",
        "userPrincipalName": f"{key}@bench.se",
        "aadObjectId": f"aad-{key}",
    }


async def seed(sessions: async_sessionmaker[AsyncSession], connector: Server) -> None:
    """The unit's staff (eight per chat), their twenty stays, and each chat's members."""
    rows: list[StaffRow] = []
    chats: dict[str, list[dict[str, str]]] = {}
    for meeting in range(MEETINGS):
        members = [_person(meeting, seat) for seat in range(MEMBERS)]
        chats[_chat(meeting)] = members
        for seat, member in enumerate(members):
            role = ROLES[seat]
            rows.append(StaffRow(len(rows) + 2, member["email"], member["name"], (role,), ("ÄNG",)))
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{connector.url}/_bench/chats", json=chats) as response,
    ):
        assert response.status == 200, response.status
    async with transaction(sessions) as session:
        await import_staff(session, rows)
    async with transaction(sessions) as session:
        unit = await UnitRepository(session).by_code("ÄNG")
        assert unit is not None and unit.id is not None
        for meeting in range(MEETINGS):
            await StayRepository(session).add(
                Stay(
                    unit_id=unit.id,
                    case_code=f"ÄNG-{meeting + 100:03d}",
                    arrival_date=date(2026, 11, 17),
                    decision_end_date=date(2026, 12, 8),
                    goal="Träna förflyttning inför hemgång",
                    followup_deadline=date(2026, 11, 17),
                )
            )


def _chat(meeting: int) -> str:
    return f"19:bench-group-{meeting:02d}@thread.v2"


class Driver:
    def __init__(self, bot_url: str, connector_url: str, http: aiohttp.ClientSession) -> None:
        self.bot_url = bot_url
        self.connector_url = connector_url
        self.http = http
        self.cards: list[dict[str, Any]] = []  # each chat's card, as its last answer showed it
        self._ids = itertools.count(1)

    def activity(self, meeting: int, seat: int, **fields: Any) -> dict[str, Any]:
        person = _person(meeting, seat)
        return {
            "id": f"bench-{next(self._ids)}",
            "timestamp": NOW.isoformat(),
            "serviceUrl": self.connector_url,
            "channelId": "msteams",
            "from": {
                "id": person["id"],
                "name": person["name"],
                "aadObjectId": person["aadObjectId"],
            },
            "conversation": {
                "id": _chat(meeting),
                "conversationType": "groupChat",
                "tenantId": TENANT,
            },
            "recipient": BOT,
            "channelData": {"tenant": {"id": TENANT}},
            "locale": "sv-SE",
            **fields,
        }

    async def post(self, activity: dict[str, Any]) -> dict[str, Any]:
        async with self.http.post(f"{self.bot_url}/api/messages", json=activity) as response:
            assert response.status == 200, response.status
            return await response.json() if response.content_length else {}

    async def press(self, meeting: int, seat: int, data: dict[str, Any]) -> dict[str, Any]:
        value = {"action": {"type": "Action.Execute", "verb": "meeting", "data": data}}
        activity = self.activity(meeting, seat, type="invoke", name="adaptiveCard/action")
        activity["value"] = {**value, "trigger": "manual"}
        body = await self.post(activity)
        assert body.get("type") == CARD, body
        card: dict[str, Any] = body["value"]
        return card


def _walk(node: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        found.append(node)
        for value in node.values():
            found.extend(_walk(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(_walk(value))
    return found


def press_data(card: dict[str, Any], title: str, **changes: str) -> dict[str, Any]:
    nodes = _walk(card)
    inputs = {n["id"]: n.get("value", "") for n in nodes if str(n.get("type")).startswith("Input.")}
    action = next(n for n in nodes if n.get("title") == title and "data" in n)
    return {**inputs, **changes, **action["data"]}


async def open_meeting(
    driver: Driver, sessions: async_sessionmaker[AsyncSession], meeting: int
) -> dict[str, Any]:
    """Started by the chat's handläggare and moved on to the nurse's step 3."""
    code = f"ÄNG-{meeting + 100:03d}"
    await driver.post(driver.activity(meeting, 0, type="message", text=f"uppföljning {code}"))
    # The first card went to the connector; its button's data names the meeting and step 1.
    async with transaction(sessions) as session:
        unit = await UnitRepository(session).by_code("ÄNG")
        assert unit is not None and unit.id is not None
        stay = await StayRepository(session).by_case_code(code, [unit.id])
        assert stay is not None and stay.id is not None
        found = await MeetingRepository(session).in_progress_for_stay(stay.id)
        assert found is not None
    data = {"action": "meeting", "move": "next", "meeting_id": found.id, "step": 1, "shown": ""}
    card = await driver.press(meeting, 0, data)
    return await driver.press(meeting, 0, press_data(card, "Nästa"))


async def one_press(
    driver: Driver, meeting: int, card: dict[str, Any], round_: int
) -> tuple[float, dict[str, Any]]:
    toggles = [n["id"] for n in _walk(card) if n.get("type") == "Input.Toggle"]
    topic = toggles[round_ % len(toggles)]
    current = next(n for n in _walk(card) if n.get("id") == topic)["value"]
    seat = 1 if round_ % 2 else 0  # the nurse, then the handläggare
    data = press_data(card, "Spara", **{topic: "false" if current == "true" else "true"})
    started = time.perf_counter()
    answered = await driver.press(meeting, seat, data)
    return time.perf_counter() - started, answered


@dataclass(frozen=True)
class SharedSizes:
    """Open loop: ``presses`` in all, each chat pressed at Poisson intervals of ``mean_s``."""

    presses: int
    mean_s: float
    burst_rounds: int  # the worst case: every chat pressed at the same instant, this many times


@dataclass
class Instance:
    """The Korttid process under measurement, its connector process, and the database."""

    server: Server
    connector: Server
    sessions: async_sessionmaker[AsyncSession]

    async def connector_stats(self) -> dict[str, Any]:
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"{self.connector.url}/_bench/stats") as response,
        ):
            stats: dict[str, Any] = await response.json()
            return stats


@asynccontextmanager
async def korttid(
    database_url: str, log_dir: Path, wrapper: Sequence[str] = ()
) -> AsyncIterator[tuple[Driver, Instance]]:
    """``korttid serve`` in a process of its own, as in production, with the connector in
    another: the driver's card parsing and the connector's work never share its event loop or
    its core. The twenty meetings are opened at the nurse's step.

    ``wrapper`` runs the server under a profiler (``-m pyinstrument ...``); it is stopped with
    SIGINT then, so the profiler writes its report."""
    connector = await start_connector(log_dir)
    port = free_port()
    try:
        server = await start_server(
            "korttid-shared",
            [*wrapper, "-m", "bot.cli", "serve", "--port", str(port)],
            port=port,
            log_dir=log_dir,
            env=korttid_env(database_url),
            ready_path="/readyz",
        )
    except BaseException:
        await connector.stop()
        raise
    engine = create_engine(database_url)
    try:
        instance = Instance(server, connector, session_factory(engine))
        await seed(instance.sessions, connector)
        async with aiohttp.ClientSession() as http:
            driver = Driver(server.url, connector.url + "/", http)
            driver.cards = [
                await open_meeting(driver, instance.sessions, m) for m in range(MEETINGS)
            ]
            yield driver, instance
    finally:
        if wrapper:
            server.process.send_signal(signal.SIGINT)
            await asyncio.wait_for(server.process.wait(), 120)
        await server.stop()
        await connector.stop()
        await engine.dispose()


async def in_rounds(driver: Driver, rounds: int, at_once: int) -> list[float]:
    """Rounds of one press per chat, ``at_once`` chats pressed at the same instant."""
    latencies: list[float] = []
    for round_ in range(rounds):
        for first in range(0, MEETINGS, at_once):
            batch = range(first, min(first + at_once, MEETINGS))
            results = await asyncio.gather(
                *(one_press(driver, m, driver.cards[m], round_) for m in batch)
            )
            for m, (seconds, card) in zip(batch, results, strict=True):
                latencies.append(seconds)
                driver.cards[m] = card
    return latencies


async def open_loop(driver: Driver, presses: int, mean_s: float, seed_: int = 16) -> list[float]:
    """Twenty meetings in progress: each chat's presses come at random (Poisson) instants, mean
    ``mean_s`` apart, whether or not the one before was answered, as people press."""
    rng = random.Random(seed_)
    latencies: list[float] = []
    per_meeting = -(-presses // MEETINGS)

    async def chat(meeting: int) -> None:
        in_flight: set[asyncio.Task[None]] = set()
        for round_ in range(per_meeting):
            await asyncio.sleep(rng.expovariate(1 / mean_s))
            task = asyncio.create_task(pressed(meeting, round_))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
        await asyncio.gather(*in_flight)

    async def pressed(meeting: int, round_: int) -> None:
        seconds, card = await one_press(driver, meeting, driver.cards[meeting], round_)
        latencies.append(seconds)
        driver.cards[meeting] = card

    await asyncio.gather(*(chat(m) for m in range(MEETINGS)))
    return latencies


async def settled(instance: Instance) -> dict[str, int]:
    """Every card update saved for after its answer has gone (its row deleted), or the rows left
    after ``SETTLE_SECONDS``; then what the connector received."""
    deadline = time.monotonic() + SETTLE_SECONDS
    while True:
        async with transaction(instance.sessions) as session:
            left = len((await session.exec(select(ChatPost))).all())
        if not left or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.1)
    stats = await instance.connector_stats()
    return {"card_updates": stats["updates"], "posts": stats["posts"], "chat_posts_left": left}


async def bench_shared(
    backend: str, workdir: Path, admin_url: str, sizes: SharedSizes
) -> dict[str, Any]:
    """The ``make bench`` section: the open loop (the target) and the burst (the worst case)."""
    async with (
        database(backend, workdir, admin_url) as url,
        korttid(url, workdir) as (driver, instance),
    ):
        before = (await settled(instance))["card_updates"]
        started = time.perf_counter()
        steady = await open_loop(driver, sizes.presses, sizes.mean_s)
        seconds = time.perf_counter() - started
        delivered = await settled(instance)
        figures = _figures(steady, backend)
        figures.update(
            mean_interval_s=sizes.mean_s,
            seconds=round(seconds, 1),
            presses_per_s=round(len(steady) / seconds, 1),
            updates_after_answer=delivered["card_updates"] - before,
            chat_posts_left=delivered["chat_posts_left"],
            load_after=[round(x, 2) for x in os.getloadavg()],
            server_memory_mb=instance.server.memory_mb(),
        )
        burst = await in_rounds(driver, sizes.burst_rounds, MEETINGS)
        return {"open_loop": figures, "burst": _figures(burst, backend)}


async def run(rounds: int, backend: str, at_once: int = MEETINGS) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        async with (
            database(backend, work, _admin_url(backend)) as url,
            korttid(url, work) as (driver, instance),
        ):
            latencies = await in_rounds(driver, rounds, at_once)
            delivered = await settled(instance)
    return {**_figures(latencies, backend), **delivered, "presses_at_once": at_once}


async def run_open(
    presses: int, mean_s: float, backend: str, profile: Path | None = None
) -> dict[str, Any]:
    wrapper = ["-m", "pyinstrument", "--renderer", "text", "--outfile", str(profile)]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        async with (
            database(backend, work, _admin_url(backend)) as url,
            korttid(url, work, wrapper if profile else ()) as (driver, instance),
        ):
            started = time.perf_counter()
            latencies = await open_loop(driver, presses, mean_s)
            seconds = time.perf_counter() - started
            delivered = await settled(instance)
    rate = round(len(latencies) / seconds, 1)
    figures = _figures(latencies, backend)
    return {**figures, **delivered, "mean_interval_s": mean_s, "presses_per_s": rate}


def _admin_url(backend: str) -> str:
    """PostgreSQL: a fresh database is created through this URL (and dropped after)."""
    if backend != "postgres":
        return ""
    admin = postgres_admin_url()
    if not admin:
        raise SystemExit("no PostgreSQL available (KORTTID_BENCH_POSTGRES_URL)")
    return admin


def _figures(latencies: Sequence[float], backend: str) -> dict[str, Any]:
    ordered = sorted(latencies)

    def pct(p: float) -> float:
        return round(1000 * ordered[min(len(ordered) - 1, int(p * len(ordered)))], 1)

    return {
        "backend": backend,
        "meetings": MEETINGS,
        "members_per_chat": MEMBERS,
        "presses": len(ordered),
        "p50_ms": pct(0.50),
        "p95_ms": pct(0.95),
        "p99_ms": pct(0.99),
        "max_ms": round(1000 * ordered[-1], 1),
        "mean_ms": round(1000 * statistics.fmean(ordered), 1),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--at-once", type=int, default=MEETINGS, help="presses sent together")
    parser.add_argument(
        "--open-loop", type=int, default=0, help="presses in all at Poisson instants (the target)"
    )
    parser.add_argument("--mean-interval", type=float, default=2.0, help="seconds, per meeting")
    parser.add_argument(
        "--profile", type=Path, default=None, help="open loop: the server's pyinstrument report"
    )
    args = parser.parse_args(argv)
    if args.open_loop:
        work = run_open(args.open_loop, args.mean_interval, args.backend, args.profile)
    else:
        work = run(args.rounds, args.backend, args.at_once)
    figures = asyncio.run(work)
    json.dump(figures, sys.stdout, indent=2, ensure_ascii=False)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
