"""registration before arrival: a planned stay and whether the SoL order came before arrival

A stay may be registered before the person arrives, with the status ``planned`` (no schema
change: the status is a short string); ``sol_order_received`` records whether the SoL order
reached the unit before arrival (seed 000). Existing stays have not been asked: NULL.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 11:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("stay", sa.Column("sol_order_received", sa.Boolean(), nullable=True))


def downgrade() -> None:
    # Plain ALTER TABLE (SQLite 3.35+, PostgreSQL): a batch copy of the table would lose the
    # triggers of migration 0009 that name it.
    op.execute("ALTER TABLE stay DROP COLUMN sol_order_received")
