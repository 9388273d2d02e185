"""fact changes: triggers note which stays' rule facts changed, so a tick re-reads only those

The tick used to recompute every active stay's nudges every minute (seconds at a region's
100 000 active stays). Rules change their answer only when a stay's facts change or ``now``
passes a rule instant (00:00, 07:00, 14:00 local), so a tick between two instants needs only
the stays that changed. Triggers, not the repositories, write the journal: no write path, bulk
import or hand-made fix can forget it. Closed stays are not journalled (nothing is due for
them once their pending nudges are gone, which the closing update itself journals).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24 01:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JOURNAL = "INSERT INTO fact_change (stay_id) VALUES"
ACTIVE_STAY = "EXISTS (SELECT 1 FROM stay WHERE stay.id = {0}.stay_id AND stay.status = 'active')"

# (trigger name, event, table, WHEN condition, stay id expression; None: every stay)
SQLITE_TRIGGERS: tuple[tuple[str, str, str, str | None, str | None], ...] = (
    ("fact_change_stay_insert", "INSERT", "stay", "NEW.status = 'active'", "NEW.id"),
    (
        "fact_change_stay_update",
        "UPDATE",
        "stay",
        "NEW.status = 'active' OR OLD.status = 'active'",
        "NEW.id",
    ),
    ("fact_change_stay_delete", "DELETE", "stay", "OLD.status = 'active'", "OLD.id"),
    (
        "fact_change_item_insert",
        "INSERT",
        "readiness_item",
        ACTIVE_STAY.format("NEW"),
        "NEW.stay_id",
    ),
    (
        "fact_change_item_update",
        "UPDATE",
        "readiness_item",
        ACTIVE_STAY.format("NEW"),
        "NEW.stay_id",
    ),
    (
        "fact_change_item_delete",
        "DELETE",
        "readiness_item",
        ACTIVE_STAY.format("OLD"),
        "OLD.stay_id",
    ),
    ("fact_change_staff_update", "UPDATE OF name, active", "staff", None, None),
    ("fact_change_staff_delete", "DELETE", "staff", None, None),
    ("fact_change_unit_update", "UPDATE OF name", "unit", None, None),
    ("fact_change_role_insert", "INSERT", "staff_role", None, None),
    ("fact_change_role_update", "UPDATE", "staff_role", None, None),
    ("fact_change_role_delete", "DELETE", "staff_role", None, None),
    ("fact_change_member_insert", "INSERT", "staff_unit", None, None),
    ("fact_change_member_update", "UPDATE", "staff_unit", None, None),
    ("fact_change_member_delete", "DELETE", "staff_unit", None, None),
)

POSTGRES_FUNCTIONS = {
    "fact_change_of_stay": """
        BEGIN
          IF TG_OP = 'DELETE' THEN
            IF OLD.status = 'active' THEN INSERT INTO fact_change (stay_id) VALUES (OLD.id); END IF;
          ELSIF NEW.status = 'active' THEN
            INSERT INTO fact_change (stay_id) VALUES (NEW.id);
          ELSIF TG_OP = 'UPDATE' THEN
            IF OLD.status = 'active' THEN INSERT INTO fact_change (stay_id) VALUES (NEW.id); END IF;
          END IF;
          RETURN NULL;
        END""",
    "fact_change_of_item": """
        DECLARE changed integer;
        BEGIN
          IF TG_OP = 'DELETE' THEN changed := OLD.stay_id; ELSE changed := NEW.stay_id; END IF;
          IF EXISTS (SELECT 1 FROM stay WHERE id = changed AND status = 'active') THEN
            INSERT INTO fact_change (stay_id) VALUES (changed);
          END IF;
          RETURN NULL;
        END""",
    "fact_change_of_all": """
        BEGIN
          INSERT INTO fact_change (stay_id) VALUES (NULL);
          RETURN NULL;
        END""",
}

# (trigger name, events, table, level, function)
POSTGRES_TRIGGERS: tuple[tuple[str, str, str, str, str], ...] = (
    ("fact_change_stay", "INSERT OR UPDATE OR DELETE", "stay", "ROW", "fact_change_of_stay"),
    (
        "fact_change_item",
        "INSERT OR UPDATE OR DELETE",
        "readiness_item",
        "ROW",
        "fact_change_of_item",
    ),
    (
        "fact_change_staff",
        "UPDATE OF name, active OR DELETE",
        "staff",
        "STATEMENT",
        "fact_change_of_all",
    ),
    ("fact_change_unit", "UPDATE OF name", "unit", "STATEMENT", "fact_change_of_all"),
    (
        "fact_change_role",
        "INSERT OR UPDATE OR DELETE",
        "staff_role",
        "STATEMENT",
        "fact_change_of_all",
    ),
    (
        "fact_change_member",
        "INSERT OR UPDATE OR DELETE",
        "staff_unit",
        "STATEMENT",
        "fact_change_of_all",
    ),
)


def upgrade() -> None:
    op.create_table(
        "fact_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stay_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "rule_evaluation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("epoch", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("through_stay_id", sa.Integer(), nullable=True),
        sa.Column("evaluated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    # A slice of the active stays in id order (the tick's evaluation of every stay) reads only
    # the active stays, not the history between them.
    active = sa.text("status = 'active'")
    op.create_index(
        "ix_stay_active_id", "stay", ["id"], sqlite_where=active, postgresql_where=active
    )
    if op.get_bind().dialect.name == "postgresql":
        _postgres_triggers()
    else:
        _sqlite_triggers()


def _sqlite_triggers() -> None:
    for name, event, table, condition, stay_id in SQLITE_TRIGGERS:
        when = f" WHEN {condition}" if condition else ""
        value = stay_id or "NULL"
        op.execute(
            f"CREATE TRIGGER {name} AFTER {event} ON {table}{when} BEGIN {JOURNAL} ({value}); END"
        )


def _postgres_triggers() -> None:
    for function, body in POSTGRES_FUNCTIONS.items():
        op.execute(f"CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $${body}\n$$")
    for name, events, table, level, function in POSTGRES_TRIGGERS:
        op.execute(
            f"CREATE TRIGGER {name} AFTER {events} ON {table} "
            f"FOR EACH {level} EXECUTE FUNCTION {function}()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name, _events, table, _level, _function in POSTGRES_TRIGGERS:
            op.execute(f"DROP TRIGGER {name} ON {table}")
        for function in POSTGRES_FUNCTIONS:
            op.execute(f"DROP FUNCTION {function}()")
    else:
        for name, *_rest in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER {name}")
    op.drop_index("ix_stay_active_id", table_name="stay")
    op.drop_table("rule_evaluation")
    op.drop_table("fact_change")
