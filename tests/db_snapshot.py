"""Whole-database views for tests that must prove "nothing changed" or "never stored"."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import transaction


async def row_counts(
    sessions: async_sessionmaker[AsyncSession], skip: frozenset[str] | set[str] = frozenset()
) -> dict[str, int]:
    """Rows per table, for every table of the schema (but those in ``skip``)."""
    counts: dict[str, int] = {}
    async with transaction(sessions) as session:
        for table in SQLModel.metadata.sorted_tables:
            if table.name in skip:
                continue
            result = await session.exec(select(func.count()).select_from(table))
            counts[table.name] = int(result.scalar_one())
    return counts


async def all_values(sessions: async_sessionmaker[AsyncSession]) -> str:
    """Every value in every column of every table, as one searchable text."""
    parts: list[str] = []
    async with transaction(sessions) as session:
        for table in SQLModel.metadata.sorted_tables:
            for row in (await session.exec(select(table))).all():
                parts.extend(_text(value) for value in row)
    return "\n".join(parts)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def changed(before: dict[str, int], after: dict[str, int]) -> dict[str, tuple[int, int]]:
    return {name: (before[name], after[name]) for name in before if before[name] != after[name]}
