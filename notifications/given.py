"""Nudges the conversation has already given (issue 19, item 6).

When a conversation tells a person what a rule would later nudge them about (the afternoon
home-going note), the nudge's outbox row is recorded as given: the level-triggered rule finds
its key taken and nothing is sent a minute later saying the same thing again.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from notifications.outbox import outbox_row
from notifications.rules import NudgeKind, nudge_key
from storage.models import OutboxMessage, OutboxStatus, Stay
from storage.repos.outbox import OutboxRepository


async def afternoon_note_given(
    session: AsyncSession, stay: Stay, staff_id: int, now: datetime
) -> None:
    """The afternoon home-going note was said to ``staff_id`` in their conversation."""
    assert stay.id is not None
    kind = NudgeKind.AFTERNOON_HOME_GOING
    row = outbox_row(
        key=nudge_key(stay.id, kind, None, staff_id),
        kind=kind,
        template="nudge_afternoon_home_going",
        payload={"stay_id": stay.id, "case_code": stay.case_code, "given_in": "conversation"},
        due_at=now,
        recipient_staff_id=staff_id,
        stay_id=stay.id,
        unit_id=stay.unit_id,
    )
    row.update(status=OutboxStatus.GIVEN.value)
    await OutboxRepository(session).give(OutboxMessage(**row))
