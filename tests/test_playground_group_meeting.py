"""The follow-up meeting in the Agents Playground's group chat (issue 16).

The Playground (0.2.28) forwards a message typed in a group chat to the bot only when the message
@mentions the bot: a mention entity picked from the editor's mention list (its server:
``isPersonalChat || isBotMentioned`` before ``sendCreateMessageActivity``). Typing ``@Korttid``
as plain text is no mention, so that message never reached the bot. ``playground_script.js``
picks the mention (``"mention": "Korttid"``); card presses (invokes) are forwarded anyway.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from storage.domain.clock import SystemClock, local_today
from tests.test_playground_e2e import SCREENSHOTS
from tests.test_playground_e2e import demo_stack as demo_stack  # the fixture
from tests.test_playground_meeting import run_script

pytestmark = pytest.mark.slow

GROUP = "Korttid gruppchatt"


def in_the_group(home_going: date) -> list[dict[str, Any]]:
    """ÄNG-032 of the demo data, held in the group chat by pressing the one card's buttons."""
    turns: list[dict[str, Any]] = [
        {"open": GROUP},
        {"say": "uppföljning ÄNG-032", "mention": "Korttid", "expect": "Inledning och"},
    ]
    titles = ("Kort resumé", "Hälsa och sjukvård: sjuksköterska",
              "fysioterapeut och arbetsterapeut", "Dagliga rutiner", "Hjälpbehov i hemmet",
              "Utförare och avgifter", "Sammanfattning och beslut")  # fmt: skip
    turns += [{"press": "Nästa", "expect": title} for title in titles]
    turns += [
        {"press": "Hemgång", "expect": "Beslut: Hemgång"},
        {"fill": {"Hemgångsdatum": home_going.isoformat(), "Utförare": "Hemtjänst Centrum",
                  "Utförarens kontaktuppgift": "010-123 45 67"},
         "check": ["Färdtjänst", "Hemtjänsten möter upp"],
         "press": "Spara beslutet", "expect": "Avstämning och avslut"},
        {"press": "Nästa", "expect": "Informera korttidskoordinatorn",
         "shot": "meeting-group-10-last-step.png"},
        {"count": "Uppföljningsmöte ÄNG-032, rum"},  # the step cards in the chat
        {"count": "klart:"},  # the short step lines
        {"press": "Avsluta mötet", "expect": "Uppföljningsmötet för ÄNG-032 är sparat",
         "shot": "meeting-group-11-ended.png"},
    ]  # fmt: skip
    return turns


def test_handlaggare_holds_the_meeting_in_the_playground_group_chat(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = request.getfixturevalue("demo_stack")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    today = local_today(SystemClock())

    replies = run_script(url, in_the_group(today + timedelta(days=3)), tmp_path)

    assert "Uppföljningsmöte ÄNG-032" in replies[1]
    last_step, step_cards, step_lines = replies[-4:-1]
    assert "steg 10 av 10" in last_step
    assert "färdtjänst" in last_step  # the decision saved from the one card
    assert (step_cards, step_lines) == ("1", "8")  # one card updated in place, not ten
    assert "Uppföljningsmötet för ÄNG-032 är sparat" in replies[-1]
    assert (SCREENSHOTS / "meeting-group-11-ended.png").stat().st_size > 10_000
    assert (SCREENSHOTS / "meeting-group-10-last-step.png").stat().st_size > 10_000
