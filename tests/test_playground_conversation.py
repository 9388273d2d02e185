"""The real Teams client emulator (light theme, headless Chromium): the stay list, the nurse's
checklist, and a ``ny vistelse`` corrected with ``tillbaka`` and dates typed as people talk.

Screenshots land in ``var/screenshots/conversation-*.png``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_playground_e2e import SCREENSHOTS
from tests.test_playground_e2e import demo_stack as demo_stack  # the fixture
from tests.test_playground_meeting import run_script

pytestmark = pytest.mark.slow


def test_handlaggare_corrects_ny_vistelse_with_tillbaka(demo_stack: str, tmp_path: Path) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    turns = [
        {"say": "vistelser", "expect": "Mina vistelser", "shot": "conversation-stay-list.png"},
        {"say": "ny vistelse", "expect": "Vilken enhet"},
        {"say": "ÄNG", "expect": "Vilken ärendekod"},
        {"say": "14", "expect": "Menar du ÄNG-014?"},
        {"say": "ja", "expect": "Vilket rum"},
        {"say": "5", "expect": "Vilket datum kom personen"},
        {"say": "i går", "expect": "SoL-beslutet"},
        {"say": "tillbaka", "expect": "Vilket datum kom personen",
         "shot": "conversation-ny-vistelse-tillbaka.png"},
        {"say": "i förrgår", "expect": "SoL-beslutet"},
        {"say": "om två veckor", "expect": "SoL-beställningen"},
        {"say": "ja", "expect": "Vad är målet"},
        {"say": "Träna förflyttning", "expect": "akut placering"},
        {"say": "nej", "expect": "sjuksköterska"},
        {"say": "1", "expect": "Stämmer det här?", "shot": "conversation-ny-vistelse-summary.png"},
    ]  # fmt: skip
    replies = run_script(demo_stack, turns, tmp_path)

    assert "ÄNG-031" in replies[0]
    assert "Tillbaka" in replies[7]
    assert "Träna förflyttning" in replies[-1]
    for name in ("stay-list", "ny-vistelse-tillbaka", "ny-vistelse-summary"):
        assert (SCREENSHOTS / f"conversation-{name}.png").stat().st_size > 10_000


@pytest.mark.parametrize("demo_stack", ["sjukskoterska"], indirect=True)
def test_nurse_sees_the_checklist(demo_stack: str, tmp_path: Path) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    turns = [
        {"say": "checklista ÄNG-035", "expect": "Checklista inför hemgång: ÄNG-035",
         "shot": "conversation-nurse-checklist.png"},
    ]  # fmt: skip
    replies = run_script(demo_stack, turns, tmp_path)

    assert "Trygghetslarm" in replies[0] or "Larm" in replies[0]
    assert (SCREENSHOTS / "conversation-nurse-checklist.png").stat().st_size > 10_000
