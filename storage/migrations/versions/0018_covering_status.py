"""indicators: the follow-up and arrival indexes cover the stay's status too

The follow-up and arrival figures leave out planned stays (issue 17, item 11); with ``status``
outside the indexes every stay of the period was read from the table. With it, they are
index-only ranges again. "Waiting for a care home" at a period's end reads each stay's latest
wait decision (issue 17): an index on the stay's events by time answers it without the table.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 13:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DEADLINE = ["followup_deadline", "unit_id", "followup_held_on", "departure_date"]
ARRIVAL = ["unit_id", "arrival_date"]


def _recreate(name: str, columns: list[str]) -> None:
    op.drop_index(name, table_name="stay")
    op.create_index(name, "stay", columns)


def upgrade() -> None:
    _recreate("ix_stay_deadline_unit", [*DEADLINE, "status"])
    _recreate("ix_stay_unit_arrival", [*ARRIVAL, "status"])
    op.create_index(
        "ix_decision_event_stay_at", "decision_event", ["stay_id", "decided_at", "kind"]
    )
    op.create_index(
        "ix_decision_event_kind_at", "decision_event", ["kind", "decided_at", "stay_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_decision_event_kind_at", table_name="decision_event")
    op.drop_index("ix_decision_event_stay_at", table_name="decision_event")
    _recreate("ix_stay_deadline_unit", DEADLINE)
    _recreate("ix_stay_unit_arrival", ARRIVAL)
