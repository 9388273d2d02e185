"""The called meeting's facts and views: who may be called, what each card shows, the underlag.

Shared by the calling conversation (``calling.py``), the participants' answers and underlag
(``underlag.py``) and the meeting itself (``dialog.py``). Works on the turn's session through
repositories and only flushes; the turn commits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from dialogs.meeting.agenda import Agenda, AgendaStep, default_agenda
from notifications.formatting import format_clock, format_date
from notifications.meeting_calls import (
    LICENSED_ROLES,
    CallNoticeKind,
    call_payload,
    queue_call_notice,
)
from notifications.render import Renderer
from storage.domain.clock import STOCKHOLM
from storage.models import (
    CallAnswer,
    CallStatus,
    MeetingCall,
    MeetingCallParticipant,
    MeetingUnderlag,
    Role,
    Staff,
    Stay,
)
from storage.repos.meeting_calls import MeetingCallRepository
from storage.repos.staff import StaffProfile, StaffRepository

# The professions that lead a step of their own and bring underlag to it (seed 001 steps 3-5).
STEP_ROLES: tuple[str, ...] = (Role.SJUKSKOTERSKA, Role.REHAB, Role.OMSORGSPERSONAL)


@dataclass(frozen=True, slots=True)
class Candidate:
    staff_id: int
    name: str
    role: str
    proposed: bool


@dataclass(frozen=True, slots=True)
class UnderlagView:
    """One step's underlag as the meeting shows it: by role, with who wrote it and when."""

    step_id: str
    topics: tuple[str, ...]
    note: str | None
    role: str
    author_name: str
    at_text: str
    on_behalf: bool


@dataclass(frozen=True, slots=True)
class Prepared:
    """What the team brought before the meeting: who comes, and each step's underlag."""

    coming: tuple[str, ...] = ()  # "Sara S (sjuksköterska)"
    coming_roles: tuple[str, ...] = ()
    underlag: Mapping[str, UnderlagView] = field(default_factory=dict)


def step_for_role(role: str, agenda: Agenda | None = None) -> AgendaStep | None:
    for step in (agenda or default_agenda()).steps:
        if role in step.leads and step.topics:
            return step
    return None


def role_for_step(step_id: str) -> str | None:
    return next((r for r in STEP_ROLES if (s := step_for_role(r)) and s.id == step_id), None)


def own_role(roles: frozenset[str]) -> str | None:
    return next((role for role in STEP_ROLES if role in roles), None)


def may_call(profile: StaffProfile, stay: Stay) -> bool:
    return profile.has_role(Role.HANDLAGGARE) and stay.unit_id in profile.unit_ids


async def candidates(session: AsyncSession, stay: Stay) -> list[Candidate]:
    """The stay's nurse first, then the unit's nurses, rehab staff and omsorgspersonal."""
    staff = StaffRepository(session)
    found: dict[int, Candidate] = {}
    for role in STEP_ROLES:
        for member in await staff.in_unit_with_role(stay.unit_id, role):
            assert member.id is not None
            if member.id not in found:
                proposed = member.id == stay.nurse_id
                found[member.id] = Candidate(member.id, member.name, role, proposed)
    nurses = [c for c in found.values() if c.role == Role.SJUKSKOTERSKA]
    if not any(c.proposed for c in nurses) and len(nurses) == 1:  # no named nurse: the one
        found[nurses[0].staff_id] = replace(nurses[0], proposed=True)
    return sorted(found.values(), key=lambda c: (not c.proposed, STEP_ROLES.index(c.role)))


def who(renderer: Renderer, name: str, role: str) -> str:
    return f"{name} ({renderer.role_name(role).lower()})"


async def called_lines(
    session: AsyncSession, renderer: Renderer, participants: Sequence[MeetingCallParticipant]
) -> list[str]:
    staff = StaffRepository(session)
    return [who(renderer, await _name(staff, renderer, p.staff_id), p.role) for p in participants]


async def _name(staff: StaffRepository, renderer: Renderer, staff_id: int) -> str:
    member: Staff | None = await staff.by_id(staff_id)
    return member.name if member else renderer.text("a_colleague")


def own_step(role: str) -> dict[str, Any] | None:
    step = step_for_role(role)
    if step is None:
        return None
    return {"number": step.number, "title": step.title, "topics": [t.text for t in step.topics]}


async def queue_notices(
    session: AsyncSession,
    renderer: Renderer,
    call: MeetingCall,
    stay: Stay,
    recipients: Sequence[MeetingCallParticipant],
    kind: CallNoticeKind,
    now: datetime,
    changes: Sequence[str] = (),
) -> int:
    """One card per recipient: their own step, who else is called, what changed."""
    participants = await MeetingCallRepository(session).participants(_id(call))
    payload = call_payload(
        renderer, call, stay, await called_lines(session, renderer, participants)
    )
    queued = 0
    for person in recipients:
        values = {**payload, "own_step": own_step(person.role), "changes": list(changes)}
        queued += await queue_call_notice(
            session,
            call=call,
            stay=stay,
            recipient_id=person.staff_id,
            kind=kind,
            payload=values,
            now=now,
        )
    return queued


