"""shared meeting: the one live meeting card per conversation (issue 16)

A meeting's step card is one message that every turn updates; its activity id lives here so
every instance finds it. Shared chats keep the checked member ids (for the card's per-person
refresh) and whether a member who is not staff has joined since.

Revision ID: 0011
Revises: 0009
Create Date: 2026-12-03 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "meeting_card",
        sa.Column("conversation_id", sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("activity_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("shared", sa.Boolean(), nullable=False),
        sa.Column("blocked", sa.Boolean(), nullable=False),
        sa.Column("member_ids", sa.JSON(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["meeting_id"], ["followup_meeting.id"]),
        sa.PrimaryKeyConstraint("conversation_id"),
    )
    op.create_index("ix_meeting_card_meeting_id", "meeting_card", ["meeting_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_meeting_card_meeting_id", table_name="meeting_card")
    op.drop_table("meeting_card")
