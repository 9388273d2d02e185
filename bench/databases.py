"""The databases a benchmark runs on: a temporary SQLite file, and PostgreSQL when available.

PostgreSQL comes from ``scripts/test-postgres.sh`` (as ``make test`` gets it) or from
``KORTTID_BENCH_POSTGRES_URL``; each benchmark gets a database of its own, dropped afterwards.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

REPO = Path(__file__).resolve().parent.parent


def postgres_admin_url() -> str:
    """A PostgreSQL URL to create databases with, or "" when there is none."""
    configured = os.environ.get("KORTTID_BENCH_POSTGRES_URL") or os.environ.get(
        "KORTTID_TEST_POSTGRES_URL"
    )
    if configured:
        return configured
    script = REPO / "scripts" / "test-postgres.sh"
    if not script.exists():
        return ""
    try:
        done = subprocess.run(
            [str(script)], capture_output=True, text=True, timeout=600, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


@asynccontextmanager
async def database(backend: str, workdir: Path, admin_url: str = "") -> AsyncIterator[str]:
    """A fresh, empty database URL for ``backend`` ("sqlite" or "postgres")."""
    if backend == "sqlite":
        path = workdir / f"bench-{uuid.uuid4().hex[:8]}.db"
        try:
            yield f"sqlite+aiosqlite:///{path}"
        finally:
            _remove_sqlite(path)
        return
    name = f"korttid_bench_{uuid.uuid4().hex[:10]}"
    admin = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield f"{admin_url.rsplit('/', 1)[0]}/{name}"
    finally:
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


def _remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
