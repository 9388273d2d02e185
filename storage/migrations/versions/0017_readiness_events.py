"""readiness history: each checklist status as it was set, for "SIP called" per period

"SIP called" in a period counted the items marked ready whose last change fell in it, so
unmarking (or marking again) in a later week moved an earlier week's figure. Each status set is
now appended to ``readiness_event``; the figure counts the first time the item was marked ready.

Back-fill: one event per "SIP called" item ready today, at its last change and by its author
(what the previous release knew of when it was marked).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 13:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "readiness_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stay_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["author_id"], ["staff.id"]),
        sa.ForeignKeyConstraint(["stay_id"], ["stay.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_readiness_event_stay_id", "readiness_event", ["stay_id"])
    op.create_index(
        "ix_readiness_event_kind_status_at", "readiness_event", ["kind", "status", "at"]
    )
    op.execute(
        "INSERT INTO readiness_event (stay_id, kind, status, at, author_id) "
        "SELECT stay_id, kind, status, updated_at, updated_by_id FROM readiness_item "
        "WHERE kind = 'sip_called' AND status = 'ready'"
    )


def downgrade() -> None:
    op.drop_index("ix_readiness_event_kind_status_at", table_name="readiness_event")
    op.drop_index("ix_readiness_event_stay_id", table_name="readiness_event")
    op.drop_table("readiness_event")
