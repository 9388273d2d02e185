"""covering indexes for the indicators: a period's stays read from the index alone

The date-led indexes of 0007 find a period's stays, but each row was then read from the table,
where a half-year's 200 000 stays lie on some 50 000 pages: most of an indicator's time. With the
columns the indicator reads added after the date, PostgreSQL answers from the index (an
index-only scan, once VACUUM has marked the pages all-visible) and SQLite uses it as a covering
index. Each index keeps its name and leading columns, so every query that used it still can.

- follow-ups: deadline, unit, the meeting held and the departure;
- ended stays: departure, unit, the arrival (length of stay) and the close reason;
- decisions: the instant, unit and kind.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24 01:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# name -> (columns before, columns after); all on "stay"
INDEXES: dict[str, tuple[list[str], list[str]]] = {
    "ix_stay_deadline_unit": (
        ["followup_deadline", "unit_id"],
        ["followup_deadline", "unit_id", "followup_held_on", "departure_date"],
    ),
    "ix_stay_departure_unit": (
        ["departure_date", "unit_id"],
        ["departure_date", "unit_id", "arrival_date", "close_reason"],
    ),
    "ix_stay_decided_at": (
        ["decided_at"],
        ["decided_at", "unit_id", "decision_kind"],
    ),
}


def upgrade() -> None:
    for name, (_before, after) in INDEXES.items():
        op.drop_index(name, table_name="stay")
        op.create_index(name, "stay", after, unique=False)


def downgrade() -> None:
    for name, (before, _after) in reversed(INDEXES.items()):
        op.drop_index(name, table_name="stay")
        op.create_index(name, "stay", before, unique=False)
