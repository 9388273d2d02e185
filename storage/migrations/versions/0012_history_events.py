"""history events: each held meeting keeps its day, each decision is an event

The stay kept one follow-up date, overwritten by every meeting, and one current decision, so a
second meeting made an on-time first meeting late and an extension followed by a home-going lost
the extension from last week's counts. Now a meeting keeps the day it was held (``held_on``), the
stay's ``followup_held_on`` is the first of them, and each decision is appended to
``decision_event`` with its time and author; a period's figures read these.

Back-fill, from what the previous release stored:

- ``held_on`` of a held meeting: the Stockholm day of ``held_at`` (the previous release stored
  that day on the stay when the meeting was finished);
- ``stay.followup_held_on``: the first ``held_on`` of the stay's held meetings, where it has any
  (a stay without a meeting row, e.g. imported, keeps its date);
- decision events: one per held meeting, from the decision the meeting recorded, at ``held_at``
  and by the meeting's owner; and the stay's current decision where no meeting event has the
  same instant (a ``hemgång`` typed outside a meeting), author unknown.

Revision ID: 0012
Revises: 0009
Create Date: 2026-12-03 10:00:00
"""

import json
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STOCKHOLM = ZoneInfo("Europe/Stockholm")
BATCH = 5000

MEETINGS = sa.table(
    "followup_meeting",
    sa.column("id", sa.Integer()),
    sa.column("stay_id", sa.Integer()),
    sa.column("status", sa.String()),
    sa.column("owner_id", sa.Integer()),
    sa.column("decision", sa.JSON()),
    sa.column("held_at", sqlmodel.sql.sqltypes.UTCDateTime()),
    sa.column("held_on", sa.Date()),
)
STAYS = sa.table(
    "stay",
    sa.column("id", sa.Integer()),
    sa.column("unit_id", sa.Integer()),
    sa.column("decision_kind", sa.String()),
    sa.column("decided_at", sqlmodel.sql.sqltypes.UTCDateTime()),
    sa.column("home_going_date", sa.Date()),
    sa.column("decision_end_date", sa.Date()),
    sa.column("extension_reason", sa.String()),
    sa.column("followup_held_on", sa.Date()),
)
EVENTS = sa.table(
    "decision_event",
    sa.column("stay_id", sa.Integer()),
    sa.column("unit_id", sa.Integer()),
    sa.column("kind", sa.String()),
    sa.column("decided_at", sqlmodel.sql.sqltypes.UTCDateTime()),
    sa.column("author_id", sa.Integer()),
    sa.column("meeting_id", sa.Integer()),
    sa.column("home_going_date", sa.Date()),
    sa.column("new_end_date", sa.Date()),
    sa.column("reason", sa.String()),
)
EVENT_KIND = {"home_going": "home_going_set"}  # the other decision kinds keep their names


