"""What actually happened to a reminder, for the escalation that follows it.

An escalation card to the enhetschef says the handläggare was reminded only when the reminder
was delivered, and when ("fick en påminnelse måndag 23 november 2026 kl. 07:05"); otherwise
that it still waits for someone who has not opened Korttid, is on its way, or could not be
delivered. The rules name which reminders (``reminder_of`` in the payload); the dispatcher
fills in their fate from the outbox when the card goes, so it is true at that moment.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from notifications.formatting import format_date, format_time
from notifications.render import Renderer
from storage.domain.clock import STOCKHOLM
from storage.models import OutboxStatus
from storage.repos.conversations import ConversationRepository
from storage.repos.delivery import DeliveryRepository, ReminderRow

REMINDER_OF = "reminder_of"
REMINDER_TEXT = "reminder_text"
_ON_ITS_WAY = frozenset({OutboxStatus.WAITING, OutboxStatus.PENDING, OutboxStatus.CLAIMED})
# When none was delivered and none is on its way: why not, most telling first.
_GONE = (OutboxStatus.UNDELIVERABLE, OutboxStatus.EXPIRED)


async def with_reminder_fate(
    session: AsyncSession, renderer: Renderer, stay_id: int | None, payload: Mapping[str, Any]
) -> dict[str, Any]:
    """``payload`` with the reminders' fate as a sentence, when it asks for one."""
    filled = dict(payload)
    spec = payload.get(REMINDER_OF)
    if not isinstance(spec, Mapping) or stay_id is None:
        return filled
    owners = [int(staff_id) for staff_id in spec.get("to", [])]
    kinds = [str(kind) for kind in spec.get("kinds", [])]
    rows = await DeliveryRepository(session).reminders(stay_id, kinds, owners)
    sent = [row.sent_at for row in rows if row.status == OutboxStatus.SENT and row.sent_at]
    if sent:
        local = max(sent).astimezone(STOCKHOLM)
        filled[REMINDER_TEXT] = renderer.text(
            "reminder_fate_sent", date=format_date(local.date()), time=format_time(local.time())
        )
        return filled
    filled[REMINDER_TEXT] = renderer.text(
        f"reminder_fate_{await _unsent_state(session, rows, owners)}"
    )
    return filled


async def _unsent_state(session: AsyncSession, rows: list[ReminderRow], owners: list[int]) -> str:
    statuses = {row.status for row in rows}
    if statuses & _ON_ITS_WAY:
        # A reminder due this very moment to someone who has not opened Korttid will wait.
        unreachable = await ConversationRepository(session).without_personal_chat(owners)
        waits = OutboxStatus.WAITING in statuses or unreachable == set(owners)
        return "waiting" if waits else "pending"
    return next((status.value for status in _GONE if status in statuses), "none")
