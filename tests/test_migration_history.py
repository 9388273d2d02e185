"""Migration 0012 on a database made by the previous release (revision 0009), with data in it.

The previous release wrote the day of the *last* meeting on the stay and kept only the stay's
current decision. After the upgrade the first meeting's day counts, and every decision the
meetings recorded is an event at the time it was taken.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.sql.sqltypes import UTCDateTime

from notifications.indicators import compute_indicators
from storage import db
from storage.db import transaction
from storage.domain.periods import parse_period
from storage.models import DecisionEvent, FollowUpMeeting, Stay

NOW = datetime(2026, 9, 1, tzinfo=UTC)


def _table(name: str, *columns: tuple[str, Any]) -> sa.TableClause:
    return sa.table(name, *(sa.column(column, kind) for column, kind in columns))


UNIT = _table(
    "unit", ("id", sa.Integer()), ("code", sa.String()), ("name", sa.String()),
    ("created_at", UTCDateTime()),
)  # fmt: skip
STAFF = _table(
    "staff", ("id", sa.Integer()), ("email", sa.String()), ("name", sa.String()),
    ("active", sa.Boolean()), ("created_at", UTCDateTime()), ("updated_at", UTCDateTime()),
)  # fmt: skip
STAY = _table(
    "stay", ("id", sa.Integer()), ("unit_id", sa.Integer()), ("case_code", sa.String()),
    ("arrival_date", sa.Date()), ("goal", sa.String()), ("acute", sa.Boolean()),
    ("status", sa.String()), ("followup_deadline", sa.Date()), ("followup_held_on", sa.Date()),
    ("decision_kind", sa.String()), ("decided_at", UTCDateTime()),
    ("decision_end_date", sa.Date()), ("extension_reason", sa.String()),
    ("home_going_date", sa.Date()), ("waiting_care_home", sa.Boolean()),
    ("created_at", UTCDateTime()), ("updated_at", UTCDateTime()),
)  # fmt: skip
MEETING = _table(
    "followup_meeting", ("id", sa.Integer()), ("stay_id", sa.Integer()), ("status", sa.String()),
    ("started_by_id", sa.Integer()), ("owner_id", sa.Integer()), ("current_step", sa.Integer()),
    ("participants", sa.JSON()), ("steps", sa.JSON()), ("decision", sa.JSON()),
    ("started_at", UTCDateTime()), ("updated_at", UTCDateTime()), ("held_at", UTCDateTime()),
)  # fmt: skip


def _stay(stay_id: int, code: str, arrival: date, deadline: date, **facts: Any) -> dict[str, Any]:
    row = {
        "id": stay_id, "unit_id": 1, "case_code": code, "arrival_date": arrival, "goal": "Träna",
        "acute": False, "status": "active", "followup_deadline": deadline,
        "followup_held_on": None, "decision_kind": None, "decided_at": None,
        "decision_end_date": None, "extension_reason": None, "home_going_date": None,
        "waiting_care_home": False, "created_at": NOW, "updated_at": NOW,
    }  # fmt: skip
    return {**row, **facts}


def _meeting(meeting_id: int, stay_id: int, held_at: datetime, final: Any) -> dict[str, Any]:
    return {
        "id": meeting_id, "stay_id": stay_id, "status": "held", "started_by_id": 1,
        "owner_id": 1, "current_step": 10, "participants": [], "steps": {},
        "decision": {"final": final, "draft": None}, "started_at": held_at,
        "updated_at": held_at, "held_at": held_at,
    }  # fmt: skip


def _utc(month: int, day: int, hour: int) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


async def _previous_release_data(engine: Any) -> None:
    """KT-1: met on time (8 Oct, extension), met again 20 Oct (home-going): the previous
    release stored 20 Oct as its follow-up and only the home-going. KT-2: home-going typed with
    ``hemgång`` (no meeting row) and a follow-up date from an import."""
    async with engine.begin() as connection:
        await connection.execute(
            sa.insert(UNIT), [{"id": 1, "code": "KT", "name": "Korttid", "created_at": NOW}]
        )
        await connection.execute(
            sa.insert(STAFF),
            [{"id": 1, "email": "a@k.se", "name": "A", "active": True, "created_at": NOW,
              "updated_at": NOW}],
        )  # fmt: skip
        await connection.execute(
            sa.insert(STAY),
            [
                _stay(
                    1, "KT-1", date(2026, 10, 1), date(2026, 10, 8),
                    followup_held_on=date(2026, 10, 20), decision_kind="home_going",
                    decided_at=_utc(10, 20, 10), home_going_date=date(2026, 10, 27),
                    decision_end_date=date(2026, 10, 30), extension_reason="Träning",
                ),
                _stay(
                    2, "KT-2", date(2026, 9, 30), date(2026, 10, 7),
                    followup_held_on=date(2026, 10, 5), decision_kind="home_going",
                    decided_at=_utc(10, 12, 9), home_going_date=date(2026, 10, 19),
                ),
            ],
        )  # fmt: skip
        extension = {"kind": "extension", "values": {"end_date": "2026-10-30", "reason": "Träning"}}
        home_going = {"kind": "home_going", "values": {"date": "2026-10-27", "time": "09:30"}}
        await connection.execute(
            sa.insert(MEETING),
            [
                # finished 22:00 UTC on 7 Oct, which is midnight 8 Oct in Stockholm: held the 8th
                _meeting(1, 1, _utc(10, 7, 22), extension),
                _meeting(2, 1, _utc(10, 20, 10), home_going),
            ],
        )


async def test_upgrade_from_the_previous_release_keeps_the_figures_as_they_happened(
    database_url: str,
) -> None:
    engine = db.create_engine(database_url)
    try:
        await db.upgrade(engine, "0009")
        await _previous_release_data(engine)
        await db.upgrade(engine)
        sessions = db.session_factory(engine)
        async with transaction(sessions) as session:
            stays = {s.case_code: s for s in (await session.exec(select(Stay))).all()}
            meetings = (
                await session.exec(select(FollowUpMeeting).order_by(col(FollowUpMeeting.id)))
            ).all()
            events = (
                await session.exec(select(DecisionEvent).order_by(col(DecisionEvent.decided_at)))
            ).all()
            october = await compute_indicators(session, parse_period("2026-10"), date(2026, 11, 2))
    finally:
        await engine.dispose()

    assert [m.held_on for m in meetings] == [date(2026, 10, 8), date(2026, 10, 20)]
    assert stays["KT-1"].followup_held_on == date(2026, 10, 8)  # the first meeting's day
    assert stays["KT-2"].followup_held_on == date(2026, 10, 5)  # no meeting row: kept
    assert [(e.stay_id, e.kind, e.decided_at, e.author_id) for e in events] == [
        (1, "extension", _utc(10, 7, 22), 1),
        (2, "home_going_set", _utc(10, 12, 9), None),
        (1, "home_going_set", _utc(10, 20, 10), 1),
    ]
    assert (events[0].new_end_date, events[0].reason) == (date(2026, 10, 30), "Träning")
    assert events[2].meeting_id == 2 and events[2].home_going_date == date(2026, 10, 27)
    figures = october.total
    assert (figures.followup_due, figures.followup_on_time) == (2, 2)
    assert (figures.extensions, figures.home_going_plannings) == (1, 2)
