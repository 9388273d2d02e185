"""``korttid``: serve the bot and operate it (database, staff registry, demo data)."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from aiohttp import web
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.app import create_app
from bot.graph_install import GraphInstaller, build_installer
from bot.logs import setup_logging
from bot.manifest import add_build_arguments, cmd_manifest_build
from bot.notify_commands import (
    add_outbox_arguments,
    add_tick_arguments,
    cmd_outbox_list,
    cmd_tick,
)
from bot.reporting import add_report_arguments, cmd_report
from bot.settings import Settings, StartupRefused, check_startup
from dialogs.staff_import import StaffImportError, import_staff, read_staff_csv
from dialogs.stays_import import StayImportError, import_stays, read_stays_csv
from notifications.install import install_for_staff
from storage import db
from storage.domain.clock import SystemClock, local_today
from storage.repos.staff import StaffRepository

log = logging.getLogger("korttid")

Command = Callable[[argparse.Namespace, Settings], Awaitable[int] | int]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="korttid", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the bot's web service")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=3978)
    serve.set_defaults(run=cmd_serve)

    database = sub.add_parser("db", help="database schema").add_subparsers(dest="db", required=True)
    database.add_parser("upgrade", help="migrate to the newest schema").set_defaults(
        run=cmd_db_upgrade
    )
    database.add_parser("status", help="show the schema revision").set_defaults(run=cmd_db_status)

    staff = sub.add_parser("staff", help="the staff registry").add_subparsers(
        dest="staff", required=True
    )
    staff_import = staff.add_parser("import", help="create or update staff from a CSV file")
    staff_import.add_argument("file", type=Path)
    staff_import.set_defaults(run=cmd_staff_import)
    staff.add_parser("list", help="list registered staff").set_defaults(run=cmd_staff_list)
    staff_remove = staff.add_parser("remove", help="remove someone from the registry")
    staff_remove.add_argument("email")
    staff_remove.set_defaults(run=cmd_staff_remove)

    stays = sub.add_parser("stays", help="stays").add_subparsers(dest="stays", required=True)
    stays_import = stays.add_parser(
        "import", help="load ongoing stays from a CSV file (all rows or none)"
    )
    stays_import.add_argument("file", type=Path)
    stays_import.set_defaults(run=cmd_stays_import)

    demo = sub.add_parser("demo", help="demo data").add_subparsers(dest="demo", required=True)
    demo.add_parser("seed", help="load the demo units, staff and stays").set_defaults(
        run=cmd_demo_seed
    )
    playground = demo.add_parser(
        "playground-config", help="write the Agents Playground's users for the demo"
    )
    playground.add_argument(
        "--as", dest="role", default="handlaggare", help="the current user's role"
    )
    playground.add_argument("--out", type=Path, required=True)
    playground.set_defaults(run=cmd_demo_playground_config)
    demo.add_parser(
        "clock-start",
        help="print when the demo's clock should start (KORTTID_CLOCK_START): nothing during "
        "Korttid's sending hours, else 10:00 on the next working day",
    ).set_defaults(run=cmd_demo_clock_start)

    manifest = sub.add_parser("manifest", help="the Teams app package").add_subparsers(
        dest="manifest", required=True
    )
    manifest_build = manifest.add_parser("build", help="write the zip to upload to Teams")
    add_build_arguments(manifest_build)
    manifest_build.set_defaults(run=cmd_manifest_build)

    report = sub.add_parser("report", help="indicators of a period as csv, xlsx or html")
    add_report_arguments(report)
    report.set_defaults(run=cmd_report)

    tick = sub.add_parser("tick", help="evaluate the nudge rules once and deliver the outbox")
    add_tick_arguments(tick)
    tick.set_defaults(run=cmd_tick)
    outbox = sub.add_parser("outbox", help="messages queued for delivery").add_subparsers(
        dest="outbox", required=True
    )
    outbox_list = outbox.add_parser(
        "list", help="show outbox rows, e.g. the waiting or undeliverable ones"
    )
    add_outbox_arguments(outbox_list)
    outbox_list.set_defaults(run=cmd_outbox_list)

    # issue 9: retention and the audit trail
    purge = sub.add_parser("purge", help="remove free-text notes of long-closed stays")
    purge.add_argument(
        "--older-than",
        dest="older_than",
        help="closed longer ago than this, e.g. 24m or 2y (default: KORTTID_RETENTION_MONTHS)",
    )
    purge.set_defaults(run=cmd_purge)
    audit = sub.add_parser("audit", help="who did what to a stay, and when")
    audit.add_argument("--stay", required=True, help="the stay's case code, e.g. ÄNG-042")
    audit.add_argument("--unit", help="the unit's code, when several units use the case code")
    audit.set_defaults(run=cmd_audit)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings()
    except Exception as error:  # pydantic's message names the bad variable
        print(f"korttid: invalid configuration: {error}", file=sys.stderr)
        return 2
    setup_logging(settings.log_level, secrets=(settings.app_password.get_secret_value(),))
    result = args.run(args, settings)
    if asyncio.iscoroutine(result):
        result = asyncio.run(result)
    return int(result)


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    try:
        for warning in check_startup(settings, args.host):
            log.warning(warning)
    except StartupRefused as refusal:
        print(f"korttid: refusing to start: {refusal}", file=sys.stderr)
        return 2
    web.run_app(create_app(settings), host=args.host, port=args.port, print=None)
    return 0


async def _with_session(settings: Settings, work: Callable[[AsyncSession], Awaitable[int]]) -> int:
    engine = db.create_engine(settings.database_url)
    try:
        await db.upgrade(engine)
        async with db.transaction(db.session_factory(engine)) as session:
            return await work(session)
    finally:
        await engine.dispose()


async def cmd_db_upgrade(_args: argparse.Namespace, settings: Settings) -> int:
    engine = db.create_engine(settings.database_url)
    try:
        await db.upgrade(engine)
        print(f"database at revision {await db.current_revision(engine)}")
    finally:
        await engine.dispose()
    return 0


async def cmd_db_status(_args: argparse.Namespace, settings: Settings) -> int:
    engine = db.create_engine(settings.database_url)
    try:
        current = await db.current_revision(engine)
    finally:
        await engine.dispose()
    head = db.head_revision()
    print(
        f"current {current}, newest {head}{'' if current == head else ' (run: korttid db upgrade)'}"
    )
    return 0 if current == head else 1


async def cmd_staff_import(args: argparse.Namespace, settings: Settings) -> int:
    try:
        rows = read_staff_csv(args.file)
    except (OSError, StaffImportError) as error:
        print(f"korttid: {args.file}: {error}; nothing imported", file=sys.stderr)
        return 2

    async def work(session: AsyncSession) -> int:
        created, updated = await import_staff(session, rows)
        print(f"staff import: {created} created, {updated} updated")
        return 0

    result = await _with_session(settings, work)
    installer = build_installer(settings)
    if result == 0 and installer is not None:  # issue 18: reach them from the first day
        await _install_imported(settings, installer, [row.email for row in rows])
    return result


async def _install_imported(
    settings: Settings, installer: GraphInstaller, emails: Sequence[str]
) -> None:
    engine = db.create_engine(settings.database_url)
    try:
        done, tried = await install_for_staff(
            db.session_factory(engine), installer, SystemClock().now(), emails
        )
    finally:
        installer.close()
        await engine.dispose()
    print(f"app install: {done} of {tried} without Korttid installed (see the log for the rest)")


async def cmd_staff_list(_args: argparse.Namespace, settings: Settings) -> int:
    async def work(session: AsyncSession) -> int:
        for staff, roles, units in await StaffRepository(session).list_active():
            print(f"{staff.email}\t{staff.name}\t{';'.join(roles)}\t{';'.join(units)}")
        return 0

    return await _with_session(settings, work)


async def cmd_staff_remove(args: argparse.Namespace, settings: Settings) -> int:
    async def work(session: AsyncSession) -> int:
        removed = await StaffRepository(session).deactivate(args.email)
        if removed is None:
            print(f"korttid: no staff member {args.email}", file=sys.stderr)
            return 1
        print(f"removed {removed.email}")
        return 0

    return await _with_session(settings, work)


async def cmd_stays_import(args: argparse.Namespace, settings: Settings) -> int:
    try:
        rows = read_stays_csv(args.file)
    except (OSError, UnicodeDecodeError, StayImportError) as error:
        print(f"korttid: {args.file}: {error}; nothing imported", file=sys.stderr)
        return 2

    async def work(session: AsyncSession) -> int:
        count = await import_stays(session, rows, SystemClock().now())
        print(f"stays import: {count} stays imported")
        return 0

    try:
        return await _with_session(settings, work)
    except StayImportError as error:  # the transaction was rolled back: nothing half-imported
        print(f"korttid: {args.file}: {error}; nothing imported", file=sys.stderr)
        return 2


async def cmd_demo_seed(_args: argparse.Namespace, settings: Settings) -> int:
    from bot.demo import seed_demo

    async def work(session: AsyncSession) -> int:
        summary = await seed_demo(session, local_today(settings.make_clock()))
        print(summary)
        return 0

    return await _with_session(settings, work)


def cmd_demo_playground_config(args: argparse.Namespace, _settings: Settings) -> int:
    from bot.demo import playground_config

    try:
        config = playground_config(args.role)
    except KeyError:
        print(f"korttid: no demo staff member has the role {args.role!r}", file=sys.stderr)
        return 2
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(config, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


def cmd_demo_clock_start(_args: argparse.Namespace, _settings: Settings) -> int:
    from bot.demo import demo_clock_start

    start = demo_clock_start(SystemClock().now())
    print(start.isoformat() if start is not None else "")
    return 0


async def cmd_purge(args: argparse.Namespace, settings: Settings) -> int:
    from dialogs.retention import InvalidPeriod, parse_months, purge_closed_stay_notes

    try:
        months = parse_months(args.older_than) if args.older_than else settings.retention_months
    except InvalidPeriod as error:
        print(f"korttid: --older-than: {error}", file=sys.stderr)
        return 2
    clock = SystemClock()

    async def work(session: AsyncSession) -> int:
        result = await purge_closed_stay_notes(
            session, today=local_today(clock), months=months, now=clock.now()
        )
        print(
            f"purge: notes removed from {result.stays} stays closed before {result.cutoff} "
            f"({result.meetings} meetings, {result.outbox_messages} sent messages, "
            f"{result.dialog_states} idle dialog states)"
        )
        return 0

    return await _with_session(settings, work)


async def cmd_audit(args: argparse.Namespace, settings: Settings) -> int:
    from dialogs.audit_trail import audit_trail

    async def work(session: AsyncSession) -> int:
        try:
            stay, lines = await audit_trail(session, args.stay, args.unit, settings.timezone)
        except LookupError as error:
            print(f"korttid: {error}", file=sys.stderr)
            return 1
        print(f"audit trail of {stay.case_code} ({len(lines)} events)")
        for line in lines:
            print(line)
        return 0

    return await _with_session(settings, work)


if __name__ == "__main__":
    raise SystemExit(main())
