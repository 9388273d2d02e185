"""The real Teams client emulator: the demo handläggare holds whole follow-up meetings in the
Agents Playground, once pressing card buttons and once typing, with screenshots of both.

Uses the ``demo_stack`` of ``test_playground_e2e`` (korttid serve + playground on demo data) and
``tests/e2e/playground_script.js``, which plays a list of turns in headless Chromium.
"""

from __future__ import annotations

import json
import os
import subprocess
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.test_playground_e2e import DEMO_TODAY, ROOT, SCREENSHOTS, _chromium
from tests.test_playground_e2e import demo_stack as demo_stack  # the fixture

pytestmark = pytest.mark.slow

NOTE_LABEL = "Anteckning (frivillig, högst 500 tecken, inga namn eller personnummer)"


def run_script(url: str, turns: list[dict[str, Any]], folder: Path) -> list[str]:
    script = folder / "turns.json"
    script.write_text(json.dumps(turns, ensure_ascii=False), encoding="utf-8")
    driver = ROOT / "tests" / "e2e" / "playground_script.js"
    result = subprocess.run(
        ["node", str(driver), url, str(script), str(SCREENSHOTS)],
        env={**os.environ, "CHROMIUM": _chromium(), "NODE_PATH": str(ROOT / "node_modules")},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    replies: list[str] = json.loads(result.stdout.strip().splitlines()[-1])["replies"]
    return replies


def by_card(home_going: date) -> list[dict[str, Any]]:
    """ÄNG-032 of the demo data, by pressing buttons."""
    return [
        {"say": "uppföljning ÄNG-032", "expect": "Inledning och presentation",
         "shot": "meeting-card-01-start.png"},
        {"check": ["Den enskilde", "Närstående", "Sjuksköterska", "Fysioterapeut/arbetsterapeut"],
         "press": "Nästa", "expect": "Kort resumé"},
        {"check": ["1. Anledningen till beslutet om korttidsvistelse", "2. Målet med vistelsen"],
         "press": "Nästa", "expect": "Hälsa och sjukvård: sjuksköterska"},
        {"check": ["6. Läkemedelshantering enligt lokal rutin"],
         "fill": {NOTE_LABEL: "Dosett från apoteket ordnas före hemgång."},
         "press": "Nästa", "expect": "fysioterapeut och arbetsterapeut"},
        {"press": "Nästa", "expect": "Dagliga rutiner"},
        {"press": "Nästa", "expect": "Hjälpbehov i hemmet"},
        {"press": "Nästa", "expect": "Utförare och avgifter"},
        {"press": "Nästa", "expect": "Sammanfattning och beslut",
         "shot": "meeting-card-08-decision.png"},
        {"press": "Hemgång", "expect": "Beslut: Hemgång", "shot": "meeting-card-08-form.png"},
        {"fill": {"Hemgångsdatum": home_going.isoformat(), "Utförare": "Hemtjänst Centrum",
                  "Utförarens kontaktuppgift": "010-123 45 67"},
         "check": ["Färdtjänst", "Hemtjänsten möter upp"],
         "press": "Spara beslutet", "expect": "Avstämning och avslut"},
        {"press": "Nästa", "expect": "Informera korttidskoordinatorn",
         "shot": "meeting-card-10-coordinator.png"},
        {"press": "Avsluta mötet", "expect": "Mötesdatum", "shot": "meeting-card-11-summary.png"},
    ]  # fmt: skip


def by_typing(after_end: date) -> list[dict[str, Any]]:
    """ÄNG-033 of the demo data, by typing, with two wrong dates on the way."""
    turns = [
        {"say": "uppföljning ÄNG-033", "expect": "Inledning och presentation"},
        {"say": "deltar den enskilde, närstående och sjuksköterska", "expect": "Deltar nu:"},
        {"say": "nästa", "expect": "Kort resumé"},
        {"say": "Personen vill hem till sin katt.", "expect": "Anteckningen är sparad",
         "shot": "meeting-typed-02-note.png"},
        {"say": "nästa 1 2", "expect": "Hälsa och sjukvård: sjuksköterska"},
        {"say": "nästa", "expect": "fysioterapeut och arbetsterapeut"},
        {"say": "hoppa över", "expect": "Dagliga rutiner"},
    ]  # fmt: skip
    turns += [{"say": "nästa", "expect": title} for title in ("Hjälpbehov", "Utförare och")]
    turns += [
        {"say": "nästa", "expect": "Sammanfattning och beslut"},
        {"say": "hemgång", "expect": "Vilket datum går personen hem?"},
        {"say": f"{after_end.day}/{after_end.month}", "expect": "ligger efter vistelsens"},
        {"say": "imorgon", "expect": "Vilken tid går personen hem?"},
        {"say": "14", "expect": "Hemgång på förmiddagen är att föredra",
         "shot": "meeting-typed-08-decision.png"},
        {"say": "närstående", "expect": "Möter hemtjänsten upp"},
        {"say": "ja", "expect": "Vilken utförare"},
        {"say": "Hemtjänst Väst", "expect": "Hur når koordinatorn utföraren?"},
        {"say": "031-123 45 67", "expect": "samordning"},
        {"say": "ja", "expect": "bara hälso- och sjukvård"},
        {"say": "nej", "expect": "SIP"},
        {"say": "ja", "expect": "Avstämning och avslut"},
        {"say": "nästa", "expect": "Informera korttidskoordinatorn"},
        {"say": "nästa", "expect": "Mötesdatum", "shot": "meeting-typed-11-summary.png"},
    ]  # fmt: skip
    return turns


def test_demo_handlaggare_holds_meetings_in_the_playground(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = request.getfixturevalue("demo_stack")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    today = DEMO_TODAY  # the demo data is seeded relative to today

    replies = run_script(url, by_card(today + timedelta(days=3)), tmp_path)
    summary = replies[-1]
    assert "Uppföljningsmöte, korttidsvistelse ÄNG-032" in summary
    assert "Anteckning: Dosett från apoteket ordnas före hemgång." in summary
    assert "Transport: Färdtjänst" in summary and "Hemtjänst Centrum" in summary
    assert "Karin Koordinator" in replies[-2]  # the coordinator preview on the last step

    replies = run_script(url, by_typing(today + timedelta(days=40)), tmp_path)
    summary = replies[-1]
    assert "Uppföljningsmöte, korttidsvistelse ÄNG-033" in summary
    assert "Steg 4 (Hälsa och sjukvård: fysioterapeut och arbetsterapeut): hoppades över." in (
        summary
    )
    assert "Klockslag: 14:00" in summary
    for name in ("Hanna", "Karin", "Sara"):
        assert name not in summary
    for shot in ("meeting-card-08-form.png", "meeting-typed-11-summary.png"):
        assert (SCREENSHOTS / shot).stat().st_size > 10_000
