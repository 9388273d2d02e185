"""waiting delivery: a message for someone who has not opened Korttid yet waits until it expires

Rows whose recipient has no conversation yet get the status ``waiting`` (no schema change: the
status is a short string) and an expiry; the index finds a person's waiting rows when they
install or open Korttid.

Revision ID: 0014
Revises: 0009
Create Date: 2026-12-03 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("expires_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
        batch_op.create_index(
            "ix_outbox_status_recipient", ["status", "recipient_staff_id"], unique=False
        )


def downgrade() -> None:
    op.execute("UPDATE outbox_message SET status = 'undeliverable' WHERE status = 'waiting'")
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_status_recipient")
        batch_op.drop_column("expires_at")