def upgrade() -> None:
    op.add_column("followup_meeting", sa.Column("held_on", sa.Date(), nullable=True))
    op.create_table(
        "decision_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stay_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.Column("decided_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("meeting_id", sa.Integer(), nullable=True),
        sa.Column("home_going_date", sa.Date(), nullable=True),
        sa.Column("new_end_date", sa.Date(), nullable=True),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.ForeignKeyConstraint(["author_id"], ["staff.id"]),
        sa.ForeignKeyConstraint(["meeting_id"], ["followup_meeting.id"]),
        sa.ForeignKeyConstraint(["stay_id"], ["stay.id"]),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_decision_event_stay_id", "decision_event", ["stay_id"])
    op.create_index(
        "ix_decision_event_at_unit_kind", "decision_event", ["decided_at", "unit_id", "kind"]
    )
    connection = op.get_bind()
    _backfill_held_on(connection)
    _backfill_first_meeting(connection)
    _backfill_decisions(connection)


def downgrade() -> None:
    op.drop_index("ix_decision_event_at_unit_kind", table_name="decision_event")
    op.drop_index("ix_decision_event_stay_id", table_name="decision_event")
    op.drop_table("decision_event")
    with op.batch_alter_table("followup_meeting") as batch:
        batch.drop_column("held_on")


def _held_meetings(connection: sa.Connection) -> Iterator[list[Any]]:
    """The held meetings with their stay's unit, in batches by id (keyset, so a region's
    millions of meetings never sit in memory at once)."""
    last = 0
    while True:
        batch = connection.execute(
            sa.select(MEETINGS, STAYS.c.unit_id)
            .join(STAYS, STAYS.c.id == MEETINGS.c.stay_id)
            .where(
                MEETINGS.c.status == "held",
                MEETINGS.c.held_at.is_not(None),
                MEETINGS.c.id > last,
            )
            .order_by(MEETINGS.c.id)
            .limit(BATCH)
        ).all()
        if not batch:
            return
        yield list(batch)
        last = batch[-1].id


def _local_day(instant: datetime) -> date:
    return instant.astimezone(STOCKHOLM).date()


def _backfill_held_on(connection: sa.Connection) -> None:
    update = (
        sa.update(MEETINGS)
        .where(MEETINGS.c.id == sa.bindparam("meeting_id"))
        .values(held_on=sa.bindparam("day"))
    )
    for batch in _held_meetings(connection):
        rows = [{"meeting_id": row.id, "day": _local_day(row.held_at)} for row in batch]
        connection.execute(update, rows)


def _backfill_first_meeting(connection: sa.Connection) -> None:
    held = sa.and_(
        MEETINGS.c.stay_id == STAYS.c.id,
        MEETINGS.c.status == "held",
        MEETINGS.c.held_on.is_not(None),
    )
    first = sa.select(sa.func.min(MEETINGS.c.held_on)).where(held).scalar_subquery()
    connection.execute(
        sa.update(STAYS).where(sa.exists().where(held)).values(followup_held_on=first)
    )


def _backfill_decisions(connection: sa.Connection) -> None:
    """The meetings' decisions (their JSON is read here), then, in SQL, each stay's current
    decision that no meeting event already has at the same instant."""
    for batch in _held_meetings(connection):
        events = [event for row in batch if (event := _meeting_event(row)) is not None]
        if events:
            connection.execute(sa.insert(EVENTS), events)
    kind = STAYS.c.decision_kind
    recorded = sa.exists().where(
        EVENTS.c.stay_id == STAYS.c.id, EVENTS.c.decided_at == STAYS.c.decided_at
    )
    current = sa.select(
        STAYS.c.id,
        STAYS.c.unit_id,
        sa.case((kind == "home_going", "home_going_set"), else_=kind),
        STAYS.c.decided_at,
        sa.case((kind == "home_going", STAYS.c.home_going_date), else_=sa.null()),
        sa.case((kind == "extension", STAYS.c.decision_end_date), else_=sa.null()),
        sa.case((kind == "extension", STAYS.c.extension_reason), else_=sa.null()),
    ).where(kind.is_not(None), STAYS.c.decided_at.is_not(None), ~recorded)
    columns = ["stay_id", "unit_id", "kind", "decided_at", "home_going_date", "new_end_date"]
    connection.execute(sa.insert(EVENTS).from_select([*columns, "reason"], current))


def _meeting_event(row: Any) -> dict[str, Any] | None:
    decision = json.loads(row.decision) if isinstance(row.decision, str) else row.decision
    final = (decision or {}).get("final")
    if not isinstance(final, dict) or not final.get("kind"):
        return None
    kind, values = str(final["kind"]), dict(final.get("values") or {})
    return {
        "stay_id": row.stay_id,
        "unit_id": row.unit_id,
        "kind": EVENT_KIND.get(kind, kind),
        "decided_at": row.held_at,
        "author_id": row.owner_id,
        "meeting_id": row.id,
        "home_going_date": _date(values.get("date")),
        "new_end_date": _date(values.get("end_date")),
        "reason": values.get("reason") if isinstance(values.get("reason"), str) else None,
    }


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None
