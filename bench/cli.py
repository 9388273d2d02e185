"""``python -m bench``: run the benchmark and write ``docs/performance.md``.

``--quick`` is a small smoke run (a few minutes); ``--tiny`` only proves the harness works. The
full run (the default, ``make bench``) takes about 17 minutes on two cores, most of it loading
two million stays into SQLite and PostgreSQL; run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.databases import REPO, database, postgres_admin_url
from bench.delivery import DeliverySizes, bench_delivery
from bench.facts import FactSizes, bench_facts
from bench.report import evaluate_targets, machine, write_report, write_shared_section
from bench.shared_meeting import SharedSizes, bench_shared
from bench.turns import TurnBench, TurnSizes
from storage.domain.clock import SystemClock, local_today

log = logging.getLogger("bench")

SECTIONS = ("turns", "shared", "facts", "delivery")


@dataclass(frozen=True)
class Mode:
    name: str
    turns: TurnSizes
    facts: FactSizes
    delivery: DeliverySizes
    shared: SharedSizes


MODES = {
    "full": Mode(
        "full",
        TurnSizes(
            sequential=2000, concurrent_each=40, conversations=50, warmup=100, memory_round=10_000
        ),
        FactSizes(
            units=300,
            stages=((1_000, 10_000), (10_000, 100_000), (100_000, 1_000_000)),
            history=(100_000, 1_900_000),
        ),
        DeliverySizes(messages=10_000, conversations=2_000, scale=4.0, timeout_s=600),
        SharedSizes(presses=1200, mean_s=2.0, burst_rounds=10),
    ),
    "quick": Mode(
        "quick",
        TurnSizes(
            sequential=300, concurrent_each=6, conversations=50, warmup=20, memory_round=1000
        ),
        FactSizes(units=30, stages=((100, 1_000), (1_000, 10_000)), history=(1_000, 20_000)),
        DeliverySizes(messages=2_000, conversations=400, scale=4.0, timeout_s=180),
        SharedSizes(presses=300, mean_s=2.0, burst_rounds=3),
    ),
    "tiny": Mode(
        "tiny",
        TurnSizes(sequential=6, concurrent_each=2, conversations=3, warmup=2, memory_round=12),
        FactSizes(units=3, stages=((10, 100),), history=(10, 200)),
        DeliverySizes(messages=40, conversations=10, scale=20.0, timeout_s=60),
        SharedSizes(presses=40, mean_s=0.5, burst_rounds=1),
    ),
}


async def run(
    mode: Mode, sections: Sequence[str], backends: Sequence[str], workdir: Path
) -> dict[str, Any]:
    """Every section on every backend; a failing section is recorded, the others still run."""
    admin_url = postgres_admin_url() if "postgres" in backends else ""
    if "postgres" in backends and not admin_url:
        log.warning("no PostgreSQL available: SQLite only")
    usable = [b for b in backends if b == "sqlite" or admin_url]
    results: dict[str, Any] = {
        "mode": mode.name,
        "machine": machine(),
        "backends": usable,
        "errors": [],
    }
    started = time.perf_counter()
    if "turns" in sections:
        results["turns"] = await _section(
            results, "turns", _turns(mode, usable, workdir, admin_url)
        )
    if "shared" in sections:
        results["shared"] = {}
        for backend in usable:
            results["shared"][backend] = await _section(
                results, f"shared/{backend}", bench_shared(backend, workdir, admin_url, mode.shared)
            )
    if "facts" in sections:
        results["facts"] = {}
        for backend in usable:
            results["facts"][backend] = await _section(
                results, f"facts/{backend}", bench_facts(backend, workdir, admin_url, mode.facts)
            )
    if "delivery" in sections:
        results["delivery"] = {}
        for backend in usable:
            results["delivery"][backend] = await _section(
                results,
                f"delivery/{backend}",
                bench_delivery(backend, workdir, admin_url, mode.delivery),
            )
    results["seconds"] = round(time.perf_counter() - started, 1)
    results["targets"] = evaluate_targets(results)
    return results


async def _section(results: dict[str, Any], name: str, work: Any) -> Any:
    log.info("bench: %s ...", name)
    started = time.perf_counter()
    try:
        value = await work
    except Exception as error:
        log.exception("bench: %s failed", name)
        results["errors"].append(f"{name}: {type(error).__name__}: {error}")
        return None
    log.info("bench: %s done in %.1f s", name, time.perf_counter() - started)
    return value


async def _turns(
    mode: Mode, backends: Sequence[str], workdir: Path, admin_url: str
) -> dict[str, Any]:
    out: dict[str, Any] = {"conversations": mode.turns.conversations}
    # `korttid serve` runs on the system clock, so its demo data is dated from today.
    today = local_today(SystemClock())
    async with TurnBench(workdir, mode.turns) as bench:
        out["raw_echo"] = await bench.baseline("raw_echo", "bench.baselines.raw_echo")
        out["sdk_echo"] = await bench.baseline(
            "sdk_echo", "bench.baselines.sdk_echo", divisor=mode.turns.sdk_divisor
        )
        out["sdk_echo_tuned"] = await bench.baseline(
            "sdk_echo_tuned", "bench.baselines.sdk_echo_tuned"
        )
        for backend in backends:
            async with database(backend, workdir, admin_url) as url:
                out[f"korttid_{backend}"] = await bench.korttid(url, today)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="a small run to check the harness")
    size.add_argument("--tiny", action="store_true", help="the smallest run (the smoke test's)")
    parser.add_argument(
        "--only", default=",".join(SECTIONS), help=f"comma-separated sections: {SECTIONS}"
    )
    parser.add_argument(
        "--backends", default="sqlite,postgres", help="sqlite, postgres, or both (default)"
    )
    parser.add_argument(
        "--out", type=Path, default=REPO / "docs" / "performance.md", help="the report to write"
    )
    parser.add_argument(
        "--json", type=Path, default=REPO / "var" / "bench" / "results.json", help="raw results"
    )
    parser.add_argument("--no-report", action="store_true", help="write only the JSON")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    for noisy in ("notifications", "bot", "dialogs", "storage", "aiohttp"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    mode = MODES["tiny" if args.tiny else "quick" if args.quick else "full"]
    sections = [s for s in args.only.split(",") if s in SECTIONS]
    backends = [b for b in args.backends.split(",") if b in ("sqlite", "postgres")]
    command = "python -m bench " + " ".join(argv if argv is not None else sys.argv[1:])
    with tempfile.TemporaryDirectory(prefix="korttid-bench-") as tmp:
        results = asyncio.run(run(mode, sections, backends, Path(tmp)))
    results["command"] = command.strip()
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
    if not args.no_report and sections == ["shared"] and args.out.exists():
        # Run alone, the section replaces its own part of the report and leaves the rest.
        write_shared_section(results, args.out)
        log.info("shared-chat section written to %s", args.out)
    elif not args.no_report:
        write_report(results, args.out)
        log.info("report written to %s", args.out)
    for target in results["targets"]:
        mark = {True: "met", False: "MISSED", None: "n/a"}[target["met"]]
        log.info("%-7s %s: %s", mark, target["name"], target["figure"])
    return 1 if results["errors"] else 0
