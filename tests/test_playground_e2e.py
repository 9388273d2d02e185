"""The real Teams client emulator: a demo handläggare types `hjälp` in the Agents Playground.

Starts `korttid serve` and the playground as processes, then drives the playground's web UI in
headless Chromium (playwright-core). Node packages and Chromium are installed by `make test`.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from datetime import time as clock_time
from pathlib import Path

import pytest

from storage.domain.calendar import next_working_day_on_or_after
from storage.domain.clock import STOCKHOLM, SystemClock, local_today

ROOT = Path(__file__).resolve().parent.parent
PLAYGROUND = ROOT / "node_modules" / ".bin" / "agentsplayground"
SCREENSHOTS = ROOT / "var" / "screenshots"
pytestmark = pytest.mark.slow


def _demo_start() -> datetime:
    """10:00 in Stockholm, today or the next working day: Korttid speaks 07-18 on working days
    only, and these tests run at any hour (KORTTID_CLOCK_START, dev mode only)."""
    day = next_working_day_on_or_after(local_today(SystemClock()))
    return datetime.combine(day, clock_time(10, 0), tzinfo=STOCKHOLM)


DEMO_START = _demo_start()
DEMO_TODAY = DEMO_START.date()  # the demo data is seeded relative to the bot's today
DEMO_CLOCK = {"KORTTID_CLOCK_START": DEMO_START.isoformat()}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not answer within {seconds} s")


def _chromium() -> str:
    for candidate in (os.environ.get("CHROMIUM", ""), "/usr/bin/chromium"):
        if candidate and Path(candidate).exists():
            return candidate
    raise AssertionError("Chromium is missing: run `make test`, which installs it")


@pytest.fixture
def demo_stack(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """The playground as the demo handläggare, or as the role given by indirect parametrize."""
    role = str(getattr(request, "param", "handlaggare"))
    assert PLAYGROUND.exists(), "Agents Playground missing: run `make test` (npm ci)"
    env = {
        **os.environ,
        "KORTTID_ENV": "dev",
        "MicrosoftAppId": "",
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}",
        "KORTTID_SCHEDULER": "false",
        **DEMO_CLOCK,
    }
    korttid = [sys.executable, "-m", "bot.cli"]
    subprocess.run([*korttid, "demo", "seed"], env=env, check=True, capture_output=True)
    config = tmp_path / ".m365agentsplayground.yml"
    subprocess.run(
        [*korttid, "demo", "playground-config", "--as", role, "--out", str(config)],
        env=env,
        check=True,
    )
    bot_port, playground_port = _free_port(), _free_port()
    processes = [
        subprocess.Popen(
            [*korttid, "serve", "--port", str(bot_port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    ]
    try:
        _wait(f"http://127.0.0.1:{bot_port}/readyz")
        processes.append(
            subprocess.Popen(
                [
                    str(PLAYGROUND),
                    "--dt",
                    "-c",
                    "msteams",
                    "-p",
                    str(playground_port),
                    "-e",
                    f"http://127.0.0.1:{bot_port}/api/messages",
                ],
                cwd=tmp_path,
                env={**env, "TEAMSAPPTESTER_BROWSER": "none"},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        _wait(f"http://127.0.0.1:{playground_port}/_debug/ping")
        yield f"http://127.0.0.1:{playground_port}/"
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=10)


def test_handlaggare_types_help_in_the_playground_and_gets_the_card(demo_stack: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    screenshot = SCREENSHOTS / "playground-help.png"
    result = subprocess.run(
        [
            "node",
            str(ROOT / "tests" / "e2e" / "playground_chat.js"),
            demo_stack,
            "hjälp",
            "Det här kan du göra",
            str(screenshot),
        ],
        env={**os.environ, "CHROMIUM": _chromium(), "NODE_PATH": str(ROOT / "node_modules")},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    reply = json.loads(result.stdout.strip().splitlines()[-1])["reply"]
    assert "Hej Hanna Handläggare!" in reply
    assert "Biståndshandläggare" in reply
    assert screenshot.stat().st_size > 10_000
