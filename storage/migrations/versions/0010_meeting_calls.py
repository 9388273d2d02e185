"""meeting calls: the handläggare calls the follow-up meeting, and every profession brings underlag

- meeting_call: the booked meeting (date, time, form, place or Teams link, status, version);
- meeting_call_participant: who is called, and their answer (comes / cannot, why, when);
- meeting_underlag: one profession's input to its agenda step (topics, note, author, on behalf).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _string(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def _datetime() -> sqlmodel.sql.sqltypes.UTCDateTime:
    return sqlmodel.sql.sqltypes.UTCDateTime()


def upgrade() -> None:
    op.create_table(
        "meeting_call",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stay_id", sa.Integer(), nullable=False),
        sa.Column("called_by_id", sa.Integer(), nullable=False),
        sa.Column("meeting_date", sa.Date(), nullable=False),
        sa.Column("meeting_time", sa.Time(), nullable=False),
        sa.Column("form", _string(16), nullable=False),
        sa.Column("place", _string(300), nullable=True),
        sa.Column("status", _string(16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("without_licensed", sa.Boolean(), nullable=False),
        sa.Column("created_at", _datetime(), nullable=False),
        sa.Column("updated_at", _datetime(), nullable=False),
        sa.ForeignKeyConstraint(["stay_id"], ["stay.id"]),
        sa.ForeignKeyConstraint(["called_by_id"], ["staff.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_meeting_call_stay_id", "meeting_call", ["stay_id"])
    op.create_index("ix_meeting_call_status_date", "meeting_call", ["status", "meeting_date"])
    op.create_table(
        "meeting_call_participant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("role", _string(32), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("answer", _string(16), nullable=True),
        sa.Column("reason", _string(200), nullable=True),
        sa.Column("answered_at", _datetime(), nullable=True),
        sa.Column("created_at", _datetime(), nullable=False),
        sa.ForeignKeyConstraint(["call_id"], ["meeting_call.id"]),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("call_id", "staff_id", name="uq_call_participant"),
    )
    op.create_index("ix_meeting_call_participant_call_id", "meeting_call_participant", ["call_id"])
    op.create_table(
        "meeting_underlag",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("stay_id", sa.Integer(), nullable=False),
        sa.Column("step_id", _string(32), nullable=False),
        sa.Column("topics", sa.JSON(), nullable=False),
        sa.Column("note", _string(500), nullable=True),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("author_role", _string(32), nullable=False),
        sa.Column("on_behalf", sa.Boolean(), nullable=False),
        sa.Column("updated_at", _datetime(), nullable=False),
        sa.ForeignKeyConstraint(["call_id"], ["meeting_call.id"]),
        sa.ForeignKeyConstraint(["stay_id"], ["stay.id"]),
        sa.ForeignKeyConstraint(["author_id"], ["staff.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("call_id", "step_id", name="uq_underlag_call_step"),
    )
    op.create_index("ix_meeting_underlag_call_id", "meeting_underlag", ["call_id"])


def downgrade() -> None:
    op.drop_index("ix_meeting_underlag_call_id", table_name="meeting_underlag")
    op.drop_table("meeting_underlag")
    op.drop_index("ix_meeting_call_participant_call_id", table_name="meeting_call_participant")
    op.drop_table("meeting_call_participant")
    op.drop_index("ix_meeting_call_status_date", table_name="meeting_call")
    op.drop_index("ix_meeting_call_stay_id", table_name="meeting_call")
    op.drop_table("meeting_call")
