"""Retention: free-text notes of closed stays are removed once they are older than the retention.

What remains of a purged stay are facts the indicators need (dates, decision kind, readiness,
yes/no answers) and the audit log; what goes is everything a person typed: the goal, decision
notes and reasons, provider name and contact, the room, meeting step notes and the copies of those
in outbox payloads. Dialog state of conversations idle since the cutoff goes too, since a
half-filled form may hold typed text. Each purged stay gets an audit event, and so does the run.
Running it again changes nothing and audits nothing.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import FollowUpMeeting, OutboxMessage, Stay
from storage.repos.audit import AuditRepository
from storage.repos.meeting_calls import MeetingCallRepository
from storage.repos.retention import RetentionRepository

STAY_TEXT_FIELDS = (
    "decision_note",
    "extension_reason",
    "provider_name",
    "provider_contact",
    "room",
)
# Keys under which typed text sits in meeting decisions and outbox payloads.
TEXT_KEYS = frozenset(
    {"text", "reason", "provider_name", "provider_contact", "note", "goal", "room", "place"}
)
PURGED_GOAL = ""  # the column is required; an empty goal reads as "removed"
_PERIOD = re.compile(r"^\s*(\d{1,3})\s*(m|mån|månader|y|år)?\s*$", re.IGNORECASE)


class InvalidPeriod(ValueError):
    """``--older-than`` that is not a number of months (``24m``) or years (``2y``)."""


@dataclass(frozen=True, slots=True)
class PurgeResult:
    cutoff: date
    stays: int
    meetings: int
    outbox_messages: int
    dialog_states: int


def parse_months(text: str) -> int:
    """'24m', '24', '2y' -> months."""
    found = _PERIOD.match(text)
    if not found or int(found.group(1)) == 0:
        raise InvalidPeriod(f"{text!r} is not a period such as 24m or 2y")
    amount, unit = int(found.group(1)), (found.group(2) or "m").lower()
    return amount * 12 if unit in ("y", "år") else amount


def months_before(day: date, months: int) -> date:
    """The same day ``months`` earlier, or the month's last day when it has no such day."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


async def purge_closed_stay_notes(
    session: AsyncSession, *, today: date, months: int, now: datetime
) -> PurgeResult:
    """Remove the notes of stays closed (departed) before ``today`` minus ``months``."""
    cutoff = months_before(today, months)
    repo = RetentionRepository(session)
    stays = await repo.closed_stays_departed_before(cutoff)
    stay_ids = [stay.id for stay in stays if stay.id is not None]
    meetings = [m for m in await repo.meetings_of(stay_ids) if _purge_meeting(m)]
    messages = [m for m in await repo.finished_outbox_of(stay_ids) if _purge_payload(m)]
    await MeetingCallRepository(session).forget_text(stay_ids)  # issue 15: calls, underlag
    touched_stays = {m.stay_id for m in meetings} | {m.stay_id for m in messages}
    touched_stays |= await repo.clear_decision_reasons(stay_ids)
    purged = [stay for stay in stays if _purge_stay(stay) or stay.id in touched_stays]
    await repo.save([*purged, *meetings, *messages])
    states = await repo.delete_state_untouched_since(datetime.combine(cutoff, time(), UTC))
    audit = AuditRepository(session)
    for stay in purged:
        await audit.record(
            "retention.purge",
            None,
            stay_id=stay.id,
            unit_id=stay.unit_id,
            detail={"case_code": stay.case_code, "cutoff": cutoff.isoformat()},
        )
    result = PurgeResult(cutoff, len(purged), len(meetings), len(messages), states)
    await audit.record(
        "retention.run",
        None,
        detail={
            "months": months,
            "cutoff": cutoff.isoformat(),
            "stays": result.stays,
            "meetings": result.meetings,
            "outbox_messages": result.outbox_messages,
            "dialog_states": result.dialog_states,
            "at": now.isoformat(),
        },
    )
    return result


def _purge_stay(stay: Stay) -> bool:
    changed = bool(stay.goal)
    stay.goal = PURGED_GOAL
    for field in STAY_TEXT_FIELDS:
        if getattr(stay, field) is not None:
            setattr(stay, field, None)
            changed = True
    return changed


def _purge_meeting(meeting: FollowUpMeeting) -> bool:
    steps = {key: _without_text(value) for key, value in meeting.steps.items()}
    decision = _without_text(meeting.decision) if meeting.decision is not None else None
    if steps == meeting.steps and decision == meeting.decision:
        return False
    # New objects, so the JSON columns are written (in-place changes are not tracked).
    meeting.steps, meeting.decision = steps, decision
    return True


def _purge_payload(message: OutboxMessage) -> bool:
    payload = _without_text(message.payload)
    if payload == message.payload:
        return False
    message.payload = payload
    return True


def _without_text(value: Any) -> Any:
    """A copy with every free-text key removed, at any depth."""
    if isinstance(value, Mapping):
        return {k: _without_text(v) for k, v in value.items() if k not in TEXT_KEYS}
    if isinstance(value, list):
        return [_without_text(item) for item in value]
    return value
