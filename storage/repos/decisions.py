"""Decision events: every decision about a stay, appended as it is taken, never changed.

The one way to record a decision: the meeting, ``hemgång KOD`` and an extension all call
``DecisionRepository.append``, so a period's decision counts (``IndicatorRepository.decisions``)
see every decision once, at the time it was taken.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import DecisionEvent, DecisionEventKind, Stay


class DecisionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def append(
        self,
        stay: Stay,
        kind: DecisionEventKind,
        at: datetime,
        author_id: int | None,
        *,
        meeting_id: int | None = None,
        home_going_date: date | None = None,
        new_end_date: date | None = None,
        reason: str | None = None,
    ) -> DecisionEvent:
        assert stay.id is not None
        event = DecisionEvent(
            stay_id=stay.id,
            unit_id=stay.unit_id,
            kind=kind,
            decided_at=at,
            author_id=author_id,
            meeting_id=meeting_id,
            home_going_date=home_going_date,
            new_end_date=new_end_date,
            reason=reason,
        )
        self.session.add(event)
        await self.session.flush()
        return event

    async def for_stay(self, stay_id: int) -> Sequence[DecisionEvent]:
        """A stay's decisions, oldest first."""
        result = await self.session.exec(
            select(DecisionEvent)
            .where(DecisionEvent.stay_id == stay_id)
            .order_by(col(DecisionEvent.decided_at), col(DecisionEvent.id))
        )
        return result.all()
