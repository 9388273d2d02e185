"""``korttid purge`` removes typed notes of long-closed stays; ``korttid audit`` shows who did what.

The CLI runs as the operator runs it (``main([...])``, its own engine, the real clock), in a thread
so the test's event loop keeps serving the app it shares the database with.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from sqlmodel import col, select

from bot.cli import main
from dialogs.retention import InvalidPeriod, months_before, parse_months
from storage.db import transaction
from storage.domain.clock import SystemClock, local_today
from storage.models import (
    AuditEvent,
    BotStateItem,
    DecisionEvent,
    FollowUpMeeting,
    OutboxMessage,
    OutboxStatus,
    Stay,
    StayStatus,
)
from storage.repos.stays import StayRepository
from storage.repos.units import UnitRepository
from tests.channel import TeamsChannel
from tests.stay_helpers import HANNA, HENRIK, SARA, seed_people, seed_stay

TODAY = local_today(SystemClock())  # the CLI uses the real clock in Stockholm; so do these
GOAL = "Träna förflyttning inför hemgång"


@pytest.fixture
def cli(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[Any]:
    """Run ``korttid ...`` against the test's database; returns (exit code, stdout, stderr)."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("KORTTID_ENV", "dev")
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level

    async def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = await asyncio.to_thread(main, list(args))
        out, err = capsys.readouterr()
        return code, out, err

    yield run
    root.handlers[:], root.level = handlers, level  # main() installs the production handler


async def _closed_stay(sessions: Any, code: str, departed: date, *, unit: str = "ÄNG") -> int:
    """A closed stay with every kind of typed note, a held meeting and a sent notice."""
    async with transaction(sessions) as session:
        found = await UnitRepository(session).by_code(unit)
        assert found is not None and found.id is not None
        stay = await StayRepository(session).add(
            Stay(
                unit_id=found.id,
                case_code=code,
                room="12 B",
                arrival_date=departed - timedelta(days=12),
                decision_end_date=departed,
                goal=GOAL,
                followup_deadline=departed,  # replaced by the repository
            )
        )
        assert stay.id is not None
        stay.status, stay.departure_date, stay.close_reason = StayStatus.CLOSED, departed, "other"
        stay.decision_kind, stay.decision_note = "other", "Flyttar till dottern i Borås"
        stay.extension_reason = "Behövde mer träning"
        stay.provider_name, stay.provider_contact = "Omsorg Öst AB", "031-123 45 67"
        session.add(stay)
        session.add(
            DecisionEvent(
                stay_id=stay.id,
                unit_id=found.id,
                kind="extension",
                decided_at=datetime.combine(departed, time(9), UTC),
                new_end_date=departed,
                reason="Behövde mer träning",
            )
        )
        session.add(
            FollowUpMeeting(
                stay_id=stay.id,
                status="held",
                started_by_id=1,
                owner_id=1,
                current_step=10,
                steps={"health_nurse": {"covered": ["wounds"], "note": "Sår på höger fot"}},
                decision={
                    "final": {"kind": "other", "values": {"text": "Flyttar", "sip_wanted": True}},
                    "draft": None,
                },
            )
        )
        session.add(
            OutboxMessage(
                key=f"notice|{code}",
                kind="home_going_set",
                template="home_going_notice",
                payload={"case_code": code, "date": "2024-01-02", "provider_contact": "031-1"},
                status=OutboxStatus.SENT,
                stay_id=stay.id,
                unit_id=found.id,
            )
        )
        return stay.id


async def _stay(sessions: Any, stay_id: int) -> tuple[Stay, FollowUpMeeting, OutboxMessage]:
    async with transaction(sessions) as session:
        stay = await session.get(Stay, stay_id)
        meeting = (
            await session.exec(select(FollowUpMeeting).where(FollowUpMeeting.stay_id == stay_id))
        ).one()
        message = (
            await session.exec(select(OutboxMessage).where(OutboxMessage.stay_id == stay_id))
        ).one()
        assert stay is not None
        return stay, meeting, message


async def _event_reasons(sessions: Any, stay_id: int) -> list[tuple[str, str | None]]:
    async with transaction(sessions) as session:
        query = select(DecisionEvent).where(DecisionEvent.stay_id == stay_id)
        return [(e.kind, e.reason) for e in (await session.exec(query)).all()]


async def _audit(sessions: Any, action: str) -> list[AuditEvent]:
    async with transaction(sessions) as session:
        query = select(AuditEvent).where(AuditEvent.action == action)
        return list((await session.exec(query.order_by(col(AuditEvent.id)))).all())


