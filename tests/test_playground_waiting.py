"""The demo shows every role its messages (issue 18): in the real Teams client emulator, the
handläggare holds a meeting before the coordinator ever opened Korttid; the demo's own scheduler
ticks meanwhile; when the coordinator opens the Agents Playground, the home-going notice is there.

Screenshot: var/screenshots/playground-coordinator-notice.png
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from tests.test_playground_e2e import (
    DEMO_CLOCK,
    DEMO_TODAY,
    PLAYGROUND,
    SCREENSHOTS,
    _free_port,
    _wait,
)
from tests.test_playground_meeting import by_card, run_script

pytestmark = pytest.mark.slow

KORTTID = [sys.executable, "-m", "bot.cli"]


def _playground(
    env: dict[str, str], folder: Path, role: str, bot_port: int
) -> tuple[subprocess.Popen[bytes], str]:
    """The Agents Playground as the demo person holding ``role``: its process and URL."""
    config = folder / ".m365agentsplayground.yml"
    subprocess.run(
        [*KORTTID, "demo", "playground-config", "--as", role, "--out", str(config)],
        env=env,
        check=True,
    )
    port = _free_port()
    process = subprocess.Popen(
        [str(PLAYGROUND), "--dt", "-c", "msteams", "-p", str(port),
         "-e", f"http://127.0.0.1:{bot_port}/api/messages"],
        cwd=folder,
        env={**env, "TEAMSAPPTESTER_BROWSER": "none"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    _wait(f"http://127.0.0.1:{port}/_debug/ping")
    return process, f"http://127.0.0.1:{port}/"


@pytest.fixture
def demo_with_scheduler(tmp_path: Path) -> Iterator[tuple[dict[str, str], int]]:
    """``korttid serve`` on demo data with its scheduler ticking every 5 s, as ``make demo``
    runs it (there every 60 s)."""
    assert PLAYGROUND.exists(), "Agents Playground missing: run `make test` (npm ci)"
    env = {
        **os.environ,
        "KORTTID_ENV": "dev",
        "MicrosoftAppId": "",
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}",
        "KORTTID_SCHEDULER": "true",
        "KORTTID_TICK_SECONDS": "5",
        **DEMO_CLOCK,
    }
    subprocess.run([*KORTTID, "demo", "seed"], env=env, check=True, capture_output=True)
    port = _free_port()
    bot = subprocess.Popen(
        [*KORTTID, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait(f"http://127.0.0.1:{port}/readyz")
        yield env, port
    finally:
        bot.terminate()
        bot.wait(timeout=10)


def test_the_coordinator_sees_the_notice_of_a_meeting_held_before_she_opened_korttid(
    demo_with_scheduler: tuple[dict[str, str], int], tmp_path: Path
) -> None:
    env, bot_port = demo_with_scheduler
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    today = DEMO_TODAY
    handlaggare_dir, koordinator_dir = tmp_path / "handlaggare", tmp_path / "koordinator"
    handlaggare_dir.mkdir()
    koordinator_dir.mkdir()

    playground, url = _playground(env, handlaggare_dir, "handlaggare", bot_port)
    try:
        replies = run_script(url, by_card(today + timedelta(days=3)), tmp_path)
    finally:
        playground.terminate()
        playground.wait(timeout=10)
    assert "Korttidskoordinatorn har inte öppnat Korttid än" in replies[-1]
    time.sleep(6)  # the demo's scheduler ticks at least once before Karin opens Korttid

    playground, url = _playground(env, koordinator_dir, "koordinator", bot_port)
    try:
        shot = "playground-coordinator-notice.png"
        turns = [
            {"wait": 30, "anywhere": True, "expect": "Hemgång planerad: ÄNG-032", "shot": shot}
        ]
        [notice] = run_script(url, turns, tmp_path)
    finally:
        playground.terminate()
        playground.wait(timeout=10)
    assert "Hemtjänst Centrum" in notice and "010-123 45 67" in notice
    assert (SCREENSHOTS / shot).stat().st_size > 10_000
