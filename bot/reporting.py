"""Settings to the digest and reports: what ``bot/`` hands ``notifications`` for issue 6."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from bot.settings import Settings
from notifications.digest import DigestSchedule, DigestSettings, digest_source
from notifications.meeting_calls import meeting_call_reminders
from notifications.render import Renderer
from notifications.report import ReportFormat, build_report, render_report
from notifications.tick import NudgeSource
from notifications.unreached import unreached_notice_source
from storage import db
from storage.domain.clock import SystemClock, local_today
from storage.domain.periods import InvalidPeriod, parse_period
from storage.repos.units import UnitRepository


def digest_settings(settings: Settings) -> DigestSettings:
    return DigestSettings(
        schedule=DigestSchedule(weekday=settings.digest_weekday - 1, at=settings.digest_time),
        steering_conversation=settings.steering_conversation or None,
        payment=settings.payment_policy(),
    )


# --- korttid report -------------------------------------------------------------------------


def tick_sources(settings: Settings, renderer: Renderer) -> list[NudgeSource]:
    """What a tick queues besides the rules: the weekly digest (issue 6), and the nudge to the
    handläggare when a home-going notice still waits for its coordinator (issue 18), and the
    reminders the working day before a called meeting (issue 15)."""
    return [
        digest_source(digest_settings(settings), renderer),
        unreached_notice_source(),
        meeting_call_reminders(renderer),
    ]


def add_report_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--period",
        required=True,
        help="ISO week 2026-W48, month 2026-11, quarter 2026Q3, half 2026H2 or year 2026",
    )
    parser.add_argument("--unit", help="one unit's short name, e.g. ÄNG; default: every unit")
    parser.add_argument(
        "--format", choices=[f.value for f in ReportFormat], default=ReportFormat.HTML.value
    )
    parser.add_argument("--out", type=Path, help="file to write; default korttid-rapport-<period>")
    parser.add_argument(
        "--today", type=date.fromisoformat, help="count as if today were this date (YYYY-MM-DD)"
    )


async def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    try:
        period = parse_period(args.period)
    except InvalidPeriod:
        print(
            f"korttid: --period {args.period!r}: use 2026-W48, 2026-11, 2026Q3, 2026H2 or 2026",
            file=sys.stderr,
        )
        return 2
    clock = SystemClock()
    today = args.today or local_today(clock)
    form = ReportFormat(args.format)
    renderer = Renderer()
    engine = db.create_engine(settings.database_url)
    try:
        await db.upgrade(engine)
        async with db.transaction(db.session_factory(engine)) as session:
            unit = await UnitRepository(session).by_code(args.unit) if args.unit else None
            if args.unit and unit is None:
                print(f"korttid: no unit {args.unit!r}", file=sys.stderr)
                return 2
            data = await build_report(
                session,
                period,
                today,
                renderer,
                unit=unit,
                payment=settings.payment_policy(),
                generated_at=clock.now(),
            )
    finally:
        await engine.dispose()
    content = await render_report(data, form, renderer)
    out = args.out or Path(_default_name(period.code, unit.code if unit else None, form))
    out.write_bytes(content)
    print(f"report {period.code} ({form.value}) written to {out}")
    return 0


def _default_name(period: str, unit: str | None, form: ReportFormat) -> str:
    return f"korttid-rapport-{period}{'-' + unit if unit else ''}.{form.value}"
