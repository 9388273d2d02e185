"""Issue 16: a press in a shared chat, answered in the invoke response, under 20 meetings at once.

One Korttid instance (SQLite by default, ``--database-url`` for PostgreSQL) in this process, with
a small connector beside it that answers the paged member list and accepts posts and message
updates. Twenty group chats of eight staff each hold a meeting at step 3; in every round each
chat gets one press of "Spara" (a tick changed, alternately by the nurse and the handläggare),
all twenty at once. The figure is the time from the press's POST to its invoke answer, which
includes the message update of the shared card made within the turn.

Run: ``.venv/bin/python -m bench.shared_meeting [--rounds 50]``.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.app import SESSIONS, create_app
from bot.settings import Settings
from dialogs.staff_import import StaffRow, import_staff
from storage.db import transaction
from storage.domain.clock import FixedClock
from storage.models import Stay
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


class Connector:
    """Where Teams' connector would be: members per chat, and every post and update counted."""

    def __init__(self) -> None:
        self.chats: dict[str, list[dict[str, str]]] = {}
        self.posts = 0
        self.updates = 0
        self._ids = itertools.count(1)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v3/conversations/{cid}/activities", self._post)
        app.router.add_post("/v3/conversations/{cid}/activities/{rid}", self._post)
        app.router.add_put("/v3/conversations/{cid}/activities/{aid}", self._put)
        app.router.add_get("/v3/conversations/{cid}/pagedmembers", self._paged)
        app.router.add_get("/v3/conversations/{cid}/members/{mid}", self._member)
        return app

    async def _member(self, request: web.Request) -> web.Response:
        members = self.chats.get(request.match_info["cid"], [])
        found = [m for m in members if m["id"] == request.match_info["mid"]]
        return web.json_response(found[0]) if found else web.json_response({}, status=404)

    async def _post(self, request: web.Request) -> web.Response:
        await request.read()
        self.posts += 1
        return web.json_response({"id": f"sent-{next(self._ids)}"})

    async def _put(self, request: web.Request) -> web.Response:
        await request.read()
        self.updates += 1
        return web.json_response({"id": request.match_info["aid"]})

    async def _paged(self, request: web.Request) -> web.Response:
        return web.json_response({"members": self.chats.get(request.match_info["cid"], [])})


def _person(meeting: int, seat: int) -> dict[str, str]:
    key = f"m{meeting:02d}p{seat}"
    return {
        "id": f"29:{key}",
        "name": f"Bench {key}",
        "email": f"{key}@bench.se",
        "userPrincipalName": f"{key}@bench.se",
        "aadObjectId": f"aad-{key}",
    }


async def seed(app: web.Application, connector: Connector) -> None:
    rows: list[StaffRow] = []
    for meeting in range(MEETINGS):
        members = [_person(meeting, seat) for seat in range(MEMBERS)]
        connector.chats[_chat(meeting)] = members
        for seat, member in enumerate(members):
            role = ROLES[seat]
            rows.append(StaffRow(len(rows) + 2, member["email"], member["name"], (role,), ("ÄNG",)))
    sessions = app[SESSIONS]
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


async def open_meeting(driver: Driver, app: web.Application, meeting: int) -> dict[str, Any]:
    """Started by the chat's handläggare and moved on to the nurse's step 3."""
    code = f"ÄNG-{meeting + 100:03d}"
    await driver.post(driver.activity(meeting, 0, type="message", text=f"uppföljning {code}"))
    # The first card went to the connector; its button's data names the meeting and step 1.
    async with transaction(app[SESSIONS]) as session:
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


async def run(rounds: int, database_url: str | None, at_once: int = MEETINGS) -> dict[str, Any]:
    connector = Connector()
    connector_server = TestServer(connector.app(), host="127.0.0.1")
    await connector_server.start_server()
    with tempfile.TemporaryDirectory() as tmp:
        url = database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        settings = Settings(database_url=url, env="dev", app_id="", scheduler_enabled=False)
        bot_server = TestServer(create_app(settings, clock=FixedClock(NOW)), host="127.0.0.1")
        await bot_server.start_server()
        try:
            await seed(bot_server.app, connector)
            async with aiohttp.ClientSession() as http:
                driver = Driver(
                    str(bot_server.make_url("")).rstrip("/"),
                    str(connector_server.make_url("")).rstrip("/") + "/",
                    http,
                )
                cards = [await open_meeting(driver, bot_server.app, m) for m in range(MEETINGS)]
                latencies: list[float] = []
                for round_ in range(rounds):
                    for first in range(0, MEETINGS, at_once):
                        batch = range(first, min(first + at_once, MEETINGS))
                        results = await asyncio.gather(
                            *(one_press(driver, m, cards[m], round_) for m in batch)
                        )
                        for m, (seconds, card) in zip(batch, results, strict=True):
                            latencies.append(seconds)
                            cards[m] = card
        finally:
            await bot_server.close()
            await connector_server.close()
    figures = _figures(latencies, connector, "postgresql" if database_url else "sqlite")
    return {**figures, "presses_at_once": at_once}


def _figures(latencies: Sequence[float], connector: Connector, backend: str) -> dict[str, Any]:
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
        "card_updates": connector.updates,
        "posts": connector.posts,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--at-once", type=int, default=MEETINGS, help="presses sent together")
    args = parser.parse_args(argv)
    figures = asyncio.run(run(args.rounds, args.database_url, args.at_once))
    json.dump(figures, sys.stdout, indent=2, ensure_ascii=False)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
