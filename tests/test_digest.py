"""The weekly digest, ``rapport`` and the trend chart."""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, date, datetime, time
from typing import Any

import numpy
import pytest
from aiohttp.test_utils import TestServer
from PIL import Image
from sqlalchemy import func
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.app import NOTIFIER
from bot.settings import Settings
from notifications.chart import HEIGHT_PX, WIDTH_PX, render_trend_png
from notifications.digest import (
    DIGEST,
    DigestSchedule,
    DigestSettings,
    digest_payload,
    queue_weekly_digests,
)
from notifications.indicators import TrendPoint
from notifications.render import Renderer
from storage import db
from storage.db import transaction
from storage.domain.clock import STOCKHOLM
from storage.domain.periods import iso_week_of, parse_period
from storage.models import ConversationKind, OutboxMessage, Stay
from storage.repos.conversations import ConversationRepository
from storage.repos.units import UnitRepository
from tests.cards import MAX_CARD_BYTES, assert_valid_card
from tests.channel import TeamsChannel
from tests.helpers import card_texts, seed_staff
from tests.indicator_data import POLICY, TODAY, seed_indicator_data

CASE_CODE = re.compile(r"\b[A-ZÅÄÖ]{2,4}-\d{2,4}\b")
MANAGERS = (
    ("maja@kommun.se", "Maja Enhetschef", "enhetschef", "AAA"),
    ("mats@kommun.se", "Mats Enhetschef", "enhetschef", "AAA;BBB"),
    ("hanna@kommun.se", "Hanna Handläggare", "handlaggare", "AAA;BBB"),
)
WITH_POLICY = DigestSettings(payment=POLICY)


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=STOCKHOLM).astimezone(UTC)


async def _digests(sessions: async_sessionmaker[AsyncSession]) -> list[OutboxMessage]:
    async with transaction(sessions) as session:
        rows = await session.exec(
            select(OutboxMessage)
            .where(OutboxMessage.kind == "weekly_digest", OutboxMessage.template == DIGEST)
            .order_by(col(OutboxMessage.key))
        )
        return list(rows.all())


async def _queue(
    sessions: async_sessionmaker[AsyncSession],
    now: datetime,
    settings: DigestSettings = WITH_POLICY,
) -> int:
    async with transaction(sessions) as session:
        return await queue_weekly_digests(session, now, Renderer(), settings=settings)


def _assert_aggregates_only(card: dict[str, Any]) -> None:
    dumped = json.dumps(card, ensure_ascii=False)
    assert not CASE_CODE.search(dumped), CASE_CODE.search(dumped)
    for _email, name, _roles, _units in MANAGERS:
        assert name not in dumped


# --- when -----------------------------------------------------------------------------------

SCHEDULE = [
    (DigestSchedule(), local(date(2026, 11, 23), 7, 29), None),
    (DigestSchedule(), local(date(2026, 11, 23), 7, 30), "2026-W47"),
    (DigestSchedule(), local(date(2026, 11, 29), 23, 0), "2026-W47"),  # late: still last week's
    (DigestSchedule(), local(date(2026, 3, 30), 7, 30), "2026-W13"),  # the Monday after DST
    (DigestSchedule(), local(date(2027, 1, 4), 8, 0), "2026-W53"),
    (DigestSchedule(weekday=2, at=time(8, 0)), local(date(2026, 11, 24), 9, 0), None),
    (DigestSchedule(weekday=2, at=time(8, 0)), local(date(2026, 11, 25), 8, 0), "2026-W47"),
]


@pytest.mark.parametrize(("schedule", "now", "week"), SCHEDULE)
def test_the_digest_reports_last_week_from_its_moment(
    schedule: DigestSchedule, now: datetime, week: str | None
) -> None:
    reported = schedule.reported_week(now)
    assert (reported.code if reported else None) == week


