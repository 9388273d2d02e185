"""Told means told, at once (issue 15): from a turn's commit to the connector's 201.

``python -m bench.wake`` runs Korttid's real app (``create_app``, in this process) against a
local connector that answers 201 at once and records when each card arrived. Handläggare set
home-goings by typing (``hemgång KOD DATUM 9:30``); each turn queues one notice to its unit's
coordinator in its transaction, and the delivery the turn wakes sends it. No tick runs (the
scheduler is off), so every notice measured left because a turn woke delivery.

The latency of a notice runs from its outbox row's ``created_at`` (written in the turn, just
before the commit: an upper bound) to the connector's receipt, both on this machine's clock.
SQLite runs one instance; PostgreSQL two, the turns alternating between them. A notice that
arrives twice, or never, is counted.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import logging
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from sqlmodel import select

from bench.databases import database, postgres_admin_url
from bot.app import SESSIONS, create_app
from bot.settings import Settings
from dialogs.staff_import import StaffRow, import_staff
from storage.db import transaction
from storage.domain.clock import STOCKHOLM
from storage.models import OutboxMessage, Stay
from storage.repos.staff import StaffRepository
from storage.repos.stays import StayRepository
from storage.repos.units import UnitRepository

log = logging.getLogger("bench.wake")

UNITS = 20  # one coordinator each, so no chat nears Teams' 7 messages a second
START = datetime(2026, 11, 23, 9, 0, tzinfo=STOCKHOLM)  # a Monday morning: sending time
PACE_S = 0.1  # a turn every 100 ms: well under the tenant's 50 sends a second


class RunningClock:
    """The real passage of time, from a working morning (delivery is silent at night)."""

    def __init__(self, start: datetime) -> None:
        self.start = start.astimezone(UTC)
        self.began = time.monotonic()

    def now(self) -> datetime:
        return self.start + timedelta(seconds=time.monotonic() - self.began)


@dataclass
class Connector:
    """Answers every send with 201 at once and records when it came."""

    arrivals: list[tuple[datetime, str, dict[str, Any]]] = field(default_factory=list)
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v3/conversations/{cid}/activities/{reply_to}", self.post)
        app.router.add_post("/v3/conversations/{cid}/activities", self.post)
        return app

    async def post(self, request: web.Request) -> web.Response:
        at = datetime.now(UTC)
        activity = await request.json()
        self.arrivals.append((at, request.match_info["cid"], activity))
        return web.json_response({"id": f"sent-{next(self.ids)}"}, status=201)


async def _serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}"


def _activity(service_url: str, who: str, text: str, number: int) -> dict[str, Any]:
    return {
        "type": "message",
        "id": f"bench-{number}",
        "serviceUrl": service_url,
        "channelId": "msteams",
        "from": {"id": f"29:{who}", "name": who, "aadObjectId": f"aad-{who}"},
        "conversation": {"id": f"a:{who}", "conversationType": "personal"},
        "recipient": {"id": "28:korttid-bench", "name": "Korttid"},
        "text": text,
    }


async def _seed(app: web.Application, turns: int) -> list[tuple[str, str]]:
    """Units with a handläggare and a coordinator each; returns (handläggare, case code)."""
    sessions = app[SESSIONS]
    rows = [
        StaffRow(n, f"{role}{u}@bench.korttid.se", f"{role} {u}", (role,), (f"B{u:02d}",))
        for n, (u, role) in enumerate(
            itertools.product(range(UNITS), ("handlaggare", "koordinator")), start=2
        )
    ]
    work: list[tuple[str, str]] = []
    async with transaction(sessions) as session:
        await import_staff(session, rows)
        staff = StaffRepository(session)
        for row in rows:
            member = await staff.by_email(row.email)
            assert member is not None
            await staff.link_teams_identity(member, f"aad-{row.email.split('@')[0]}", None)
        for number in range(turns):
            unit_no = number % UNITS
            unit = await UnitRepository(session).by_code(f"B{unit_no:02d}")
            assert unit is not None and unit.id is not None
            code = f"B{unit_no:02d}-{number:04d}"
            arrival = START.date() - timedelta(days=3)
            await StayRepository(session).add(
                Stay(unit_id=unit.id, case_code=code, arrival_date=arrival,
                     goal="Bench", followup_deadline=arrival)
            )  # fmt: skip
            work.append((f"handlaggare{unit_no}", code))
    return work


async def scenario(url: str, instances: int, turns: int) -> dict[str, Any]:
    clock = RunningClock(START)
    settings = Settings(
        database_url=url, env="dev", app_id="", scheduler_enabled=False, deliver_at_once=True
    )
    connector = Connector()
    connector_runner, connector_url = await _serve(connector.app())
    apps = [create_app(settings, clock=clock, migrate=(i == 0)) for i in range(instances)]
    runners: list[web.AppRunner] = []
    bots: list[str] = []
    for app in apps:  # the first migrates the fresh database before the second starts
        runner, bot_url = await _serve(app)
        runners.append(runner)
        bots.append(f"{bot_url}/api/messages")
    try:
        work = await _seed(apps[0], turns)
        day = (START.date() + timedelta(days=3)).isoformat()
        async with aiohttp.ClientSession() as http:
            numbers = itertools.count(1)
            for unit in range(UNITS):  # each coordinator opens Korttid: their chat is known
                who = f"koordinator{unit}"
                await http.post(
                    bots[0], json=_activity(connector_url + "/", who, "hjälp", next(numbers))
                )
            for index, (who, code) in enumerate(work):
                text = f"hemgång {code} {day} 9:30"
                activity = _activity(connector_url + "/", who, text, next(numbers))
                async with http.post(bots[index % instances], json=activity) as response:
                    assert response.status == 200, response.status
                await asyncio.sleep(PACE_S)
        await asyncio.sleep(2.0)  # the last notices
        return await _figures(apps[0], connector, turns, instances)
    finally:
        for runner in runners:
            await runner.cleanup()
        await connector_runner.cleanup()


async def _figures(
    app: web.Application, connector: Connector, turns: int, instances: int
) -> dict[str, Any]:
    async with transaction(app[SESSIONS]) as session:
        rows = (
            await session.exec(select(OutboxMessage).where(OutboxMessage.kind == "home_going_set"))
        ).all()
    created = {row.payload["case_code"]: row.created_at for row in rows}
    arrived: dict[str, list[datetime]] = {}
    for at, conversation, activity in connector.arrivals:
        if not conversation.startswith("a:koordinator"):
            continue
        for attachment in activity.get("attachments") or []:
            code = _case_code(attachment.get("content") or {})
            if code is not None and code in created:
                arrived.setdefault(code, []).append(at)
    latencies = sorted(
        (times[0] - created[code]).total_seconds() * 1000 for code, times in arrived.items()
    )
    counts = Counter(len(times) for times in arrived.values())
    return {
        "instances": instances,
        "turns": turns,
        "notices_queued": len(created),
        "delivered": len(arrived),
        "missing": len(created) - len(arrived),
        "duplicated": sum(n for k, n in counts.items() if k > 1),
        "p50_ms": round(statistics.median(latencies), 1) if latencies else None,
        "p99_ms": round(_percentile(latencies, 0.99), 1) if latencies else None,
        "max_ms": round(latencies[-1], 1) if latencies else None,
    }


def _case_code(card: dict[str, Any]) -> str | None:
    """The notice names its stay by case code in its first text block ("...: B01-0001")."""
    text = json.dumps(card, ensure_ascii=False)
    for word in text.replace('"', " ").replace(",", " ").split():
        if len(word) == 8 and word[0] == "B" and word[3] == "-":
            return word
    return None


def _percentile(values: Sequence[float], share: float) -> float:
    index = min(len(values) - 1, max(0, round(share * (len(values) - 1))))
    return values[index]


async def main(turns: int, backends: Sequence[str]) -> list[dict[str, Any]]:
    results = []
    admin = postgres_admin_url() if "postgres" in backends else ""
    with tempfile.TemporaryDirectory() as folder:
        for backend in backends:
            if backend == "postgres" and not admin:
                log.warning("no PostgreSQL: skipped")
                continue
            instances = 2 if backend == "postgres" else 1
            async with database(backend, Path(folder), admin) as url:
                figures = await scenario(url, instances, turns)
            results.append({"backend": backend, **figures})
    return results


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument("--backends", default="sqlite,postgres")
    arguments = parser.parse_args()
    for line in asyncio.run(main(arguments.turns, arguments.backends.split(","))):
        print(json.dumps(line))
