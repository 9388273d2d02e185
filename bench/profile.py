"""Profile Korttid's turns: ``python -m bench.profile [--turns N] [--scenario meeting|help]``.

Runs ``korttid serve`` under pyinstrument (a statistical profiler) on a fresh demo database, drives
it over HTTP like the benchmark does, and writes the profile of the server process as text and
HTML under ``var/bench/``. Idle time shows as the event loop's ``select``; the rest is the turns.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from bench.databases import REPO, database
from bench.procs import free_port, start_server
from bench.turns import (
    DEMO_HANDLAGGARE,
    DEMO_STAY,
    TurnBench,
    TurnSizes,
    help_text,
    korttid_env,
    meeting_text,
    seed_bench_people,
    seed_demo,
)
from storage.domain.clock import SystemClock, local_today


async def profile(
    scenario: str,
    turns: int,
    out_dir: Path,
    backend: str,
    admin_url: str,
    renderer: str,
    show_all: bool = False,
) -> Path:
    with tempfile.TemporaryDirectory(prefix="korttid-profile-") as tmp:
        work = Path(tmp)
        sizes = TurnSizes(turns, 0, 1, 0, 0)
        async with database(backend, work, admin_url) as url, TurnBench(work, sizes) as bench:
            env = korttid_env(url)
            await seed_demo(url, env, work)
            await seed_bench_people(url, [], local_today(SystemClock()))
            await bench.register([DEMO_HANDLAGGARE])
            port = free_port()
            report, wrapper = _wrapper(scenario, backend, out_dir, renderer, show_all)
            server = await start_server(
                "korttid-profiled",
                [*wrapper, "-m", "bot.cli", "serve", "--port", str(port)],
                port=port,
                log_dir=work,
                env=env,
                ready_path="/readyz",
            )
            driver = bench.driver(server)
            conversation = DEMO_HANDLAGGARE.in_thread(scenario)
            if scenario == "meeting":
                await driver.say(conversation, f"uppföljning {DEMO_STAY}")
            text_for = meeting_text if scenario == "meeting" else help_text
            result = await driver.run([conversation], turns, text_for)
            print(f"{scenario}: {result.summary()}")
            server.process.send_signal(signal.SIGINT)  # the report is written on exit
            await asyncio.wait_for(server.process.wait(), 60)
    return report


def _wrapper(
    scenario: str, backend: str, out_dir: Path, renderer: str, show_all: bool
) -> tuple[Path, list[str]]:
    """Where the report goes, and what runs ``bot.cli`` (pyinstrument or the phase timers)."""
    if renderer == "timers":
        report = out_dir / f"phases-{scenario}-{backend}.json"
        return report, ["-m", "bench.phase_timer", str(report)]
    suffix = {"html": "html", "session": "pyisession"}.get(renderer, "txt")
    report = out_dir / f"profile-{scenario}-{backend}.{suffix}"
    options = ["--renderer", renderer, "--outfile", str(report)]
    return report, ["-m", "pyinstrument", *options, *(["--show-all"] if show_all else [])]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("--scenario", choices=("meeting", "help"), default="meeting")
    parser.add_argument("--turns", type=int, default=2000)
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument(
        "--renderer",
        choices=("text", "html", "session", "timers"),
        default="text",
        help="a pyinstrument report, or timers: wall time per phase of a turn (JSON)",
    )
    parser.add_argument("--show-all", action="store_true", help="also the library frames")
    parser.add_argument("--out", type=Path, default=REPO / "var" / "bench")
    args = parser.parse_args(argv)
    admin_url = ""
    if args.backend == "postgres":
        from bench.databases import postgres_admin_url

        admin_url = postgres_admin_url()
        if not admin_url:
            print("no PostgreSQL available", file=sys.stderr)
            return 2
    args.out.mkdir(parents=True, exist_ok=True)
    report = asyncio.run(
        profile(
            args.scenario,
            args.turns,
            args.out,
            args.backend,
            admin_url,
            args.renderer,
            args.show_all,
        )
    )
    print(f"profile written to {report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
