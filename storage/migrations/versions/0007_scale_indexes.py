"""indexes for a region's scale: date-led ranges, the active stays, hospital waits by closing

PostgreSQL cannot range-scan the second column of a (unit, date) index, so indicator queries
over a period read every stay of five years; indexes led by the date let them read only the
period. A partial index over the active stays (a few percent of all) lets "overdue now" and
"in a bed today" read only the open facts on both backends, and SQLite's planner, which sees
two distinct statuses and takes ``status = 'active'`` for half the table, picks it.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 22:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIVE = "status = 'active'"
INDEXES: tuple[tuple[str, str, list[str], str | None], ...] = (
    ("ix_stay_deadline_unit", "stay", ["followup_deadline", "unit_id"], None),
    ("ix_stay_departure_unit", "stay", ["departure_date", "unit_id"], None),
    ("ix_stay_decided_at", "stay", ["decided_at"], None),
    ("ix_stay_active_deadline", "stay", ["followup_deadline"], ACTIVE),
    ("ix_hospital_wait_closed_at", "hospital_wait", ["closed_at"], None),
)


def upgrade() -> None:
    for name, table, columns, where in INDEXES:
        condition = None if where is None else sa.text(where)
        op.create_index(
            name,
            table,
            columns,
            unique=False,
            sqlite_where=condition,
            postgresql_where=condition,
        )


def downgrade() -> None:
    for name, table, _columns, _where in reversed(INDEXES):
        op.drop_index(name, table_name=table)
