"""graph install: remember per staff member when Korttid last tried to install itself for them

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 11:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain ADD/DROP COLUMN, not batch mode: rebuilding ``staff`` on SQLite would drop its
# fact-change trigger.
def upgrade() -> None:
    op.add_column(
        "staff", sa.Column("app_install_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
    )
    op.add_column(
        "staff",
        sa.Column(
            "app_install_result", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True
        ),
    )


def downgrade() -> None:
    op.drop_column("staff", "app_install_result")
    op.drop_column("staff", "app_install_at")
