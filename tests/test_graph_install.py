"""Korttid installs itself for the staff it must reach (issue 18, Microsoft Graph).

A fake Graph endpoint checks each request (URL, body, bearer token) and answers as the tenant
would: installed, already installed, no consent, unknown user, throttled. End to end over HTTP:
a notice waits for the coordinator, the tick installs Korttid for her, Teams' installationUpdate
delivers the notice once. Refused consent leaves the message waiting and says why in the log.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.app import NOTIFIER, WAITING_DELIVERY, create_app
from bot.graph_install import GraphInstaller
from bot.settings import Settings
from notifications.outbox import enqueue
from storage.db import transaction
from storage.domain.clock import FixedClock
from storage.models import OutboxMessage, Staff
from tests.channel import TeamsChannel
from tests.helpers import card_texts
from tests.stay_helpers import HANNA, KARIN, SARA, seed_people, seed_stay
from tests.test_installation import install_personally

Sessions = async_sessionmaker[AsyncSession]
TOKEN = "fake-graph-token"
CATALOG_ID = "cat-0b5f-korttid"
PERMISSION = "TeamsAppInstallation.ReadWriteSelfForUser.All"


@dataclass
class FakeGraph:
    """Answers ``POST /v1.0/users/{user}/teamwork/installedApps`` from a script per user."""

    answers: dict[str, list[tuple[int, dict[str, str]]]] = field(default_factory=dict)
    requests: list[tuple[str, str, dict[str, object]]] = field(default_factory=list)
    server: TestServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("/v1.0"))

    def calls(self, user: str) -> int:
        return sum(1 for called, _, _ in self.requests if called == user)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        user = request.match_info["user"]
        self.requests.append((user, request.headers.get("Authorization", ""), body))
        script = self.answers.get(user) or [(201, {})]
        status, headers = script.pop(0) if len(script) > 1 else script[0]
        return web.json_response({"error": {"code": str(status)}}, status=status, headers=headers)


@pytest.fixture
async def graph() -> AsyncIterator[FakeGraph]:
    fake = FakeGraph()
    app = web.Application()
    app.router.add_post("/v1.0/users/{user}/teamwork/installedApps", fake.handle)
    fake.server = TestServer(app, host="127.0.0.1")
    await fake.server.start_server()
    yield fake
    await fake.server.close()


@pytest.fixture
def graph_settings(settings: Settings, graph: FakeGraph) -> Settings:
    return settings.model_copy(
        update={
            "graph_proactive_install": True,
            "graph_catalog_app_id": CATALOG_ID,
            "graph_url": graph.url,
        }
    )


@pytest.fixture
async def app_server(graph_settings: Settings, clock: FixedClock) -> AsyncIterator[TestServer]:
    async def token() -> str:
        return TOKEN

    server = TestServer(
        create_app(graph_settings, clock=clock, graph_token=token), host="127.0.0.1"
    )
    await server.start_server()
    yield server
    await server.close()


async def _waiting_notice(channel: TeamsChannel, sessions: Sessions, clock: FixedClock) -> None:
    """A home-going notice for Karin, who has never opened Korttid: delivery makes it wait."""
    await seed_people(sessions, HANNA, SARA, KARIN)
    stay_id = await seed_stay(sessions, clock, "ÄNG-042")
    payload = {
        "change": "set", "case_code": "ÄNG-042", "stay_id": stay_id, "date": "2026-11-26",
        "date_text": "torsdag 26 november 2026", "time": "09:30", "room": "5",
        "transport": "own", "home_help_meets": True, "provider_name": "Hemtjänst Öst",
        "provider_contact": "010-123 45 67",
    }  # fmt: skip
    async with transaction(sessions) as session:
        await enqueue(
            session, key="home-going:karin", kind="home_going_set", template="home_going_notice",
            payload=payload, due_at=clock.now(), recipient_staff_id=(await _karin(sessions)).id,
        )  # fmt: skip


async def _home_going_statuses(sessions: Sessions) -> list[str]:
    async with transaction(sessions) as session:
        rows = (await session.exec(select(OutboxMessage))).all()
    return [row.status for row in rows if row.kind.startswith("home_going_")]


async def _karin(sessions: Sessions) -> Staff:
    async with transaction(sessions) as session:
        return (await session.exec(select(Staff).where(Staff.email == KARIN[0]))).one()


def _notices(channel: TeamsChannel, conversation_id: str) -> list[str]:
    texts = [
        card_texts(sent.activity.get("attachments", [{}])[0].get("content", {}))
        for sent in channel.connector.for_conversation(conversation_id)
    ]
    return [text for text in texts if "Hemgång" in text]


async def test_the_tick_installs_korttid_for_the_coordinator_and_her_notice_arrives_once(
    channel: TeamsChannel,
    sessions: Sessions,
    app_server: TestServer,
    clock: FixedClock,
    graph: FakeGraph,
) -> None:
    await _waiting_notice(channel, sessions, clock)
    notifier = app_server.app[NOTIFIER]

    report = await notifier.tick(clock.now())

    assert report.delivery.waiting == 1 and report.installed == 1
    [(user, authorization, body)] = graph.requests
    assert user == "karin@kommun.se"  # her object id is not known before she writes
    assert authorization == f"Bearer {TOKEN}"
    assert body == {"teamsApp@odata.bind": f"{graph.url}/appCatalogs/teamsApps/{CATALOG_ID}"}
    assert (await _karin(sessions)).app_install_result == "installed"
    assert await _home_going_statuses(sessions) == ["waiting"]

    # The installation makes Teams tell the bot; what waited for her goes at once, once.
    karin = channel.user("karin", "karin@kommun.se", "Karin Koordinator")
    await install_personally(channel, karin)
    await app_server.app[WAITING_DELIVERY].close()
    await install_personally(channel, karin)
    await app_server.app[WAITING_DELIVERY].close()
    clock.set(clock.now() + timedelta(days=2))
    await notifier.tick(clock.now())
    await asyncio.sleep(0.1)

    [notice] = _notices(channel, karin.conversation_id)
    assert "ÄNG-042" in notice and "torsdag 26 november 2026" in notice
    assert await _home_going_statuses(sessions) == ["sent"]
    # She has a conversation now: never installed for again (others with waiting rows may be).
    assert graph.calls("karin@kommun.se") == 1


async def test_without_consent_the_notice_keeps_waiting_and_the_log_says_why(
    channel: TeamsChannel,
    sessions: Sessions,
    app_server: TestServer,
    clock: FixedClock,
    graph: FakeGraph,
    caplog: pytest.LogCaptureFixture,
) -> None:
    graph.answers["karin@kommun.se"] = [(403, {})]
    await _waiting_notice(channel, sessions, clock)
    notifier = app_server.app[NOTIFIER]
    caplog.set_level(logging.INFO)

    report = await notifier.tick(clock.now())

    assert report.installed == 0 and graph.calls("karin@kommun.se") == 1  # 403: not retried
    assert await _home_going_statuses(sessions) == ["waiting"]
    assert any(PERMISSION in record.getMessage() for record in caplog.records)
    assert "ÄNG-042" not in caplog.text
    assert PERMISSION in ((await _karin(sessions)).app_install_result or "")
    # Not retried every tick, but again the next day (consent may have been granted).
    clock.set(clock.now() + timedelta(hours=3))
    await notifier.tick(clock.now())
    assert graph.calls("karin@kommun.se") == 1
    graph.answers["karin@kommun.se"] = [(409, {})]
    clock.set(clock.now() + timedelta(days=1))
    await notifier.tick(clock.now())
    assert (await _karin(sessions)).app_install_result == "already installed"
    assert graph.calls("karin@kommun.se") == 2


async def test_the_object_id_is_used_once_known_and_an_unknown_user_is_not_retried(
    channel: TeamsChannel,
    sessions: Sessions,
    app_server: TestServer,
    clock: FixedClock,
    graph: FakeGraph,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await _waiting_notice(channel, sessions, clock)
    async with transaction(sessions) as session:
        karin = (await session.exec(select(Staff).where(Staff.email == KARIN[0]))).one()
        karin.aad_object_id = "aad-karin"
        session.add(karin)
    graph.answers["aad-karin"] = [(404, {})]
    caplog.set_level(logging.INFO)

    report = await app_server.app[NOTIFIER].tick(clock.now())

    assert report.installed == 0
    assert [user for user, _, _ in graph.requests] == ["aad-karin"]
    assert "404 not found: no such user" in caplog.text
    assert await _home_going_statuses(sessions) == ["waiting"]


# --- the Graph client on its own: throttling and server errors ---------------------------------


def waiting_installer(graph: FakeGraph) -> tuple[GraphInstaller, list[float]]:
    """An installer whose pauses are recorded instead of slept."""
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    async def token() -> str:
        return TOKEN

    return GraphInstaller(token, CATALOG_ID, graph_url=graph.url, sleep=sleep), waits


async def test_a_429_waits_its_retry_after_then_installs(graph: FakeGraph) -> None:
    graph.answers["u1"] = [(429, {"Retry-After": "7"}), (201, {})]
    installer, waits = waiting_installer(graph)

    assert await installer.install("u1") == "installed"
    assert waits == [7.0] and len(graph.requests) == 2


async def test_server_errors_are_retried_with_backoff_and_then_given_up(graph: FakeGraph) -> None:
    graph.answers["u2"] = [(503, {})]
    installer, waits = waiting_installer(graph)

    assert await installer.install("u2") == "503 from Graph"
    assert waits == [1.0, 2.0, 4.0] and len(graph.requests) == 4


async def test_a_429_asking_for_too_long_is_left_for_the_next_attempt(graph: FakeGraph) -> None:
    graph.answers["u3"] = [(429, {"Retry-After": "3600"})]

    async def token() -> str:
        return TOKEN

    async def sleep(seconds: float) -> None:
        raise AssertionError("must not wait an hour inside a tick")

    installer = GraphInstaller(token, CATALOG_ID, graph_url=graph.url, sleep=sleep)

    assert await installer.install("u3") == "429 throttled"
    assert len(graph.requests) == 1


async def test_no_token_is_reported_without_calling_graph(graph: FakeGraph) -> None:
    async def token() -> str:
        raise PermissionError("invalid_client")

    installer = GraphInstaller(token, CATALOG_ID, graph_url=graph.url)

    assert "invalid_client" in await installer.install("u4")
    assert graph.requests == []
