"""The follow-up meeting in a shared chat (issue 16): who is in the chat, who may do what.

A group chat (or a Teams meeting's chat) runs a meeting only when every member is active staff of
the stay's unit, checked through the connector's paged member list; a member who joins later is
checked again and, when not staff, the chat stops showing the stay. Everyone there sees the step;
the step's leader by role ticks topics and writes its note; only the meeting's owner moves.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from botbuilder.core import CardFactory, MessageFactory, TurnContext
from botbuilder.core.teams import TeamsInfo
from botbuilder.schema import Activity, ActivityTypes, ChannelAccount
from sqlmodel.ext.asyncio.session import AsyncSession

from dialogs.commands import GROUP
from dialogs.meeting import service
from dialogs.meeting.agenda import BOT_LEADS, AgendaStep, StepKind, default_agenda
from dialogs.meeting.inputs import Move
from dialogs.meeting.views import (
    DECISION_TEMPLATE,
    STEP_TEMPLATE,
    MeetingView,
    decision_form,
    step_card,
)
from dialogs.turn import Turn
from notifications.render import Renderer
from storage.domain.clock import local_today
from storage.models import FollowUpMeeting, MeetingStatus, Stay
from storage.repos.meeting_cards import MeetingCardRepository
from storage.repos.meetings import MeetingRepository
from storage.repos.staff import StaffProfile, StaffRepository
from storage.repos.stays import StayRepository

log = logging.getLogger(__name__)

MEETING_VERB = "meeting"  # a step card's Action.Execute, run through the dialog like a submit
TAKEOVER_VERB = "meeting_takeover"  # "Ta över mötet" / "Ta tillbaka mötet", run the same way
PRESS_VERBS = frozenset({MEETING_VERB, TAKEOVER_VERB})
REFRESH_VERB = "meeting_refresh"  # Universal Actions refresh: the card as this person sees it
PAGE_SIZE = 100
MAX_REFRESH_USERS = 60  # Teams refreshes automatically for at most 60 listed users
PAUSED_TEMPLATE = "meeting_shared_paused"


@dataclass(frozen=True, slots=True)
class MemberCheck:
    member_ids: tuple[str, ...]  # the members' Teams ids, for the card's refresh
    outsiders: int  # members who are not active staff of the unit (guests count here)
    failed: bool = False  # the member list could not be read: run nothing here


def press_as_submit(activity: Activity) -> bool:
    """A meeting card's Action.Execute: rewrite it as the submit the meeting dialog reads (the
    button's data with the verb as its ``action``, as an Action.Submit of the card sent)."""
    if activity.type != ActivityTypes.invoke or activity.name != "adaptiveCard/action":
        return False
    if _verb(_mapping(activity.value).get("action")) is not None:
        return True  # rewritten already, by an attempt of this turn that lost a race
    action = _mapping(_mapping(activity.value).get("action"))
    verb = _verb(action.get("verb"))
    if verb is None:
        return False
    activity.value = {**_mapping(action.get("data")), "action": verb}
    return True


def _verb(value: Any) -> str | None:
    return value if isinstance(value, str) and value in PRESS_VERBS else None


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


async def chat_members(context: TurnContext) -> list[ChannelAccount]:
    """Every member of the chat, page by page (a meeting chat can be large)."""
    members: list[ChannelAccount] = []
    token: str | None = None
    while True:
        page = await TeamsInfo.get_paged_members(context, token, PAGE_SIZE)
        members.extend(page.members or [])
        token = page.continuation_token
        if not token:
            return members


async def check_members(context: TurnContext, session: AsyncSession, unit_id: int) -> MemberCheck:
    try:
        members = await chat_members(context)
    except Exception as error:  # fail closed: no list, no stay data in the chat
        log.warning("member list not read: %s", type(error).__name__)
        return MemberCheck((), 0, failed=True)
    bot_id = context.activity.recipient.id if context.activity.recipient else None
    staff = StaffRepository(session)
    ids: list[str] = []
    outsiders = 0
    for member in members:
        if member.id == bot_id:
            continue
        ids.append(str(member.id))
        if not await _is_unit_staff(staff, member, unit_id):
            outsiders += 1
    return MemberCheck(tuple(ids), outsiders)


async def _is_unit_staff(staff: StaffRepository, member: ChannelAccount, unit_id: int) -> bool:
    if str(getattr(member, "user_role", None) or "").lower() in ("guest", "anonymous"):
        return False
    profile: StaffProfile | None = None
    aad_object_id = getattr(member, "aad_object_id", None)
    if aad_object_id:
        profile = await staff.profile_by_aad_object_id(aad_object_id)
    email = getattr(member, "email", None) or getattr(member, "user_principal_name", None)
    if profile is None and email:
        found = await staff.by_email(str(email))
        profile = await staff.profile(found) if found is not None and found.active else None
    return profile is not None and unit_id in profile.unit_ids


async def chat_cleared(turn: Turn, stay: Stay) -> MemberCheck | None:
    """The chat's members, when all are staff of the stay's unit; else say so, naming no stay."""
    check = await check_members(turn.context, turn.session, stay.unit_id)
    if check.failed:
        await turn.say("meeting_shared_unchecked")
        return None
    if check.outsiders:
        await turn.say("meeting_shared_outsiders", count=check.outsiders)
        await turn.audit("meeting.shared_refused", unit_id=stay.unit_id)
        return None
    return check


