"""The weekly digest: each enhetschef's units, and every unit for the steering group.

Level-triggered like every nudge: from the configured moment of the week (Monday 07:30 by
default) any tick queues the digest of the week just ended, once per recipient and week through
the outbox key ``digest:<ISO week>:<recipient>``. A restart, a missed tick or a second instance
changes nothing; a bot that was down on Monday morning sends it when it is back.

The same card answers ``rapport``: ``digest_payload`` builds it for any period and set of units.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from notifications.chart import png_data_uri, render_trend_png
from notifications.indicator_text import (
    compare_label,
    count_rows,
    headline_rows,
    period_dates,
    period_title,
    undelivered_note,
    unit_cells,
)
from notifications.indicators import (
    IndicatorReport,
    compute_indicators,
    compute_trend,
    counts_now,
)
from notifications.outbox import enqueue, outbox_key
from notifications.render import Renderer
from storage.domain.clock import STOCKHOLM
from storage.domain.payment import PaymentPolicy
from storage.domain.periods import Period, iso_week_of
from storage.repos.digests import DigestRecipientRepository
from storage.repos.outbox import OutboxRepository

log = logging.getLogger(__name__)

DIGEST = "digest"
DIGEST_KIND = "weekly_digest"
TREND_WEEKS = 12
# Teams refuses messages over 28 KB; leave room for the activity around the card.
MAX_CARD_BYTES = 26_000
# Digests built per tick: keeps a tick short in a region with hundreds of managers; the next
# tick (a minute later) carries on, since what is already queued is skipped.
DIGESTS_PER_TICK = 25


@dataclass(frozen=True, slots=True)
class DigestSchedule:
    """When in the week the digest goes out (Europe/Stockholm)."""

    weekday: int = 0  # Monday
    at: time = time(7, 30)

    def reported_week(self, now: datetime) -> Period | None:
        """The week to report from ``now``: last week, once this week's moment has come."""
        local = now.astimezone(STOCKHOLM)
        monday = local.date() - timedelta(days=local.weekday())
        moment = datetime.combine(monday + timedelta(days=self.weekday), self.at, STOCKHOLM)
        if local < moment:
            return None
        return iso_week_of(monday - timedelta(days=1))


@dataclass(frozen=True, slots=True)
class DigestSettings:
    schedule: DigestSchedule = field(default_factory=DigestSchedule)
    steering_conversation: str | None = None  # a Teams conversation id or a conversation_ref id
    payment: PaymentPolicy | None = None


def chart_weeks(period: Period, today: date) -> list[Period]:
    """The 12 complete weeks that end with the period (or with last week, if it is running)."""
    last_sunday = today - timedelta(days=today.weekday() + 1)
    last = iso_week_of(min(period.end, last_sunday))
    return [iso_week_of(last.start - timedelta(days=7 * n)) for n in range(TREND_WEEKS - 1, -1, -1)]


async def digest_payload(
    session: AsyncSession,
    period: Period,
    today: date,
    renderer: Renderer,
    *,
    unit_ids: Collection[int] | None,
    payment: PaymentPolicy | None,
    with_chart: bool = True,
) -> dict[str, Any]:
    """Everything the ``digest`` card shows, preformatted; ``unit_ids=None``: every unit.

    The trend comes first, so its chart is drawn in a thread while the two periods' indicators
    are computed in the database.
    """
    drawing: asyncio.Task[bytes] | None = None
    if with_chart:
        trend = await compute_trend(
            session, chart_weeks(period, today), today, unit_ids=unit_ids, payment=payment
        )
        labels = renderer.catalogue["digest"]["chart"]
        drawing = asyncio.create_task(asyncio.to_thread(render_trend_png, trend, labels))
    try:
        now = await counts_now(session, today, unit_ids=unit_ids)
        report = await compute_indicators(
            session, period, today, unit_ids=unit_ids, payment=payment, now=now
        )
        previous = await compute_indicators(
            session, period.previous(), today, unit_ids=unit_ids, payment=payment, now=now
        )
    except BaseException:
        if drawing is not None:
            drawing.cancel()
        raise
    chart = None if drawing is None else png_data_uri(await drawing)
    payload = _payload(report, previous, renderer, all_units=unit_ids is None, chart=chart)
    return _fit_card(payload, renderer)


