"""SQLite through aiosqlite with one trip to its thread per statement.

SQLAlchemy's aiosqlite adapter makes four trips to the connection's thread for every statement:
open a cursor, execute, fetch the rows, close the cursor. Each trip wakes the event loop through
its self-pipe, which costs far more than SQLite's own work on a small row (0.65 ms of the 1.06 ms
a ``SELECT 1`` takes here, against microseconds for SQLite itself). This adapter does the four in
one function that runs in the thread, so a statement is one trip; a press makes about fourteen.

Everything else (the connection, its thread, commits, errors and their translation, server-side
cursors) is SQLAlchemy's and aiosqlite's own; only the buffered cursor is replaced. The adapter
is passed to ``create_async_engine`` as the DBAPI module (``module=``), so the URL stays
``sqlite+aiosqlite://`` and nothing outside ``storage/db.py`` changes.
"""

from __future__ import annotations

import collections
import sqlite3
from collections.abc import Sequence
from typing import Any

import aiosqlite
from sqlalchemy.connectors.asyncio import AsyncAdapt_dbapi_connection
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import EMPTY_DICT
from sqlalchemy.util.concurrency import await_

# What a statement left behind: its description, rowcount and lastrowid.
_Outcome = tuple[Any, int, int | None]


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    """A buffered cursor whose statement, rows and close happen in one call on the thread."""

    __slots__ = ("_outcome",)

    def __init__(self, adapt_connection: AsyncAdapt_dbapi_connection) -> None:
        # No aiosqlite cursor is opened here (that was a trip of its own): each execute opens,
        # drains and closes a sqlite3 cursor in the thread.
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._outcome: _Outcome = (None, -1, None)

    @property
    def description(self) -> Any:
        return self._outcome[0]

    @property
    def rowcount(self) -> int:
        return self._outcome[1]

    @property
    def lastrowid(self) -> Any:
        return self._outcome[2]

    def execute(self, operation: Any, parameters: Any = None) -> Any:
        def run(raw: sqlite3.Connection) -> tuple[_Outcome, list[Any]]:
            cursor = raw.cursor()
            try:
                if parameters is None:
                    cursor.execute(operation)
                else:
                    cursor.execute(operation, parameters)
                rows = cursor.fetchall() if cursor.description else []
                return (cursor.description, cursor.rowcount, cursor.lastrowid), rows
            finally:
                cursor.close()

        outcome, rows = self._on_thread(run)
        self._outcome = outcome
        self._rows = collections.deque(rows)

    def executemany(self, operation: Any, seq_of_parameters: Sequence[Any]) -> Any:
        def run(raw: sqlite3.Connection) -> tuple[_Outcome, list[Any]]:
            cursor = raw.cursor()
            try:
                cursor.executemany(operation, seq_of_parameters)
                return (None, cursor.rowcount, cursor.lastrowid), []
            finally:
                cursor.close()

        self._outcome, _ = self._on_thread(run)
        self._rows.clear()

    def _on_thread(self, run: Any) -> tuple[_Outcome, list[Any]]:
        connection = self._connection
        try:
            result: tuple[_Outcome, list[Any]] = await_(
                connection._execute(run, connection._conn)  # one trip to the thread
            )
        except Exception as error:
            self._adapt_connection._handle_exception(error)
        return result

    async def _async_soft_close(self) -> None:
        return None  # nothing open: the rows are already here

    def close(self) -> None:
        self._rows.clear()


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    _cursor_cls = OneTripCursor


class OneTripDBAPI(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> OneTripConnection:
        adapted = super().connect(*arg, **kw)
        return OneTripConnection(self, adapted._connection)


def dbapi() -> OneTripDBAPI:
    """The module to pass as ``create_async_engine(..., module=...)`` for aiosqlite URLs."""
    return OneTripDBAPI(aiosqlite, sqlite3)
