"""The benchmark harness in its tiniest mode: every section runs end to end and reports.

No timing is asserted here (the targets are judged by ``make bench`` on an idle machine); what is
asserted is what the figures rest on: every turn got its reply, the meeting turns ran in a real
meeting, a second tick and a restarted process's ticks queued nothing again, and no nudge was
lost or sent twice.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bench.cli import MODES, SECTIONS, run
from bench.profile import profile
from bench.report import render

pytestmark = pytest.mark.slow


async def test_the_tiny_benchmark_runs_every_section_without_errors(tmp_path: Path) -> None:
    backends = ["sqlite"] + (["postgres"] if os.environ.get("KORTTID_TEST_POSTGRES_URL") else [])

    results = await run(MODES["tiny"], SECTIONS, backends, tmp_path)

    assert results["errors"] == []
    assert results["backends"] == backends
    turns = results["turns"]
    assert {"raw_echo", "sdk_echo", "sdk_echo_tuned"} <= turns.keys()
    for baseline in ("raw_echo", "sdk_echo", "sdk_echo_tuned"):
        for mode in ("sequential", "concurrent"):
            assert turns[baseline][mode]["errors"] == 0
            assert turns[baseline][mode]["replies"] == turns[baseline][mode]["turns"] > 0
    for backend in backends:
        korttid = turns[f"korttid_{backend}"]
        assert korttid["meeting"]["setup_problems"] == []
        for scenario in ("help", "meeting"):
            for mode in ("sequential", "concurrent"):
                measured = korttid[scenario][mode]
                assert measured["errors"] == 0, measured["error_samples"]
                assert measured["replies"] == measured["turns"] > 0
                assert measured["p99_ms"] >= measured["p50_ms"] > 0
        assert korttid["memory"]["errors"] == 0
        ticks = results["facts"][backend]["tick"]
        assert ticks[0]["queued"] > 0
        assert all(tick["steady_queued"] == tick["restart_queued"] == 0 for tick in ticks)
        assert results["facts"][backend]["indicators"]
        delivery = results["delivery"][backend]
        assert delivery["delivered"] == delivery["messages"]
        assert (delivery["lost"], delivery["duplicated"], delivery["left_in_outbox"]) == (0, 0, 0)
        # issue 16: every press answered; every card update saved for after the answer went
        # (an update that a newer card of the same chat made moot is not sent)
        steady = results["shared"][backend]["open_loop"]
        assert steady["presses"] == MODES["tiny"].shared.presses
        assert 0 < steady["updates_after_answer"] <= steady["presses"]
        assert steady["chat_posts_left"] == 0
        assert results["shared"][backend]["burst"]["presses"] == 20
    assert {target["key"] for target in results["targets"]} >= {
        "shared_p99",
        "turn_ratio",
        "turn_p99",
        "memory_peak",
        "tick_steady_tick_s",
        "indicators",
        "delivery_time",
    }
    report = render({**results, "command": "python -m bench --tiny"})
    assert "## Targets" in report
    assert "## Proactive delivery under Teams' limits" in report
    assert "## A press in a shared chat (issue 16)" in report


async def test_the_phase_timers_account_for_every_meeting_step_turn(tmp_path: Path) -> None:
    """``python -m bench.profile --renderer timers``: each turn's phases, inside its total."""
    report = await profile("meeting", 30, tmp_path, "sqlite", "", "timers")

    measured = json.loads(report.read_text(encoding="utf-8"))
    phases = measured["phases"]
    assert measured["turns"] >= 30
    # Every meeting turn updates the meeting's one card in place (issue 16); "nästa" also sends
    # its short step line, "tillbaka" nothing else.
    for phase in ("process_activity", "route_message", "update_activity", "_save_state"):
        assert phases[phase]["calls_per_turn"] == pytest.approx(1, abs=0.1)
    assert phases["send_activities"]["calls_per_turn"] == pytest.approx(0.5, abs=0.1)
    assert phases["statement in the driver"]["calls_per_turn"] >= 5
    parts = ("route_message", "send_activities", "_save_state", "recognise", "_first_delivery")
    assert 0 < sum(phases[p]["ms_per_turn"] for p in parts) < phases["_run_turn"]["ms_per_turn"]
