"""the seeds' remaining rules: the active stays by the end date of their SoL decision

The nudge before a SoL decision ends (seed 000: the handläggare "avslutar eller förlänger
beslut") reads the active stays whose decided end date falls in a few days' window on every
tick; a partial index over the active stays lets it read only those.

Revision ID: 0013
Revises: 0009
Create Date: 2026-12-03 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIVE = "status = 'active'"


def upgrade() -> None:
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
