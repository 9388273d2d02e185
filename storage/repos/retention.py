"""What the retention purge and the audit listing read: old closed stays, their rows, the trail."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime

from sqlalchemy import and_, delete, or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import (
    AuditEvent,
    BotStateItem,
    DecisionEvent,
    FollowUpMeeting,
    OutboxMessage,
    OutboxStatus,
    Staff,
    Stay,
    StayStatus,
    Unit,
)


class RetentionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def closed_stays_departed_before(self, cutoff: date) -> Sequence[Stay]:
        result = await self.session.exec(
            select(Stay)
            .where(
                or_(
                    and_(
                        col(Stay.status) == StayStatus.CLOSED,
                        col(Stay.departure_date).is_not(None),
                        col(Stay.departure_date) < cutoff,
                    ),
                    # a planned stay the person never came to: from the day planned (issue 17)
                    and_(col(Stay.status) == StayStatus.CANCELLED, col(Stay.arrival_date) < cutoff),
                )
            )
            .order_by(col(Stay.id))
        )
        return result.all()

    async def meetings_of(self, stay_ids: Iterable[int]) -> Sequence[FollowUpMeeting]:
        wanted = list(stay_ids)
        if not wanted:
            return []
        result = await self.session.exec(
            select(FollowUpMeeting).where(col(FollowUpMeeting.stay_id).in_(wanted))
        )
        return result.all()

    async def finished_outbox_of(self, stay_ids: Iterable[int]) -> Sequence[OutboxMessage]:
        """Outbox rows of the stays that no dispatcher will render again."""
        wanted = list(stay_ids)
        if not wanted:
            return []
        result = await self.session.exec(
            select(OutboxMessage).where(
                col(OutboxMessage.stay_id).in_(wanted),
                col(OutboxMessage.status).not_in([OutboxStatus.PENDING, OutboxStatus.CLAIMED]),
            )
        )
        return result.all()

    async def clear_decision_reasons(self, stay_ids: Iterable[int]) -> set[int]:
        """Remove the free-text reasons of the stays' decision events; returns the stays whose
        events had one. The events themselves stay: the figures count them."""
        wanted = list(stay_ids)
        if not wanted:
            return set()
        with_reason = and_(
            col(DecisionEvent.stay_id).in_(wanted), col(DecisionEvent.reason).is_not(None)
        )
        found = await self.session.exec(select(DecisionEvent.stay_id).where(with_reason))
        touched = set(found.all())
        if touched:
            await self.session.exec(update(DecisionEvent).where(with_reason).values(reason=None))
        return touched

    async def save(self, rows: Iterable[Stay | FollowUpMeeting | OutboxMessage]) -> None:
        for row in rows:
            self.session.add(row)
        await self.session.flush()

    async def delete_state_untouched_since(self, cutoff: datetime) -> int:
        """Dialog state of conversations idle since ``cutoff`` (it may hold half-typed answers)."""
        result = await self.session.exec(
            delete(BotStateItem).where(col(BotStateItem.updated_at) < cutoff)
        )
        return int(result.rowcount or 0)


class AuditTrailRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def stays_with_code(self, case_code: str, unit_code: str | None) -> Sequence[Stay]:
        query = select(Stay).join(Unit, col(Unit.id) == col(Stay.unit_id))
        query = query.where(Stay.case_code == case_code.strip().upper())
        if unit_code:
            query = query.where(Unit.code == unit_code.strip().upper())
        result = await self.session.exec(query.order_by(col(Stay.id)))
        return result.all()

    async def unit_codes(self, unit_ids: Iterable[int]) -> dict[int, str]:
        result = await self.session.exec(
            select(Unit.id, Unit.code).where(col(Unit.id).in_(list(unit_ids)))
        )
        return {unit_id: code for unit_id, code in result.all() if unit_id is not None}

    async def events_for_stay(self, stay_id: int) -> Sequence[tuple[AuditEvent, str | None]]:
        """The stay's audit events, oldest first, with the acting staff member's email."""
        result = await self.session.exec(
            select(AuditEvent, Staff.email)
            .join(Staff, col(Staff.id) == col(AuditEvent.actor_staff_id), isouter=True)
            .where(AuditEvent.stay_id == stay_id)
            .order_by(col(AuditEvent.at), col(AuditEvent.id))
        )
        return result.all()