async def recheck_members(context: TurnContext, session: AsyncSession, renderer: Renderer) -> None:
    """Members were added to a group chat: a running meeting stays only if they are staff."""
    conversation_id = str(context.activity.conversation.id)
    cards = MeetingCardRepository(session)
    card = await cards.for_conversation(conversation_id)
    if card is None or card.blocked:
        return
    meeting = await MeetingRepository(session).by_id(card.meeting_id)
    if meeting is None or meeting.status != MeetingStatus.IN_PROGRESS:
        return
    stay = await StayRepository(session).by_id(meeting.stay_id)
    if stay is None:
        return
    check = await check_members(context, session, stay.unit_id)
    if not check.failed and not check.outsiders:
        return
    await cards.block(conversation_id)
    if card.activity_id:  # at once, not after the commit: the stay leaves the screen now
        paused = renderer.card(PAUSED_TEMPLATE, text=renderer.text("meeting_shared_paused"))
        activity = MessageFactory.attachment(CardFactory.adaptive_card(paused))
        activity.id = card.activity_id
        try:
            await context.update_activity(activity)
        except Exception as error:
            log.warning("shared card not hidden: %s", type(error).__name__)
    text = renderer.text("meeting_shared_member_joined", count=max(check.outsiders, 1))
    await context.send_activity(MessageFactory.text(text))


# --- who may do what ---


def leads(profile: StaffProfile, step: AgendaStep) -> bool:
    return any(profile.has_role(lead) for lead in step.leads if lead != BOT_LEADS)


def may_edit(profile: StaffProfile, meeting: FollowUpMeeting, step: AgendaStep) -> bool:
    """Ticks and the note: the step's leader by role, and the meeting's owner."""
    return profile.id == meeting.owner_id or leads(profile, step)


def may_move(profile: StaffProfile, meeting: FollowUpMeeting) -> bool:
    return profile.id == meeting.owner_id


def refusal_for(
    profile: StaffProfile, meeting: FollowUpMeeting, step: AgendaStep, move: Move
) -> str | None:
    """The catalogue key of a private refusal, or None when this person may do it."""
    if move in (Move.SAVE, Move.NOTE):
        return None if may_edit(profile, meeting, step) else "meeting_shared_not_your_step"
    if move in _DECISION_MOVES:
        return None if may_move(profile, meeting) else "meeting_shared_owner_decides"
    return None if may_move(profile, meeting) else "meeting_shared_owner_moves"


_DECISION_MOVES = frozenset({Move.DECIDE, Move.SAVE_DECISION, Move.LEAVE_DECISION})


def card_options(turn: Turn, member_ids: Sequence[str]) -> dict[str, Any]:
    """Template values that differ between the personal card and the shared one."""
    if not shared_scope(turn):
        return {"execute": False, "refresh": None, "can_move": True, "can_edit": True}
    return {
        "execute": True,
        "refresh": {"verb": REFRESH_VERB, "user_ids": list(member_ids)[:MAX_REFRESH_USERS]},
        "can_move": True,  # clients that do not refresh: the answer to a press decides
        "can_edit": True,
    }


def personal_view(
    profile: StaffProfile, meeting: FollowUpMeeting, step: AgendaStep
) -> dict[str, Any]:
    """The refreshed card of one person: move buttons for the owner, inputs for the leader."""
    return {
        "execute": True,
        "refresh": None,
        "can_move": may_move(profile, meeting),
        "can_edit": may_edit(profile, meeting, step),
    }


async def refresh_card(turn: Turn, data: Mapping[str, Any]) -> dict[str, Any] | None:
    """Universal Actions refresh: the shared step card as this member may use it.

    None (a refusal naming no stay) for a member of another unit, a chat that no longer shows
    the meeting, or a meeting that is not running here."""
    try:
        meeting = await service.meeting_by_id(turn.session, int(data.get("meeting_id") or 0))
    except (TypeError, ValueError):
        return None
    stay = await service.stay_by_id(turn.session, meeting.stay_id) if meeting else None
    if meeting is None or stay is None or stay.unit_id not in turn.profile.unit_ids:
        await turn.audit(
            "meeting.access_refused",
            stay_id=stay.id if stay else None,
            detail={"action": REFRESH_VERB, "meeting_id": str(data.get("meeting_id"))[:20]},
        )
        return None
    card = await service.card_in(turn.session, turn.conversation_id)
    if card is None or card.meeting_id != meeting.id or card.blocked:
        return None
    if meeting.status != MeetingStatus.IN_PROGRESS:
        return None
    agenda = default_agenda()
    step = agenda.step(meeting.current_step)
    coordinators: Sequence[Any] = ()
    if step.kind is StepKind.COORDINATOR:
        coordinators = await service.coordinators_of(turn.session, stay)
    view = MeetingView(turn.renderer, agenda, meeting, stay, local_today(turn.clock))
    options = personal_view(turn.profile, meeting, step)
    form = _form_kind(meeting, step)
    if form is not None and may_move(turn.profile, meeting):  # the owner is filling in the form
        template, values = DECISION_TEMPLATE, decision_form(view, form)
    else:
        template, values = STEP_TEMPLATE, step_card(view, coordinators)
    refreshed: dict[str, Any] = turn.renderer.card(template, **{**values, **options})
    return refreshed


def _form_kind(meeting: FollowUpMeeting, step: AgendaStep) -> str | None:
    """The decision kind whose form the chat's card shows, if it shows one."""
    draft = service.decision_part(meeting, "draft")
    if step.kind is not StepKind.DECISION or draft is None or draft.get("mode") == "typed":
        return None
    return str(draft["kind"])


def shared_scope(turn: Turn) -> bool:
    return turn.scope == GROUP
