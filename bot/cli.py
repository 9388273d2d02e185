"""``korttid``: serve the bot and operate it (database, staff registry, demo data)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from aiohttp import web
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.app import create_app
from bot.logs import setup_logging
from bot.settings import Settings, StartupRefused, check_startup
from dialogs.staff_import import StaffImportError, import_staff, read_staff_csv
from storage import db
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

    demo = sub.add_parser("demo", help="demo data").add_subparsers(dest="demo", required=True)
    demo.add_parser("seed", help="load the demo units, staff and stays").set_defaults(
        run=cmd_demo_seed
    )
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

    return await _with_session(settings, work)


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


async def cmd_demo_seed(_args: argparse.Namespace, settings: Settings) -> int:
    from bot.demo import seed_demo

    async def work(session: AsyncSession) -> int:
        summary = await seed_demo(session)
        print(summary)
        return 0

    return await _with_session(settings, work)


if __name__ == "__main__":
    raise SystemExit(main())
