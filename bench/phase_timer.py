"""Wall time per phase of Korttid's turns: ``python -m bench.phase_timer OUT -m bot.cli serve ...``.

Wraps the turn's phases (the inbound parse, the SDK's pipeline, the bot's own steps, the reply)
and the database driver's cursor calls with timers, runs the given module as ``__main__`` in
this process, and when it exits writes the totals per phase as JSON to ``OUT``.
``python -m bench.profile --timers`` drives it; a statistical profiler spreads an async turn
over many frames, these timers say what each step costs as a whole.
"""

from __future__ import annotations

import atexit
import functools
import json
import runpy
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from botbuilder.core import CloudAdapterBase
from sqlalchemy import event
from sqlalchemy.engine import Engine

import bot.app
import bot.korttid_bot

SECONDS: defaultdict[str, float] = defaultdict(float)
CALLS: Counter[str] = Counter()


def _time_async(owner: Any, name: str) -> None:
    original: Callable[..., Awaitable[Any]] = getattr(owner, name)

    @functools.wraps(original)
    async def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return await original(*args, **kwargs)
        finally:
            SECONDS[name] += time.perf_counter() - started
            CALLS[name] += 1

    setattr(owner, name, timed)


def _time_sync(owner: Any, name: str) -> None:
    original: Callable[..., Any] = getattr(owner, name)

    @functools.wraps(original)
    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            SECONDS[name] += time.perf_counter() - started
            CALLS[name] += 1

    setattr(owner, name, timed)


def _time_statements() -> None:
    """The driver's part of each statement: from cursor execute to its result."""

    @event.listens_for(Engine, "before_cursor_execute")
    def before(conn: Any, *_args: Any) -> None:
        conn.info["bench_started"] = time.perf_counter()

    @event.listens_for(Engine, "after_cursor_execute")
    def after(conn: Any, *_args: Any) -> None:
        SECONDS["statement in the driver"] += time.perf_counter() - conn.info["bench_started"]
        CALLS["statement in the driver"] += 1


def install() -> None:
    _time_sync(bot.app, "_parse_activity")
    _time_async(bot.app, "_authenticate")
    _time_async(CloudAdapterBase, "process_activity")
    _time_async(bot.korttid_bot.KorttidBot, "_run_turn")
    _time_async(bot.korttid_bot.KorttidBot, "_first_delivery")
    _time_async(bot.korttid_bot, "recognise")
    _time_async(bot.korttid_bot, "save_reference")
    _time_async(bot.korttid_bot, "route_message")
    _time_async(bot.korttid_bot.KorttidBot, "_save_state")
    _time_async(bot.korttid_bot.KorttidBot, "_hold_for_after_answer")  # issue 16: saved, not sent
    _time_async(CloudAdapterBase, "send_activities")
    _time_async(CloudAdapterBase, "update_activity")  # the meeting's one card (issue 16)
    _time_statements()


def _write(out: Path) -> None:
    turns = CALLS["process_activity"] or 1
    phases = {
        name: {
            "ms_per_turn": round(seconds / turns * 1000, 3),
            "calls_per_turn": CALLS[name] / turns,
        }
        for name, seconds in sorted(SECONDS.items(), key=lambda item: -item[1])
    }
    out.write_text(json.dumps({"turns": turns, "phases": phases}, indent=2), encoding="utf-8")


def main(argv: Sequence[str]) -> None:
    out, flag, module, *rest = argv
    if flag != "-m":
        raise SystemExit("usage: python -m bench.phase_timer OUT -m MODULE [ARGS...]")
    install()
    atexit.register(_write, Path(out))
    sys.argv = [module, *rest]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
