"""Engine, sessions and migrations. The caller owns the transaction: one commit per turn or tick."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Table, event, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import sqlite_driver

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


POOL_SIZE = 20  # connections per instance to PostgreSQL
POOL_RECYCLE_SECONDS = 1800  # older connections are replaced before a firewall's idle timeout


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def on_postgres(session: AsyncSession) -> bool:
    """Whether the session's database is PostgreSQL (else SQLite), for the few statements that
    are written for each."""
    bind = session.bind
    return bind is not None and bind.dialect.name == "postgresql"


def create_engine(url: str) -> AsyncEngine:
    """An async engine; SQLite gets WAL, foreign keys and a busy timeout for concurrent writers."""
    if is_sqlite(url):
        _ensure_sqlite_folder(url)
        engine = create_async_engine(url, connect_args={"timeout": 30}, **_sqlite_driver(url))
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    # Up to POOL_SIZE connections, all kept: an overflow connection would be opened (a new
    # PostgreSQL backend) and closed again on every burst of turns, and its memory with it.
    # No ping before each use (three round trips on asyncpg, a millisecond of every press): a
    # connection the server dropped fails on use, the pool drops every connection of its age,
    # and a turn is run again on a fresh one (bot/korttid_bot.py, ``_worth_another_attempt``).
    return create_async_engine(
        url,
        pool_size=POOL_SIZE,
        max_overflow=0,
        pool_recycle=POOL_RECYCLE_SECONDS,
        connect_args=_postgres_settings(url),
    )


def _sqlite_driver(url: str) -> dict[str, Any]:
    """aiosqlite with one trip to its thread per statement instead of four (see the module)."""
    if url.split("://", 1)[0] != "sqlite+aiosqlite":
        return {}
    return {"module": sqlite_driver.dbapi()}


def _postgres_settings(url: str) -> dict[str, Any]:
    """No JIT compilation: the indicator queries over a region's history look costly enough to
    the planner to compile them, on every run (24 ms of a 231 ms query at 400 000 stays)."""
    if "+asyncpg" not in url.split("://", 1)[0]:
        return {}
    return {"server_settings": {"jit": "off"}}


def _ensure_sqlite_folder(url: str) -> None:
    path = url.split("///", 1)[-1].split("?", 1)[0]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


# For a statement on a table of its own (an audit event, dialog state): the objects the turn
# changed are written together with its last flush instead of before this statement.
NO_AUTOFLUSH = {"autoflush": False}


def table_of(model: type[SQLModel]) -> Table:
    """A model's table: a statement built on it is Core, so a list of parameters runs as one
    executemany, and an insert's result keeps its rowcount (an ORM-enabled one does neither)."""
    table: Table = model.__table__  # type: ignore[attr-defined]
    return table


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


@asynccontextmanager
async def transaction(
    sessions: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """One unit of work: commits on success, rolls back on any error."""
    async with sessions() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the schema to ``revision``: migrations are the only way the schema changes."""
    config = alembic_config(engine.url.render_as_string(hide_password=False))

    def run(connection: Connection) -> None:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    async with engine.begin() as connection:
        await connection.run_sync(run)


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    config = alembic_config(engine.url.render_as_string(hide_password=False))

    def run(connection: Connection) -> None:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)

    async with engine.begin() as connection:
        await connection.run_sync(run)


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


async def current_revision(engine: AsyncEngine) -> str | None:
    def read(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async with engine.connect() as connection:
        return await connection.run_sync(read)


async def _select_one(engine: AsyncEngine) -> None:
    """Once more on a fresh connection when the pooled one had been dropped by the server."""
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except DBAPIError as error:
        if not error.connection_invalidated:
            raise
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))


async def is_ready(engine: AsyncEngine, limit_seconds: float = 2.0) -> tuple[bool, str]:
    """Database reachable and at the head revision."""
    try:
        async with asyncio.timeout(limit_seconds):
            await _select_one(engine)
            current = await current_revision(engine)
    except Exception as error:  # any driver error means "not ready"
        return False, f"database unreachable: {type(error).__name__}"
    head = head_revision()
    if current != head:
        return False, f"database at revision {current}, expected {head}"
    return True, "ok"
