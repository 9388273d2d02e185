"""``korttid tick`` and ``korttid outbox list``: the notification engine from the command line."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.app import tick_once
from bot.settings import Settings
from storage import db
from storage.domain.clock import SystemClock
from storage.models import OutboxStatus
from storage.repos.delivery import DeliveryRepository, OutboxLine


def add_tick_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--now",
        help="evaluate and deliver as if it were this instant, e.g. 2026-12-01T08:00 "
        "(local time unless an offset is given); default: now",
    )


def add_outbox_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--status",
        choices=[status.value for status in OutboxStatus],
        help="only rows in this state, e.g. waiting (the recipient has not opened Korttid yet)",
    )
    parser.add_argument("--limit", type=int, default=50, help="newest rows first (default 50)")


def parse_now(text: str | None, timezone: str) -> datetime:
    """An ISO instant; without an offset it is read as local (Europe/Stockholm) time."""
    if not text:
        return SystemClock().now()
    instant = datetime.fromisoformat(text)
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=ZoneInfo(timezone))
    return instant


async def cmd_tick(args: argparse.Namespace, settings: Settings) -> int:
    try:
        now = parse_now(args.now, settings.timezone)
    except ValueError:
        print(f"korttid: --now {args.now!r} is not an ISO date and time", file=sys.stderr)
        return 2
    done = await tick_once(settings, now)  # wired by the composition root, as when serving
    local = now.astimezone(ZoneInfo(settings.timezone))
    print(f"tick at {local:%Y-%m-%d %H:%M %Z}: {done}")
    return 0


async def cmd_outbox_list(args: argparse.Namespace, settings: Settings) -> int:
    engine = db.create_engine(settings.database_url)
    try:
        await db.upgrade(engine)
        async with db.transaction(db.session_factory(engine)) as session:
            lines = await DeliveryRepository(session).listing(args.status, args.limit)
    finally:
        await engine.dispose()
    zone = ZoneInfo(settings.timezone)
    print("id\tstatus\tkind\tdue\tattempts\trecipient\tstay\terror")
    for line in lines:
        print(_outbox_row(line, zone))
    return 0


def _outbox_row(line: OutboxLine, zone: ZoneInfo) -> str:
    return "\t".join(
        [
            str(line.id),
            line.status,
            line.kind,
            f"{line.due_at.astimezone(zone):%Y-%m-%d %H:%M}",
            str(line.attempts),
            line.recipient or "(unit channel)",
            line.case_code or "-",
            line.last_error or "",
        ]
    )
