"""indicators at a region's years of history: date-led arrivals, bounded care-home waits

Measured at 2 000 000 stays (issue 17): arrivals read every unit's arrival range through the
unit-led index; a date-led covering one reads the period's arrivals alone. "Waiting for a care
home" reads the care-home wait decisions of the stays between the lowest and highest id of the
stays in a bed: an index led by kind and stay answers that range (the kind-and-time one it
replaces read all history's). "SIP called" checks for an earlier mark per stay through an index
that covers the check. The stays that departed after a period's end (still in a bed then) are
read from the departure index alone: it holds their id too.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03 17:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


DEPARTURE = ["departure_date", "unit_id", "arrival_date", "close_reason"]


def _recreate(name: str, columns: list[str]) -> None:
    op.drop_index(name, table_name="stay")
    op.create_index(name, "stay", columns)


def upgrade() -> None:
    op.create_index("ix_stay_arrival_unit", "stay", ["arrival_date", "unit_id", "status"])
    _recreate("ix_stay_departure_unit", [*DEPARTURE, "id"])
    op.drop_index("ix_decision_event_kind_at", table_name="decision_event")
    op.create_index(
        "ix_decision_event_kind_stay", "decision_event", ["kind", "stay_id", "decided_at"]
    )
    op.create_index(
        "ix_readiness_event_stay_kind", "readiness_event", ["stay_id", "kind", "status", "at"]
    )


def downgrade() -> None:
    op.drop_index("ix_readiness_event_stay_kind", table_name="readiness_event")
    op.drop_index("ix_decision_event_kind_stay", table_name="decision_event")
    op.create_index(
        "ix_decision_event_kind_at", "decision_event", ["kind", "decided_at", "stay_id"]
    )
    _recreate("ix_stay_departure_unit", DEPARTURE)
    op.drop_index("ix_stay_arrival_unit", table_name="stay")
