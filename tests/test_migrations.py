"""Migrations are the only way the schema changes: they build exactly what the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import storage.models  # noqa: F401
from storage import db


async def test_upgrade_downgrade_upgrade(database_url: str) -> None:
    engine = db.create_engine(database_url)
    try:
        await db.upgrade(engine)
        assert await db.current_revision(engine) == db.head_revision()
        await db.downgrade(engine, "base")
        async with engine.connect() as connection:
            tables = await connection.run_sync(lambda c: inspect(c).get_table_names())
        assert set(tables) <= {"alembic_version"}
        await db.upgrade(engine)
        assert (await db.is_ready(engine))[0]
    finally:
        await engine.dispose()


async def test_models_and_migrations_agree(database_url: str) -> None:
    engine = db.create_engine(database_url)
    try:
        await db.upgrade(engine)

        def diff(connection: Connection) -> list[object]:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return list(compare_metadata(context, SQLModel.metadata))

        async with engine.connect() as connection:
            differences = await connection.run_sync(diff)
        assert differences == [], "models changed without a migration"
    finally:
        await engine.dispose()