def _id(call: MeetingCall) -> int:
    assert call.id is not None
    return call.id


def is_late(call: MeetingCall, stay: Stay) -> bool:
    return stay.followup_held_on is None and call.meeting_date > stay.followup_deadline


async def status_card(
    session: AsyncSession, renderer: Renderer, call: MeetingCall, stay: Stay, viewer: str | None
) -> dict[str, Any]:
    """Values for ``meeting_call_status.json.j2``; ``viewer`` is the Teams user id whose client
    refreshes the card in place (Action.Execute) whenever it is shown."""
    repo = MeetingCallRepository(session)
    participants = await repo.participants(_id(call))
    authors = {row.author_id for row in await repo.underlag(_id(call))}
    staff = StaffRepository(session)
    rows = []
    for person in participants:
        state = _answer_text(renderer, person)
        if person.staff_id in authors:
            state += renderer.text("call_status_underlag_given")
        rows.append(
            {
                "who": who(renderer, await _name(staff, renderer, person.staff_id), person.role),
                "state": state,
            }
        )
    coming = sum(1 for p in participants if p.answer == CallAnswer.COMING)
    not_coming = sum(1 for p in participants if p.answer == CallAnswer.NOT_COMING)
    late = renderer.text("call_late_warning", deadline=format_date(stay.followup_deadline))
    values = call_payload(renderer, call, stay, [])
    return {
        **values,
        "refresh_user_ids": [viewer] if viewer else [],
        "status_line": renderer.text(f"call_status_{call.status}")
        if call.status != CallStatus.CALLED
        else None,
        "late_warning": late if is_late(call, stay) and call.status == CallStatus.CALLED else None,
        "without_licensed": call.without_licensed,
        "summary": renderer.text(
            "call_status_summary",
            called=len(participants),
            coming=coming,
            not_coming=not_coming,
            underlag=len(authors & {p.staff_id for p in participants}),
        ),
        "rows": rows,
        "open": call.status == CallStatus.CALLED,
        "link": values["link"],
    }


def _answer_text(renderer: Renderer, person: MeetingCallParticipant) -> str:
    if person.answer == CallAnswer.COMING:
        return renderer.text("call_answer_coming")
    if person.answer == CallAnswer.NOT_COMING:
        return renderer.text("call_answer_not_coming", reason=person.reason)
    return renderer.text("call_answer_none")


def has_licensed(roles: Sequence[str]) -> bool:
    return any(role in LICENSED_ROLES for role in roles)


def local_time_text(at: datetime) -> str:
    local = at.astimezone(STOCKHOLM)
    return f"{format_date(local.date())} kl. {format_clock(local.time())}"


async def prepared_for(session: AsyncSession, renderer: Renderer, stay: Stay) -> Prepared:
    """The standing call's answers and underlag, for the meeting's cards and summary."""
    assert stay.id is not None
    call = await MeetingCallRepository(session).called_for_stay(stay.id)
    return await prepared_from(session, renderer, call)


async def prepared_from(
    session: AsyncSession, renderer: Renderer, call: MeetingCall | None
) -> Prepared:
    """``prepared_for`` with the standing call read already (None: the meeting was not called)."""
    repo = MeetingCallRepository(session)
    if call is None:
        return Prepared()
    participants = await repo.participants(_id(call))
    coming = [p for p in participants if p.answer == CallAnswer.COMING]
    staff = StaffRepository(session)
    views: dict[str, UnderlagView] = {}
    for row in await repo.underlag(_id(call)):
        views[row.step_id] = _underlag_view(row, await _name(staff, renderer, row.author_id))
    return Prepared(
        coming=tuple(await called_lines(session, renderer, coming)),
        coming_roles=tuple(dict.fromkeys(p.role for p in coming)),
        underlag=views,
    )


def _underlag_view(row: MeetingUnderlag, author_name: str) -> UnderlagView:
    return UnderlagView(
        step_id=row.step_id,
        topics=tuple(row.topics),
        note=row.note,
        role=row.author_role,
        author_name=author_name,
        at_text=local_time_text(row.updated_at),
        on_behalf=row.on_behalf,
    )


async def mark_held(session: AsyncSession, stay: Stay) -> None:
    """The meeting was held: its call is done, and nobody is reminded of it any more."""
    assert stay.id is not None
    repo = MeetingCallRepository(session)
    call = await repo.called_for_stay(stay.id)
    if call is not None:
        call.status = CallStatus.HELD
        await repo.save(call)
