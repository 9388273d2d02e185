"""The indicators alone over a region's 2 000 000 stays, without the tick stages (issue 17).

The decision counts now read the decision events and the hospital-wait figures are new queries;
this times ``compute_indicators`` (quarter, half-year) and the weekly digest exactly as the facts
section does, on one region grown in one go, so the figure can be checked without the 16-minute
run. ``python -m bench.indicators_only [sqlite|postgres]`` prints the figures as JSON.

On PostgreSQL the figures are taken twice: right after loading, as the facts section does, and
after ``VACUUM (ANALYZE)`` (under ``vacuumed``). Right after a bulk load of two million stays no
page is marked all-visible yet, so every index-only scan also reads the table, and autovacuum
starts on the new tables while the figures are taken; a region's database in use has long been
vacuumed, which the second figures show.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from bench import data
from bench.databases import database, postgres_admin_url
from bench.facts import _grow, _indicators
from storage import db

UNITS, ACTIVE, CLOSED = 300, 100_000, 1_900_000


async def run(backend: str, workdir: Path, closed: int = CLOSED) -> dict[str, Any]:
    admin = postgres_admin_url() if backend == "postgres" else ""
    async with database(backend, workdir, admin) as url:
        engine = db.create_engine(url)
        try:
            await db.upgrade(engine)
            sessions = db.session_factory(engine)
            async with db.transaction(sessions) as session:
                region = await data.create_region(session, UNITS)
            started = time.perf_counter()
            await _grow(sessions, region, ACTIVE, closed)
            load_s = round(time.perf_counter() - started, 1)
            await _indicators(sessions)  # a first pass warms the caches, as in the facts section
            figures = await _indicators(sessions)
            if backend == "postgres":
                await _vacuum(engine)
                await _indicators(sessions)
                figures["vacuumed"] = await _indicators(sessions)
        finally:
            await engine.dispose()
    return {"backend": backend, "stays": ACTIVE + closed, "load_s": load_s, **figures}


async def _vacuum(engine: AsyncEngine) -> None:
    """What autovacuum does to the loaded tables: visibility map, hint bits, statistics."""
    async with engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        await autocommit.exec_driver_sql("VACUUM (ANALYZE)")


def main() -> int:
    backend = sys.argv[1] if len(sys.argv) > 1 else "sqlite"
    closed = int(sys.argv[2]) if len(sys.argv) > 2 else CLOSED
    with tempfile.TemporaryDirectory(prefix="korttid-bench-ind-") as tmp:
        print(json.dumps(asyncio.run(run(backend, Path(tmp), closed))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
