"""The SQLite adapter (``storage/sqlite_driver.py``): one trip to aiosqlite's thread per
statement, and everything a statement gives back (rows, counts, new ids, errors) as before."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from storage import sqlite_driver
from storage.db import create_engine

ITEM = Table(
    "item", MetaData(), Column("id", Integer, primary_key=True), Column("code", String),
    Column("n", Integer),
)  # fmt: skip


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/driver.db")
    async with engine.begin() as connection:
        await connection.execute(
            text("CREATE TABLE item (id INTEGER PRIMARY KEY, code TEXT UNIQUE, n INTEGER)")
        )
    yield engine
    await engine.dispose()


async def test_rows_counts_and_new_ids_come_back(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        first = await connection.execute(text("INSERT INTO item (code, n) VALUES ('a', 1)"))
        assert first.lastrowid == 1
        many = [{"code": f"k{i}", "n": i} for i in range(5)]
        await connection.execute(insert(ITEM), many)  # several rows: an executemany
        updated = await connection.execute(text("UPDATE item SET n = n + 10 WHERE n < 3"))
        assert updated.rowcount == 4  # 'a' (1), k0, k1, k2
        rows = (await connection.execute(text("SELECT code, n FROM item ORDER BY id"))).all()
    assert [tuple(row) for row in rows] == [
        ("a", 11), ("k0", 10), ("k1", 11), ("k2", 12), ("k3", 3), ("k4", 4),
    ]  # fmt: skip


async def test_a_statement_is_one_trip_to_the_thread(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    trips: list[Any] = []
    original = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        trips.append(fn)
        return await original(self, fn, *args, **kwargs)  # type: ignore[no-untyped-call]

    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))  # the connection is open and begun
        monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
        rows = (await connection.execute(text("SELECT code FROM item"))).all()
        assert rows == []
        assert len(trips) == 1  # SQLAlchemy's own adapter makes four: cursor, execute, fetch, close


async def test_errors_are_sqlalchemy_errors_and_the_connection_goes_on(
    engine: AsyncEngine,
) -> None:
    async with engine.begin() as connection:
        await connection.execute(text("INSERT INTO item (code, n) VALUES ('a', 1)"))
    async with engine.connect() as connection:
        with pytest.raises(IntegrityError):
            await connection.execute(text("INSERT INTO item (code, n) VALUES ('a', 2)"))
        await connection.rollback()
        count = (await connection.execute(text("SELECT count(*) FROM item"))).scalar_one()
    assert count == 1


async def test_a_held_write_lock_is_the_locked_error_turns_are_retried_on(
    tmp_path: Path, engine: AsyncEngine
) -> None:
    """``bot/korttid_bot.py`` runs a turn again on "database is locked": it must still read so."""
    path = tmp_path / "driver.db"
    async with aiosqlite.connect(path) as holder:
        await holder.execute("BEGIN IMMEDIATE")
        await holder.execute("INSERT INTO item (code, n) VALUES ('held', 1)")
        impatient = create_async_engine(
            f"sqlite+aiosqlite:///{path}",
            connect_args={"timeout": 0.1},
            module=sqlite_driver.dbapi(),
        )
        try:
            async with impatient.begin() as connection:
                with pytest.raises(OperationalError, match="database is locked"):
                    await connection.execute(text("INSERT INTO item (code, n) VALUES ('b', 1)"))
        finally:
            await impatient.dispose()
        await holder.rollback()
