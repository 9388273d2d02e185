"""Malformed requests get a clear 4xx and no stack trace; health endpoints tell the truth."""

from __future__ import annotations

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import func
from sqlmodel import select

from storage.db import transaction
from storage.models import AuditEvent, ConversationRef
from tests.channel import TeamsChannel


def _url(server: TestServer, path: str) -> str:
    return str(server.make_url(path))


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b"{not json", "application/json", 400),
        (b"[1, 2]", "application/json", 400),
        (b'{"text": "no type"}', "application/json", 400),
        (b'{"type": "message"}', "application/json", 400),
        (b'{"type": "message", "conversation": {"id": 5}}', "application/json", 400),
        (b"\xff\xfe", "application/json", 400),
        (b'{"type": "message"}', "text/plain", 415),
        (b"a=b", "application/x-www-form-urlencoded", 415),
    ],
)
async def test_bad_bodies_are_refused_without_trace(
    app_server: TestServer, body: bytes, content_type: str, status: int
) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            _url(app_server, "/api/messages"), data=body, headers={"Content-Type": content_type}
        ) as response,
    ):
        text = await response.text()
    assert response.status == status
    assert "Traceback" not in text
    assert 'File "' not in text


async def test_body_over_limit_is_413(app_server: TestServer) -> None:
    huge = b'{"type": "message", "text": "' + b"a" * (300 * 1024) + b'"}'
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            _url(app_server, "/api/messages"),
            data=huge,
            headers={"Content-Type": "application/json"},
        ) as response,
    ):
        assert response.status == 413


async def test_unknown_activity_type_is_accepted_and_ignored(
    channel: TeamsChannel, sessions
) -> None:
    someone = channel.user("u", "u@kommun.se")
    response = await channel.post(channel.activity(someone, type_="messageReaction"))

    assert response.status == 200
    assert channel.connector.sent == []
    async with transaction(sessions) as session:
        assert (await session.exec(select(func.count()).select_from(ConversationRef))).one() == 0
        assert (await session.exec(select(func.count()).select_from(AuditEvent))).one() == 0


async def test_get_on_messages_is_405(app_server: TestServer) -> None:
    async with aiohttp.ClientSession() as http, http.get(_url(app_server, "/api/messages")) as r:
        assert r.status == 405


async def test_health_and_readiness(app_server: TestServer) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(_url(app_server, "/healthz")) as health:
            assert health.status == 200
        async with http.get(_url(app_server, "/readyz")) as ready:
            assert ready.status == 200
            assert (await ready.json())["status"] == "ok"


async def test_readiness_is_503_when_the_database_is_not_migrated(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from bot.app import create_app
    from bot.settings import Settings

    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}", env="dev", app_id=""
    )
    server = TestServer(create_app(settings, migrate=False), host="127.0.0.1")
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as http, http.get(_url(server, "/readyz")) as ready:
            body = await ready.json()
        assert ready.status == 503
        assert body["status"] == "unavailable"
    finally:
        await server.close()


async def test_unsupported_invoke_is_a_4xx_not_a_server_error(
    channel: TeamsChannel, sessions
) -> None:
    from tests.helpers import seed_staff

    await seed_staff(sessions, ("anna@kommun.se", "Anna", "handlaggare", "ÄNG"))
    anna = channel.user("anna", "anna@kommun.se")

    response = await channel.post(channel.activity(anna, type_="invoke", name="task/fetch"))

    assert response.status == 400


@pytest.mark.parametrize(
    "change",
    [
        {"channelId": None},
        {"channelId": ""},
        {"conversation": {"id": "a:" + "x" * 400, "conversationType": "personal"}},
        {"from": {"id": "29:x", "aadObjectId": "a" * 65}},
        {"channelData": {"tenant": {"id": "t" * 65}}},
        {"serviceUrl": "http://127.0.0.1/" + "p" * 600},
    ],
)
async def test_oversized_or_missing_ids_are_400_and_touch_nothing(
    channel: TeamsChannel, sessions, change: dict[str, object]
) -> None:
    from tests.helpers import seed_staff

    await seed_staff(sessions, ("anna@kommun.se", "Anna", "handlaggare", "ÄNG"))
    anna = channel.user("anna", "anna@kommun.se")
    activity = {**channel.activity(anna, text="hjälp"), **change}

    response = await channel.post(activity)

    assert response.status == 400
    assert channel.connector.sent == []
