"""The real Teams client emulator (issue 15): the demo handläggare calls the follow-up meeting in
one Agents Playground, the demo nurse (``AS=sjukskoterska``) sees the invitation in hers, answers
and gives underlag, and the handläggare finds it in step 3. Screenshots of each."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from storage.domain.calendar import add_working_days
from tests.test_playground_e2e import (
    DEMO_CLOCK,
    DEMO_TODAY,
    PLAYGROUND,
    ROOT,
    SCREENSHOTS,
    _chromium,
    _free_port,
    _wait,
)

pytestmark = pytest.mark.slow

CODE = "ÄNG-031"  # arrived yesterday in the demo data; no meeting yet
NOTE_LABEL = "Kort anteckning (frivillig, högst 500 tecken, inga namn eller personnummer)"


@dataclass
class Stack:
    database: Path
    urls: dict[str, str]


@pytest.fixture
def two_playgrounds(tmp_path: Path) -> Iterator[Stack]:
    """``korttid serve`` on demo data; a playground for the handläggare and one for the nurse."""
    assert PLAYGROUND.exists(), "Agents Playground missing: run `make test` (npm ci)"
    database = tmp_path / "demo.db"
    env = {
        **os.environ,
        "KORTTID_ENV": "dev",
        "MicrosoftAppId": "",
        "DATABASE_URL": f"sqlite+aiosqlite:///{database}",
        "KORTTID_SCHEDULER": "false",  # what the nurse sees is delivered at once, not by a tick
        **DEMO_CLOCK,
    }
    korttid = [sys.executable, "-m", "bot.cli"]
    subprocess.run([*korttid, "demo", "seed"], env=env, check=True, capture_output=True)
    bot_port = _free_port()
    processes = [
        subprocess.Popen(
            [*korttid, "serve", "--port", str(bot_port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    ]
    urls: dict[str, str] = {}
    try:
        _wait(f"http://127.0.0.1:{bot_port}/readyz")
        for role in ("handlaggare", "sjukskoterska"):
            folder = tmp_path / role
            folder.mkdir()
            config = folder / ".m365agentsplayground.yml"
            subprocess.run(
                [*korttid, "demo", "playground-config", "--as", role, "--out", str(config)],
                env=env,
                check=True,
            )
            port = _free_port()
            processes.append(
                subprocess.Popen(
                    [str(PLAYGROUND), "--dt", "-c", "msteams", "-p", str(port),
                     "-e", f"http://127.0.0.1:{bot_port}/api/messages"],
                    cwd=folder,
                    env={**env, "TEAMSAPPTESTER_BROWSER": "none"},
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )  # fmt: skip
            _wait(f"http://127.0.0.1:{port}/_debug/ping")
            urls[role] = f"http://127.0.0.1:{port}/"
        yield Stack(database, urls)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=10)


def script(url: str, turns: list[dict[str, Any]], folder: Path, name: str) -> subprocess.Popen[str]:
    path = folder / f"{name}.json"
    path.write_text(json.dumps(turns, ensure_ascii=False), encoding="utf-8")
    driver = ROOT / "tests" / "e2e" / "playground_script.js"
    return subprocess.Popen(
        ["node", str(driver), url, str(path), str(SCREENSHOTS)],
        env={**os.environ, "CHROMIUM": _chromium(), "NODE_PATH": str(ROOT / "node_modules")},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def replies_of(process: subprocess.Popen[str]) -> list[str]:
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr[-2000:]
    replies: list[str] = json.loads(stdout.strip().splitlines()[-1])["replies"]
    return replies


def wait_for_chat(database: Path, conversation_id: str, seconds: float = 60) -> None:
    """Until the person's playground has opened their chat with Korttid (its reference saved)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with sqlite3.connect(database) as db:
            query = "SELECT count(*) FROM conversation_ref WHERE conversation_id = ?"
            if db.execute(query, (conversation_id,)).fetchone()[0]:
                return
        time.sleep(0.2)
    raise AssertionError(f"{conversation_id} never opened Korttid")


def test_the_nurse_is_called_gives_underlag_and_it_is_in_step_3(
    two_playgrounds: Stack, tmp_path: Path
) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    urls = two_playgrounds.urls
    day = add_working_days(DEMO_TODAY, 1)
    nurse = script(
        urls["sjukskoterska"],
        [
            {"say": "hjälp", "expect": "Hej Sara"},
            {"wait": 120, "expect": f"Kallelse till uppföljningsmöte: {CODE}",
             "shot": "call-nurse-01-invitation.png"},
            {"press": "Lämna underlag", "expect": "Det här har jag något att ta upp om"},
            {"check": ["4. Sår och omläggning", "5. Nutrition"],
             "fill": {NOTE_LABEL: "Såret läker, byte varannan dag."},
             "press": "Spara underlaget", "expect": "Ditt underlag för steg 3",
             "shot": "call-nurse-02-underlag.png"},
            {"say": f"kommer {CODE}", "expect": "Du är anmäld"},
        ],
        tmp_path,
        "nurse",
    )  # fmt: skip
    wait_for_chat(two_playgrounds.database, "a:korttid-personal-sjukskoterska")
    calling = script(
        urls["handlaggare"],
        [
            {"say": f"kalla {CODE}", "expect": "Vilken dag hålls mötet?"},
            {"say": f"{day.day}/{day.month}", "expect": "Vilken tid"},
            {"say": "10:30", "expect": "Hur hålls mötet?"},
            {"say": "på enheten", "expect": "Var hålls mötet?"},
            {"say": "Konferensrummet", "expect": "Vilka kallar du?"},
            {"say": "1", "expect": "Kallelse:", "shot": "call-handlaggare-01-status.png"},
        ],
        tmp_path,
        "calling",
    )
    replies_of(calling)
    nurse_replies = replies_of(nurse)
    assert "Ditt steg i mötet: 3. Hälsa och sjukvård: sjuksköterska" in nurse_replies[1]

    meeting = script(
        urls["handlaggare"],
        [
            {"say": f"uppföljning {CODE}", "expect": "Kommer enligt kallelsen: Sara Sjuksköterska"},
            {"press": "Nästa", "expect": "Kort resumé"},
            {"press": "Nästa", "expect": "Underlag från sjuksköterska",
             "shot": "call-handlaggare-02-step3.png"},
            {"say": "pausa", "expect": "pausat"},
        ],
        tmp_path,
        "meeting",
    )  # fmt: skip
    step3 = replies_of(meeting)[2]
    assert "Såret läker, byte varannan dag." in step3
    for shot in ("call-nurse-01-invitation.png", "call-handlaggare-02-step3.png"):
        assert (SCREENSHOTS / shot).stat().st_size > 10_000