async def test_purge_removes_notes_of_stays_closed_longer_than_the_retention(
    sessions: Any, cli: Any
) -> None:
    await seed_people(sessions, HANNA, SARA)
    old = await _closed_stay(sessions, "ÄNG-001", months_before(TODAY, 30))
    recent = await _closed_stay(sessions, "ÄNG-002", months_before(TODAY, 6))
    async with transaction(sessions) as session:
        long_ago = datetime.now(UTC) - timedelta(days=1000)
        session.add(BotStateItem(key="idle", etag="1", data="{}", updated_at=long_ago))
        session.add(BotStateItem(key="busy", etag="1", data="{}"))

    code, out, _ = await cli("purge", "--older-than", "24m")

    assert code == 0
    assert f"notes removed from 1 stays closed before {months_before(TODAY, 24)}" in out
    stay, meeting, message = await _stay(sessions, old)
    assert stay.goal == ""
    assert (stay.decision_note, stay.extension_reason, stay.room) == (None, None, None)
    assert (stay.provider_name, stay.provider_contact) == (None, None)
    # The facts the indicators count stay.
    assert (stay.status, stay.decision_kind, stay.close_reason) == ("closed", "other", "other")
    assert stay.arrival_date == months_before(TODAY, 30) - timedelta(days=12)
    assert meeting.steps == {"health_nurse": {"covered": ["wounds"]}}
    assert meeting.decision == {
        "final": {"kind": "other", "values": {"sip_wanted": True}},
        "draft": None,
    }
    assert message.payload == {"case_code": "ÄNG-001", "date": "2024-01-02"}
    assert await _event_reasons(sessions, old) == [("extension", None)]  # counted, not its text
    assert await _event_reasons(sessions, recent) == [("extension", "Behövde mer träning")]
    kept, kept_meeting, kept_message = await _stay(sessions, recent)
    assert kept.goal == GOAL and kept.provider_contact == "031-123 45 67"
    assert kept_meeting.steps["health_nurse"]["note"] == "Sår på höger fot"
    assert kept_message.payload["provider_contact"] == "031-1"
    async with transaction(sessions) as session:
        assert [s.key for s in (await session.exec(select(BotStateItem))).all()] == ["busy"]
    purged = await _audit(sessions, "retention.purge")
    assert [(e.stay_id, e.actor_staff_id) for e in purged] == [(old, None)]
    (run,) = await _audit(sessions, "retention.run")
    assert run.detail["stays"] == 1 and run.detail["months"] == 24

    code, out, _ = await cli("purge", "--older-than", "2y")

    assert code == 0 and "notes removed from 0 stays" in out
    assert len(await _audit(sessions, "retention.purge")) == 1  # nothing new to remove
    assert len(await _audit(sessions, "retention.run")) == 2


async def test_retention_is_configurable_and_a_bad_period_is_refused(
    sessions: Any, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed_people(sessions, HANNA)
    recent = await _closed_stay(sessions, "ÄNG-002", months_before(TODAY, 6))

    code, _, err = await cli("purge", "--older-than", "snart")
    assert code == 2 and "24m or 2y" in err
    assert (await _stay(sessions, recent))[0].goal == GOAL

    code, _, _ = await cli("purge")  # default: 24 months
    assert code == 0 and (await _stay(sessions, recent))[0].goal == GOAL

    monkeypatch.setenv("KORTTID_RETENTION_MONTHS", "3")
    code, out, _ = await cli("purge")
    assert code == 0 and "from 1 stays" in out
    assert (await _stay(sessions, recent))[0].goal == ""


def test_periods() -> None:
    assert [parse_months(t) for t in ("24m", "24", "2y", " 18 M ", "3år")] == [24, 24, 24, 18, 36]
    for bad in ("", "0m", "-3m", "2 weeks", "m"):
        with pytest.raises(InvalidPeriod):
            parse_months(bad)
    assert months_before(date(2026, 3, 31), 1) == date(2026, 2, 28)
    assert months_before(date(2026, 1, 15), 24) == date(2024, 1, 15)


async def test_audit_shows_who_did_what_to_a_stay(
    channel: TeamsChannel, sessions: Any, clock: Any, cli: Any
) -> None:
    await seed_people(sessions, HANNA, SARA, HENRIK)
    stay_id = await seed_stay(sessions, clock, "ÄNG-042")
    hanna = channel.user("hanna", HANNA[0], HANNA[1])
    sara = channel.user("sara", SARA[0], SARA[1])
    henrik = channel.user("henrik", HENRIK[0], HENRIK[1])
    await channel.say(hanna, "vistelse ÄNG-042")
    await channel.say(sara, "klar läkemedel ÄNG-042")
    await channel.submit(henrik, {"action": "open_stay", "stay_id": stay_id})  # another unit

    code, out, _ = await cli("audit", "--stay", "äng-042")

    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("audit trail of ÄNG-042")
    events = [line.split("\t") for line in lines[1:]]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", e[0]) for e in events)
    who_what = [(e[1], e[2]) for e in events]
    assert ("hanna@kommun.se", "stay.read") in who_what
    assert any(who == "sara@kommun.se" and "readiness" in what for who, what in who_what)
    assert ("henrik@kommun.se", "stay.access_refused") in who_what
    assert [e.stay_id for e in await _audit(sessions, "audit.read")] == [stay_id]


async def test_audit_needs_a_unit_when_the_code_is_ambiguous(
    sessions: Any, clock: Any, cli: Any
) -> None:
    await seed_people(sessions, HANNA, HENRIK)
    await seed_stay(sessions, clock, "ÄNG-042")
    await seed_stay(sessions, clock, "ÄNG-042", unit="BJÖ", handlaggare=None, nurse=None)

    code, _, err = await cli("audit", "--stay", "ÄNG-042")
    assert code == 1 and "BJÖ, ÄNG" in err and "--unit" in err

    code, out, _ = await cli("audit", "--stay", "ÄNG-042", "--unit", "bjö")
    assert code == 0 and out.startswith("audit trail of ÄNG-042")

    code, _, err = await cli("audit", "--stay", "ÄNG-999")
    assert code == 1 and "no stay ÄNG-999" in err