def test_settings_name_the_moment() -> None:
    from bot.reporting import digest_settings

    settings = Settings(digest_weekday=3, digest_time="06:45", steering_conversation="19:abc")
    digest = digest_settings(settings)
    assert digest.schedule == DigestSchedule(weekday=2, at=time(6, 45))
    assert digest.steering_conversation == "19:abc"


# --- once per week per manager -------------------------------------------------------------


async def test_each_manager_gets_one_digest_per_week_also_across_a_restart(
    sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    await seed_indicator_data(sessions)
    await seed_staff(sessions, *MANAGERS)
    monday = local(TODAY, 7, 30)

    assert await _queue(sessions, local(TODAY, 7, 0)) == 0  # not yet
    assert await _queue(sessions, monday) == 2  # Maja and Mats, not Hanna
    assert await _queue(sessions, local(TODAY, 7, 31)) == 0
    # A restart: a new engine and sessions on the same database, as a new process would have.
    engine = db.create_engine(settings.database_url)
    try:
        assert await _queue(db.session_factory(engine), local(date(2026, 11, 25), 10)) == 0
    finally:
        await engine.dispose()

    rows = await _digests(sessions)
    assert len(rows) == 2
    assert all(row.key.startswith("digest:2026-W47:staff:") for row in rows)
    assert {row.recipient_staff_id for row in rows} == {
        int(row.key.rsplit(":", 1)[1]) for row in rows
    }
    # Next Monday brings next week's.
    assert await _queue(sessions, local(date(2026, 11, 30), 7, 30)) == 2
    assert len(await _digests(sessions)) == 4


async def test_a_tick_builds_a_bounded_number_and_the_next_tick_the_rest(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await seed_staff(sessions, *MANAGERS)
    monday = local(TODAY, 7, 30)
    async with transaction(sessions) as session:
        assert await queue_weekly_digests(session, monday, settings=WITH_POLICY, limit=1) == 1
    async with transaction(sessions) as session:
        assert await queue_weekly_digests(session, monday, settings=WITH_POLICY, limit=1) == 1
    async with transaction(sessions) as session:
        assert await queue_weekly_digests(session, monday, settings=WITH_POLICY, limit=1) == 0
    assert len(await _digests(sessions)) == 2


async def test_the_card_is_valid_small_and_shows_only_the_managers_units(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    ids = await seed_indicator_data(sessions)
    await seed_staff(sessions, *MANAGERS)
    await _queue(sessions, local(TODAY, 7, 30))
    renderer = Renderer()

    cards = {}
    for row in await _digests(sessions):
        card = renderer.card(row.template, **row.payload)
        assert_valid_card(card)
        cards[row.recipient_staff_id] = card
    maja, mats = (cards[key] for key in sorted(cards))

    maja_text = card_texts(maja)
    assert "Veckorapport vecka 47 2026" in maja_text
    assert "Almens korttidsenhet" in maja_text
    assert "Björkens" not in maja_text  # not her unit
    assert "Uppföljning inom 7 dagar" in maja_text
    assert "0 %" in maja_text  # AAA-003's deadline passed with no meeting
    assert "✖ når inte målet" in maja_text
    assert "1 påminnelse kunde inte levereras" in maja_text
    # Told apart: waiting for someone who has not opened Korttid is not "undeliverable".
    assert "1 påminnelse under perioden gällde personal som inte har öppnat Korttid än" in (
        maja_text
    )
    mats_text = card_texts(mats)
    assert "Almens korttidsenhet, Björkens korttidsenhet" in mats_text
    assert "Per enhet" in mats_text  # a table when there are several units
    for card in (maja, mats):
        _assert_aggregates_only(card)
        images = [item for item in card["body"] if item["type"] == "Image"]
        assert len(images) == 1
        assert images[0]["url"].startswith("data:image/png;base64,")
    assert ids  # the units exist


async def test_the_steering_group_gets_every_unit(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await seed_indicator_data(sessions)
    async with transaction(sessions) as session:
        ref = await ConversationRepository(session).save(
            conversation_id="19:styrgrupp@thread.tacv2",
            kind=ConversationKind.CHANNEL,
            service_url="https://smba.example/",
            reference={},
            tenant_id=None,
            team_id="19:team",
        )
    settings = DigestSettings(steering_conversation="19:styrgrupp@thread.tacv2", payment=POLICY)

    assert await _queue(sessions, local(TODAY, 8), settings) == 1
    assert await _queue(sessions, local(TODAY, 9), settings) == 0

    (row,) = await _digests(sessions)
    assert row.conversation_ref_id == ref.id
    assert row.recipient_staff_id is None
    card = Renderer().card(row.template, **row.payload)
    assert_valid_card(card)
    text = card_texts(card)
    assert "Alla enheter" in text
    assert "Almens korttidsenhet" in text and "Björkens korttidsenhet" in text
    assert "1 påminnelse" not in text and "2 påminnelser kunde inte levereras" in text
    assert "2 påminnelser under perioden gällde personal som inte har öppnat Korttid" in text
    _assert_aggregates_only(card)


async def test_an_unknown_steering_channel_queues_nothing_and_breaks_nothing(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await seed_staff(sessions, MANAGERS[0])
    async with transaction(sessions) as session:
        await UnitRepository(session).get_or_create("AAA")
    settings = DigestSettings(steering_conversation="19:unknown@thread.tacv2")
    assert await _queue(sessions, local(TODAY, 8), settings) == 1  # Maja's only


async def test_many_units_still_fit_in_one_card(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with transaction(sessions) as session:
        for number in range(60):
            unit, _ = await UnitRepository(session).get_or_create(
                f"U{number:02d}", f"Korttidsenheten nummer {number}"
            )
            assert unit.id is not None
            session.add(
                Stay(
                    unit_id=unit.id, case_code=f"U{number:02d}-001", arrival_date=date(2026, 11, 9),
                    followup_deadline=date(2026, 11, 16), goal="Hem",
                )
            )  # fmt: skip
    renderer = Renderer()
    async with transaction(sessions) as session:
        payload = await digest_payload(
            session, iso_week_of(date(2026, 11, 16)), TODAY, renderer, unit_ids=None, payment=None
        )
    card = renderer.card(DIGEST, **payload)

    assert_valid_card(card)
    assert len(json.dumps(card, ensure_ascii=False).encode()) < MAX_CARD_BYTES
    assert "Betalningsansvar" in card_texts(card)
    _assert_aggregates_only(card)


# --- rapport, over HTTP --------------------------------------------------------------------


async def test_rapport_kvartal_answers_an_enhetschef(
    channel: TeamsChannel, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await seed_indicator_data(sessions)
    await seed_staff(sessions, *MANAGERS)
    mats = channel.user("mats", "mats@kommun.se", "Mats Enhetschef")

    await channel.say(mats, "rapport kvartal")

    (card,) = channel.connector.cards()
    assert_valid_card(card)
    text = card_texts(card)
    assert "Kvartalsrapport kvartal 4 2026" in text
    assert "1 oktober 2026 – 31 december 2026 (siffror till och med 23 november 2026)" in text
    assert "67 %" in text  # 4 of 6 follow-ups on time
    assert "Mot förra kvartalet" in text
    assert "inte konfigurerat" in text  # the test bot has no daily amount configured
    _assert_aggregates_only(card)


@pytest.mark.parametrize(
    ("typed", "title"),
    [
        ("rapport", "Veckorapport vecka 47 2026"),
        ("Rapport vecka", "Veckorapport vecka 47 2026"),
        ("rapport vecka 45", "Veckorapport vecka 45 2026"),
        ("rapport halvår", "Halvårsrapport andra halvåret 2026"),
        ("rapport 2026q3", "Kvartalsrapport kvartal 3 2026"),
        ("rapport 2026-W40", "Veckorapport vecka 40 2026"),
    ],
)
async def test_rapport_takes_the_period_asked_for(
    channel: TeamsChannel, sessions: async_sessionmaker[AsyncSession], typed: str, title: str
) -> None:
    await seed_staff(sessions, MANAGERS[0])
    maja = channel.user("maja", "maja@kommun.se")

    await channel.say(maja, typed)

    (card,) = channel.connector.cards()
    assert title in card_texts(card)
    assert "inga data" in card_texts(card)


@pytest.mark.parametrize(
    ("typed", "answer"),
    [
        ("rapport nästa år", "Jag förstår inte perioden ”nästa år”"),
        ("rapport 2026Q5", "Skriv till exempel **rapport** (förra veckan)"),
        ("rapport 2027Q1", "2027Q1 har inte börjat ännu"),
    ],
)
async def test_rapport_explains_what_to_type(
    channel: TeamsChannel, sessions: async_sessionmaker[AsyncSession], typed: str, answer: str
) -> None:
    await seed_staff(sessions, MANAGERS[0])
    maja = channel.user("maja", "maja@kommun.se")

    replies = await channel.say(maja, typed)

    assert channel.connector.cards() == []
    assert answer in replies[0].activity["text"]


async def test_rapport_is_for_enhetschefer(
    channel: TeamsChannel, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await seed_staff(sessions, MANAGERS[2])
    hanna = channel.user("hanna", "hanna@kommun.se")

    replies = await channel.say(hanna, "rapport")

    assert channel.connector.cards() == []
    assert "enhetschef" in replies[0].activity["text"]


# --- through the tick, to the manager's chat -------------------------------------------------


async def test_the_tick_delivers_the_digest_to_the_managers_chat_once(
    channel: TeamsChannel, sessions: async_sessionmaker[AsyncSession], app_server: TestServer
) -> None:
    await seed_indicator_data(sessions)
    await seed_staff(sessions, MANAGERS[0])
    maja = channel.user("maja", "maja@kommun.se")
    await channel.say(maja, "rapport")  # she has the app: a conversation to write to
    channel.connector.clear()
    notifier = app_server.app[NOTIFIER]

    await notifier.tick(local(TODAY, 7, 30))
    await notifier.tick(local(TODAY, 7, 45))

    cards = channel.connector.cards(maja.conversation_id)
    digests = [c for c in cards if "Veckorapport vecka 47 2026" in card_texts(c)]
    assert len(digests) == 1
    assert_valid_card(digests[0])
    async with transaction(sessions) as session:
        sent = await session.exec(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.kind == "weekly_digest", OutboxMessage.status == "sent")
        )
        assert sent.one() == 1


# --- the chart --------------------------------------------------------------------------------


def _points(values: bool) -> list[TrendPoint]:
    weeks = parse_period("2026Q4").weeks()[:12]
    return [
        TrendPoint(
            week,
            (0.5 + n / 30) if values else None,
            (10.0 + n % 5) if values else None,
            (n * 9300) if values else None,
        )
        for n, week in enumerate(weeks)
    ]


@pytest.mark.parametrize(("scale", "values"), [(1.0, True), (2.0, True), (1.0, False)])
def test_the_chart_is_a_small_png_with_something_drawn(scale: float, values: bool) -> None:
    labels = Renderer().catalogue["digest"]["chart"]
    png = render_trend_png(_points(values), labels, scale=scale)

    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    assert image.size == (round(WIDTH_PX * scale), round(HEIGHT_PX * scale))
    pixels = numpy.asarray(image.convert("RGB")).reshape(-1, 3)
    ink = int((pixels != 255).any(axis=1).sum())
    assert ink / len(pixels) > 0.01  # axes, text and lines, not a blank image
    colours = numpy.unique(pixels, axis=0)
    assert 3 <= len(colours) <= 16  # drawn, and reduced to a small palette
    if scale == 1.0:
        assert len(png) < 14_000  # keeps the card under Teams' 28 KB as base64
    if values:
        red, blue = pixels[:, 0].astype(int), pixels[:, 2].astype(int)
        assert int(((blue > 120) & (red < 90)).sum()) > 200  # the trend lines and bars
