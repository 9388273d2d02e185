"""the seeds' remaining rules: the SoL decision's end date, and who calls the SIP

The nudge before a SoL decision ends (seed 000: the handläggare "avslutar eller förlänger
beslut") reads the active stays whose decided end date falls in a few days' window on every
tick; a partial index over the active stays lets it read only those. When the need for
coordination that remains is health care alone, the nurse calls the SIP (seed 003): a column
says so.

Revision ID: 0013
Revises: 0009
Create Date: 2026-12-03 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIVE = "status = 'active'"


def upgrade() -> None:
    # Whether the need for coordination that remains is health care alone: then the nurse, not
    # the handläggare, calls the SIP (seed 003). Unknown (NULL) for the stays decided before.
    op.add_column("stay", sa.Column("health_care_only", sa.Boolean(), nullable=True))
    op.create_index(
        "ix_stay_active_decision_end",
        "stay",
        ["decision_end_date"],
        unique=False,
        sqlite_where=sa.text(ACTIVE),
        postgresql_where=sa.text(ACTIVE),
    )


def downgrade() -> None:
    op.drop_index("ix_stay_active_decision_end", table_name="stay")
    # Plain ALTER TABLE (SQLite 3.35+, PostgreSQL): a batch copy of the table would lose the
    # fact-change triggers of migration 0009.
    op.execute("ALTER TABLE stay DROP COLUMN health_care_only")
