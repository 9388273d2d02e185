"""indexes for the indicators: arrivals, decisions, SIP called, undelivered messages

Each indicator query filters a date or instant range and groups by unit; these indexes let it
read only the rows of the period.

Revision ID: 0006
Revises: 0001
Create Date: 2026-11-23 12:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES: tuple[tuple[str, str, list[str]], ...] = (
    ("ix_stay_unit_arrival", "stay", ["unit_id", "arrival_date"]),
    ("ix_stay_unit_decided", "stay", ["unit_id", "decided_at"]),
    ("ix_readiness_kind_status_updated", "readiness_item", ["kind", "status", "updated_at"]),
    ("ix_outbox_status_unit_due", "outbox_message", ["status", "unit_id", "due_at"]),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)


def downgrade() -> None:
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
