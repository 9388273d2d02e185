"""Called follow-up meetings (kallelse): who is called, their answers, each step's underlag."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

from sqlalchemy import bindparam, update
from sqlalchemy.orm.attributes import flag_modified
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import (
    CallStatus,
    MeetingCall,
    MeetingCallParticipant,
    MeetingUnderlag,
    utcnow,
)
from storage.repos.keys import is_possible_id

# Read on every turn of a running meeting (its underlag): built once.
_CALLED_FOR_STAY = (
    select(MeetingCall)
    .where(
        col(MeetingCall.stay_id) == bindparam("stay_id"),
        col(MeetingCall.status) == CallStatus.CALLED,
    )
    .order_by(col(MeetingCall.id).desc())
)


class MeetingCallRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_id(self, call_id: int) -> MeetingCall | None:
        if not is_possible_id(call_id):
            return None
        return await self.session.get(MeetingCall, call_id)

    async def called_for_stay(self, stay_id: int) -> MeetingCall | None:
        """The stay's standing call (at most one is kept called)."""
        return (await self.session.exec(_CALLED_FOR_STAY, params={"stay_id": stay_id})).first()

    async def called_between(self, first: date, last: date) -> Sequence[MeetingCall]:
        """Standing calls for meetings on ``first`` .. ``last`` (the reminders' window)."""
        result = await self.session.exec(
            select(MeetingCall)
            .where(
                MeetingCall.status == CallStatus.CALLED,
                col(MeetingCall.meeting_date) >= first,
                col(MeetingCall.meeting_date) <= last,
            )
            .order_by(col(MeetingCall.id))
        )
        return result.all()

    async def called_for_stays(self, stay_ids: Iterable[int]) -> dict[int, MeetingCall]:
        wanted = list(stay_ids)
        if not wanted:
            return {}
        result = await self.session.exec(
            select(MeetingCall)
            .where(col(MeetingCall.stay_id).in_(wanted), MeetingCall.status == CallStatus.CALLED)
            .order_by(col(MeetingCall.id))
        )
        return {call.stay_id: call for call in result.all()}

    async def save(self, call: MeetingCall) -> MeetingCall:
        call.updated_at = utcnow()
        self.session.add(call)
        await self.session.flush()
        return call

    async def participants(
        self, call_id: int, *, active_only: bool = True
    ) -> Sequence[MeetingCallParticipant]:
        query = select(MeetingCallParticipant).where(MeetingCallParticipant.call_id == call_id)
        if active_only:
            query = query.where(col(MeetingCallParticipant.active))
        result = await self.session.exec(query.order_by(col(MeetingCallParticipant.id)))
        return result.all()

    async def participant(self, call_id: int, staff_id: int) -> MeetingCallParticipant | None:
        result = await self.session.exec(
            select(MeetingCallParticipant).where(
                MeetingCallParticipant.call_id == call_id,
                MeetingCallParticipant.staff_id == staff_id,
            )
        )
        return result.first()

    async def set_participants(
        self, call_id: int, wanted: Sequence[tuple[int, str]]
    ) -> tuple[list[int], list[int]]:
        """Call exactly ``wanted`` (staff id, role); returns (added, removed) staff ids.

        A removed participant's row is kept, inactive, with its answer: history, not overwritten.
        """
        rows = {row.staff_id: row for row in await self.participants(call_id, active_only=False)}
        wanted_ids = {staff_id for staff_id, _role in wanted}
        added: list[int] = []
        for staff_id, role in wanted:
            row = rows.get(staff_id)
            if row is None:
                row = MeetingCallParticipant(call_id=call_id, staff_id=staff_id, role=role)
            elif row.active:
                continue
            row.active = True
            self.session.add(row)
            added.append(staff_id)
        removed = [sid for sid, row in rows.items() if row.active and sid not in wanted_ids]
        for staff_id in removed:
            rows[staff_id].active = False
            self.session.add(rows[staff_id])
        await self.session.flush()
        return added, removed

    async def save_participant(self, row: MeetingCallParticipant) -> None:
        self.session.add(row)
        await self.session.flush()

    async def underlag(self, call_id: int) -> Sequence[MeetingUnderlag]:
        result = await self.session.exec(
            select(MeetingUnderlag)
            .where(MeetingUnderlag.call_id == call_id)
            .order_by(col(MeetingUnderlag.id))
        )
        return result.all()

    async def underlag_for_step(self, call_id: int, step_id: str) -> MeetingUnderlag | None:
        result = await self.session.exec(
            select(MeetingUnderlag).where(
                MeetingUnderlag.call_id == call_id, MeetingUnderlag.step_id == step_id
            )
        )
        return result.first()

    async def save_underlag(self, row: MeetingUnderlag) -> MeetingUnderlag:
        row.updated_at = utcnow()
        self.session.add(row)
        flag_modified(row, "topics")
        await self.session.flush()
        return row

    async def forget_text(self, stay_ids: Iterable[int]) -> int:
        """Retention: the free text of these stays' calls (place, reasons, underlag notes)."""
        wanted = list(stay_ids)
        if not wanted:
            return 0
        calls = select(MeetingCall.id).where(col(MeetingCall.stay_id).in_(wanted))
        changed = 0
        for statement in (
            update(MeetingCall).where(col(MeetingCall.stay_id).in_(wanted)).values(place=None),
            update(MeetingCallParticipant)
            .where(col(MeetingCallParticipant.call_id).in_(calls))
            .values(reason=None),
            update(MeetingUnderlag)
            .where(col(MeetingUnderlag.stay_id).in_(wanted))
            .values(note=None),
        ):
            result = await self.session.exec(statement)
            changed += int(result.rowcount or 0)
        return changed
