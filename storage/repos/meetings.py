"""Follow-up meetings: the meeting row is where a meeting's progress lives between turns."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, bindparam
from sqlalchemy.orm.attributes import flag_modified
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import (
    CallStatus,
    FollowUpMeeting,
    MeetingCall,
    MeetingCard,
    MeetingStatus,
    Stay,
    utcnow,
)
from storage.repos.keys import is_possible_id

# Every turn of a running meeting: built once.
_RUNNING = (
    select(FollowUpMeeting, Stay, MeetingCard, MeetingCall)
    .join(Stay, col(Stay.id) == col(FollowUpMeeting.stay_id))
    .outerjoin(MeetingCard, col(MeetingCard.conversation_id) == bindparam("conversation_id"))
    .outerjoin(
        MeetingCall,
        and_(
            col(MeetingCall.stay_id) == col(FollowUpMeeting.stay_id),
            col(MeetingCall.status) == CallStatus.CALLED,
        ),
    )
    .where(col(FollowUpMeeting.id) == bindparam("meeting_id"))
    .order_by(col(MeetingCall.id).desc())  # as ``called_for_stay``: the newest standing call
)


@dataclass(frozen=True, slots=True)
class RunningMeeting:
    """What every turn of a running meeting reads, read together."""

    meeting: FollowUpMeeting
    stay: Stay
    card: MeetingCard | None  # the conversation's meeting card (of any meeting), if it has one
    call: MeetingCall | None  # the stay's standing call, with its underlag


class MeetingRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, meeting: FollowUpMeeting) -> FollowUpMeeting:
        self.session.add(meeting)
        await self.session.flush()
        return meeting

    async def by_id(self, meeting_id: int) -> FollowUpMeeting | None:
        if not is_possible_id(meeting_id):
            return None
        return await self.session.get(FollowUpMeeting, meeting_id)

    async def running(self, meeting_id: int, conversation_id: str) -> RunningMeeting | None:
        """A meeting, its stay, the conversation's meeting card and the stay's standing call, in
        one statement: every turn of a running meeting reads the four (issue 16's press)."""
        if not is_possible_id(meeting_id):
            return None
        params = {"meeting_id": meeting_id, "conversation_id": conversation_id}
        row = (await self.session.exec(_RUNNING, params=params)).first()
        return None if row is None else RunningMeeting(row[0], row[1], row[2], row[3])

    async def in_progress_for_stay(self, stay_id: int) -> FollowUpMeeting | None:
        """The open meeting of a stay (at most one is kept open by the meeting service)."""
        result = await self.session.exec(
            select(FollowUpMeeting)
            .where(
                FollowUpMeeting.stay_id == stay_id,
                FollowUpMeeting.status == MeetingStatus.IN_PROGRESS,
            )
            .order_by(col(FollowUpMeeting.id).desc())
        )
        return result.first()

    async def held_days(self, stay_id: int) -> list[date]:
        """The days a stay's meetings were held, first first (the first is the one that counts)."""
        result = await self.session.exec(
            select(col(FollowUpMeeting.held_on)).where(
                FollowUpMeeting.stay_id == stay_id,
                FollowUpMeeting.status == MeetingStatus.HELD,
                col(FollowUpMeeting.held_on).is_not(None),
            )
        )
        return sorted(day for day in result.all() if day is not None)

    async def save(self, meeting: FollowUpMeeting) -> None:
        """Write the meeting; JSON columns are flagged as they are replaced, not tracked.

        No flush of its own: the meeting's UPDATE goes with the turn's last flush (its commit),
        beside the rows the turn adds, or with the next query's autoflush."""
        meeting.updated_at = utcnow()
        for column in ("participants", "steps", "decision"):
            flag_modified(meeting, column)
        self.session.add(meeting)
