"""A home-going notice that still waits for its coordinator tells the handläggare, in time.

The coordinator has not opened Korttid, so the notice (date, time, transport, provider) waits
for her. Two working hours before the home-going day starts (16:00 the working day before: the
working day runs 07:00-18:00) the handläggare gets one nudge to call instead. Level-triggered
like the rules: each tick looks at what still waits; the outbox key makes it once per stay,
home-going date and coordinator.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from notifications.expiry import expiry_of
from notifications.formatting import first_name, format_date
from notifications.outbox import enqueue, outbox_key
from notifications.timing import at_local
from storage.domain.calendar import last_working_day_on_or_before
from storage.repos.delivery import DeliveryRepository, WaitingNotice

NOTICE_UNREACHED = "nudge_notice_unreached"
NOTICE_KINDS = ("home_going_set", "home_going_changed", "home_going_cancelled")
LAST_CALL = time(16, 0)  # two working hours before the working day ends at 18:00


def nudge_from(home_going: date) -> datetime:
    """Two working hours before the home-going day's working hours start."""
    return at_local(last_working_day_on_or_before(home_going - timedelta(days=1)), LAST_CALL)


def unreached_notice_source() -> Callable[[AsyncSession, datetime], Awaitable[Sequence[Any]]]:
    """A tick source (``notifications.tick.NudgeSource``) that queues its own rows."""

    async def source(session: AsyncSession, now: datetime) -> Sequence[Any]:
        for notice in await DeliveryRepository(session).waiting_notices(NOTICE_KINDS):
            await _nudge_if_due(session, notice, now)
        return ()

    return source


async def _nudge_if_due(session: AsyncSession, notice: WaitingNotice, now: datetime) -> None:
    raw = notice.payload.get("date")
    if notice.handlaggare_id is None or not isinstance(raw, str):
        return
    home_going = date.fromisoformat(raw)
    if not nudge_from(home_going) <= now < expiry_of(NOTICE_KINDS[0], now, notice.payload):
        return
    await enqueue(
        session,
        key=outbox_key("notice_unreached", notice.stay_id, raw, notice.recipient_id),
        kind=NOTICE_UNREACHED,
        template=NOTICE_UNREACHED,
        payload={
            "case_code": notice.payload.get("case_code"),
            "stay_id": notice.stay_id,
            "date_text": format_date(home_going),
            "coordinator_name": notice.recipient_name,
            "coordinator_first_name": first_name(notice.recipient_name),
        },
        due_at=now,
        recipient_staff_id=notice.handlaggare_id,
        stay_id=notice.stay_id,
        unit_id=notice.unit_id,
    )