def _payload(
    report: IndicatorReport,
    previous: IndicatorReport,
    renderer: Renderer,
    *,
    all_units: bool,
    chart: str | None,
) -> dict[str, Any]:
    labels = renderer.catalogue["digest"]
    figures = report.total
    names = [unit.name for unit in report.units]
    scope = labels["all_units"] if all_units else ", ".join(names)
    return {
        "title": period_title(report.period, renderer),
        "period": report.period.code,
        "scope": scope,
        "dates": period_dates(report.period, report.today, renderer),
        "compare_label": compare_label(report.period, renderer),
        "headline": headline_rows(figures, previous.total, renderer),
        "units": [
            {"name": unit.name, "cells": unit_cells(report.by_unit[unit.id], renderer)}
            for unit in report.units
            if unit.id is not None
        ],
        "counts": count_rows(figures, renderer),
        "undelivered": undelivered_note(figures, renderer),
        "chart": chart,
    }


def _fit_card(payload: dict[str, Any], renderer: Renderer) -> dict[str, Any]:
    """Keep the card within Teams' size limit: the per-unit table goes first, then the chart."""
    for drop in ("", "units", "chart"):
        if drop == "units":
            payload = {**payload, "units": []}
        elif drop == "chart":
            payload = {**payload, "chart": None}
        if card_bytes(renderer.card(DIGEST, **payload)) <= MAX_CARD_BYTES:
            break
    return payload


def card_bytes(card: dict[str, Any]) -> int:
    return len(json.dumps(card, ensure_ascii=False).encode("utf-8"))


async def queue_weekly_digests(
    session: AsyncSession,
    now: datetime,
    renderer: Renderer | None = None,
    *,
    settings: DigestSettings | None = None,
    limit: int = DIGESTS_PER_TICK,
) -> int:
    """Queue last week's digest to every enhetschef and the steering group; returns how many.

    Nothing happens before this week's digest moment. Recipients already served this week are
    skipped before anything is computed, so the tick after costs one look-up each. At most
    ``limit`` digests are built per call; the rest follow on the next tick.
    """
    settings = settings or DigestSettings()
    week = settings.schedule.reported_week(now)
    if week is None:
        return 0
    renderer = renderer or Renderer()
    today = now.astimezone(STOCKHOLM).date()
    recipients = DigestRecipientRepository(session)
    queued = 0
    for staff_id, unit_ids in (await recipients.unit_managers()).items():
        key = outbox_key(DIGEST, week.code, "staff", staff_id)
        if await _already_queued(session, key):
            continue
        if queued >= limit:
            return queued
        payload = await digest_payload(
            session, week, today, renderer, unit_ids=unit_ids, payment=settings.payment
        )
        queued += await enqueue(
            session,
            key=key,
            kind=DIGEST_KIND,
            template=DIGEST,
            payload=payload,
            due_at=now,
            recipient_staff_id=staff_id,
        )
    queued += await _queue_steering_digest(session, week, today, now, renderer, settings)
    return queued


async def _queue_steering_digest(
    session: AsyncSession,
    week: Period,
    today: date,
    now: datetime,
    renderer: Renderer,
    settings: DigestSettings,
) -> int:
    if not settings.steering_conversation:
        return 0
    conversation = await DigestRecipientRepository(session).conversation(
        settings.steering_conversation
    )
    if conversation is None or conversation.id is None:
        # Visible to operations: the setting names a conversation the bot has never been in.
        log.warning("steering-group conversation not found; add the bot to that channel")
        return 0
    key = outbox_key(DIGEST, week.code, "conversation", conversation.id)
    if await _already_queued(session, key):
        return 0
    payload = await digest_payload(
        session, week, today, renderer, unit_ids=None, payment=settings.payment
    )
    return int(
        await enqueue(
            session,
            key=key,
            kind=DIGEST_KIND,
            template=DIGEST,
            payload=payload,
            due_at=now,
            conversation_ref_id=conversation.id,
        )
    )


def digest_source(
    settings: DigestSettings, renderer: Renderer | None = None
) -> Callable[[AsyncSession, datetime], Awaitable[Sequence[Any]]]:
    """The digest as a tick source (``notifications.tick.NudgeSource``): it queues its own rows
    in the tick's transaction and hands the tick no nudges to reconcile."""

    async def source(session: AsyncSession, now: datetime) -> Sequence[Any]:
        await queue_weekly_digests(session, now, renderer, settings=settings)
        return ()

    return source


async def _already_queued(session: AsyncSession, key: str) -> bool:
    return await OutboxRepository(session).by_key(key) is not None


__all__: Sequence[str] = (
    "DIGEST",
    "DigestSchedule",
    "DigestSettings",
    "chart_weeks",
    "digest_payload",
    "digest_source",
    "queue_weekly_digests",
)
