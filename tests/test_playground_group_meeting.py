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

from tests.test_playground_e2e import DEMO_TODAY, SCREENSHOTS
from tests.test_playground_e2e import demo_stack as demo_stack  # the fixture
from tests.test_playground_meeting import run_script

pytestmark = pytest.mark.slow

GROUP = "Korttid gruppchatt"


START = [
    {"open": GROUP},
    {"say": "uppföljning ÄNG-032", "mention": "Korttid", "expect": "Inledning och"},
]


def decision(home_going: date) -> list[dict[str, Any]]:
    """Step 8 on the one card: a home-going with its provider, then on to the last step."""
    return [
        {"press": "Hemgång", "expect": "Beslut: Hemgång"},
        {"fill": {"Hemgångsdatum": home_going.isoformat(), "Utförare": "Hemtjänst Centrum",
                  "Utförarens kontaktuppgift": "010-123 45 67"},
         "check": ["Färdtjänst", "Hemtjänsten möter upp"],
         "press": "Spara beslutet", "expect": "Avstämning och avslut"},
    ]  # fmt: skip


def moves(*titles: str) -> list[dict[str, Any]]:
    return [{"press": "Nästa", "expect": title} for title in titles]


def acting_as(role: str, expect: str) -> dict[str, Any]:
    return {"say": f"demo som {role}", "mention": "Korttid", "expect": expect}


def in_the_group(home_going: date) -> list[dict[str, Any]]:
    """ÄNG-032 of the demo data, held in the group chat by pressing the one card's buttons."""
    turns = START + moves("Kort resumé", "Hälsa och sjukvård: sjuksköterska",
                          "fysioterapeut och arbetsterapeut", "Dagliga rutiner",
                          "Hjälpbehov i hemmet", "Utförare och avgifter",
                          "Sammanfattning och beslut")  # fmt: skip
    return turns + decision(home_going) + [
        {"press": "Nästa", "expect": "Informera korttidskoordinatorn",
         "shot": "meeting-group-10-last-step.png"},
        {"count": "Uppföljningsmöte ÄNG-032, rum"},  # the step cards in the chat
        {"count": "klart:"},  # the short step lines
        {"press": "Avsluta mötet", "expect": "Uppföljningsmötet för ÄNG-032 är sparat",
         "shot": "meeting-group-11-ended.png"},
    ]  # fmt: skip


def as_a_team(home_going: date) -> list[dict[str, Any]]:
    """ÄNG-032 held by three people on the one card: the Playground plays one user, so the demo
    user becomes the nurse and the physiotherapist at their steps (`demo som …`, dev mode)."""
    note = "Anteckning (frivillig, högst 500 tecken, inga namn eller personnummer)"
    myself = acting_as("mig", "dig själv igen")
    turns = START + moves("Kort resumé", "Hälsa och sjukvård: sjuksköterska") + [
        acting_as("sjuksköterska", "nu är du Sara Sjuksköterska"),
        {"check": ["6. Läkemedelshantering enligt lokal rutin", "5. Nutrition"],
         "fill": {note: "Dosett från apoteket före hemgång."},
         "press": "Spara",
         "shot": "meeting-team-03-nurse.png"},
        {"press": "Nästa", "expect": "leder mötet", "anywhere": True},  # not the nurse's move
        myself,
        *moves("fysioterapeut och arbetsterapeut"),
        acting_as("fysioterapeut", "nu är du Rami Fysioterapeut"),
        {"check": ["3. Hjälpmedel", "4. Fallriskbedömning"],
         "fill": {note: "Rollator provad, fungerar i hemmet."},
         "press": "Spara",
         "shot": "meeting-team-04-rehab.png"},
        myself,
    ]  # fmt: skip
    turns += moves("Dagliga rutiner", "Hjälpbehov i hemmet", "Utförare och avgifter",
                   "Sammanfattning och beslut")  # fmt: skip
    return turns + decision(home_going) + [
        *moves("Informera korttidskoordinatorn"),
        {"press": "Avsluta mötet", "expect": "Uppföljningsmötet för ÄNG-032 är sparat",
         "shot": "meeting-team-11-ended.png"},
        {"count": "Uppföljningsmöte ÄNG-032, rum"},
        {"count": "Steg 3 klart: 2 av"},
        {"count": "Steg 4 klart: 2 av"},
        {"count": "anteckning sparad"},  # the nurse's and the physiotherapist's notes
        {"count": "klart:"},
    ]  # fmt: skip


def test_handlaggare_holds_the_meeting_in_the_playground_group_chat(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = request.getfixturevalue("demo_stack")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    today = DEMO_TODAY

    replies = run_script(url, in_the_group(today + timedelta(days=3)), tmp_path)

    assert "Uppföljningsmöte ÄNG-032" in replies[1]
    last_step, step_cards, step_lines = replies[-4:-1]
    assert "steg 10 av 10" in last_step
    assert "färdtjänst" in last_step  # the decision saved from the one card
    assert (step_cards, step_lines) == ("1", "8")  # one card updated in place, not ten
    assert "Uppföljningsmötet för ÄNG-032 är sparat" in replies[-1]
    assert (SCREENSHOTS / "meeting-group-11-ended.png").stat().st_size > 10_000
    assert (SCREENSHOTS / "meeting-group-10-last-step.png").stat().st_size > 10_000


def test_handlaggare_nurse_and_physiotherapist_lead_their_steps_on_one_card(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = request.getfixturevalue("demo_stack")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    today = DEMO_TODAY

    replies = run_script(url, as_a_team(today + timedelta(days=3)), tmp_path)

    assert "nu är du Sara Sjuksköterska" in replies[3]
    assert "leder mötet" in replies[5]  # the nurse's "Nästa": a private answer, no move
    assert "nu är du Rami Fysioterapeut" in replies[8]
    counts = replies[-5:]  # step cards; lines of steps 3 and 4; notes; all step lines
    assert counts == ["1", "1", "1", "2", "8"]  # one card for the whole meeting, not ten
