"""SQLModel tables: the facts Korttid keeps.

No table holds a patient's name or personal identity number: a stay is known by its case code.
Datetimes are timezone-aware and stored as UTC; dates are calendar dates in Europe/Stockholm.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    """Aware UTC now: every datetime column holds aware UTC values."""
    return datetime.now(UTC)


class Role(StrEnum):
    HANDLAGGARE = "handlaggare"
    SJUKSKOTERSKA = "sjukskoterska"
    REHAB = "rehab"
    OMSORGSPERSONAL = "omsorgspersonal"
    KOORDINATOR = "koordinator"
    BOENDESAMORDNARE = "boendesamordnare"
    ENHETSCHEF = "enhetschef"
    ADMIN = "admin"


class StayStatus(StrEnum):
    PLANNED = "planned"  # registered before arrival; active once ``ankommit`` (issue 17, item 11)
    ACTIVE = "active"
    CLOSED = "closed"
    # a planned stay the person never came to (issue 17): no stay at all, counted nowhere
    CANCELLED = "cancelled"


class DecisionKind(StrEnum):
    HOME_GOING = "home_going"
    EXTENSION = "extension"
    CARE_HOME_WAIT = "care_home_wait"
    OTHER = "other"


class DecisionEventKind(StrEnum):
    """What a decision event records (migration 0012): each decision as it was taken."""

    HOME_GOING_SET = "home_going_set"
    HOME_GOING_CHANGED = "home_going_changed"
    HOME_GOING_CANCELLED = "home_going_cancelled"
    EXTENSION = "extension"
    CARE_HOME_WAIT = "care_home_wait"
    OTHER = "other"


class CloseReason(StrEnum):
    WENT_HOME = "went_home"
    CARE_HOME = "care_home"
    HOSPITAL = "hospital"
    DIED = "died"
    OTHER = "other"


class MeetingStatus(StrEnum):
    IN_PROGRESS = "in_progress"
    HELD = "held"
    CANCELLED = "cancelled"


class ReadinessKind(StrEnum):
    ASSISTIVE_DEVICES = "assistive_devices"
    MEDICATION = "medication"
    CARE_PLAN = "care_plan"
    HOME_HELP = "home_help"
    ALARM = "alarm"
    KEYS = "keys"
    TRANSPORT = "transport"
    HOME_MODIFICATION = "home_modification"
    CLOSING_NOTE = "closing_note"
    SIP_CALLED = "sip_called"
    # The nurse tells the health centre of a care-home decision (seed 003); not a home-going item.
    CARE_HOME_NOTICE = "care_home_notice"


class ReadinessStatus(StrEnum):
    NOT_READY = "not_ready"
    READY = "ready"
    NOT_APPLICABLE = "not_applicable"


class WaitStatus(StrEnum):
    WAITING = "waiting"
    ARRIVED = "arrived"
    OTHER = "other"


class ConversationKind(StrEnum):
    PERSONAL = "personal"
    CHANNEL = "channel"
    GROUP = "group"


class OutboxStatus(StrEnum):
    PENDING = "pending"
    CLAIMED = "claimed"
    SENT = "sent"
    UNDELIVERABLE = "undeliverable"
    WITHDRAWN = "withdrawn"
    # The recipient has no conversation with Korttid yet: delivered when they open it.
    WAITING = "waiting"
    # Waited past the moment it was worth sending (``expires_at``): never sent late.
    EXPIRED = "expired"
    # Not sent: the conversation already told the person the same thing (issue 19, item 6).
    GIVEN = "given"


class Unit(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=16, unique=True)
    name: str = Field(max_length=120)
    created_at: datetime = Field(default_factory=utcnow)


class Staff(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, unique=True)
    name: str = Field(max_length=120)
    aad_object_id: str | None = Field(default=None, max_length=64, unique=True)
    teams_user_id: str | None = Field(default=None, max_length=200)
    active: bool = Field(default=True)
    # Korttid's last attempt to install itself for this person through Microsoft Graph, and how
    # it went (never retried sooner than a day later; see ``notifications.install``).
    app_install_at: datetime | None = None
    app_install_result: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class StaffRole(SQLModel, table=True):
    __tablename__ = "staff_role"
    staff_id: int = Field(foreign_key="staff.id", primary_key=True, ondelete="CASCADE")
    role: str = Field(max_length=32, primary_key=True, index=True)


class StaffUnit(SQLModel, table=True):
    __tablename__ = "staff_unit"
    staff_id: int = Field(foreign_key="staff.id", primary_key=True, ondelete="CASCADE")
    unit_id: int = Field(foreign_key="unit.id", primary_key=True, index=True, ondelete="CASCADE")


class ConversationRef(SQLModel, table=True):
    """Where a proactive message can go: a staff member's personal chat or a unit's channel."""

    __tablename__ = "conversation_ref"
    id: int | None = Field(default=None, primary_key=True)
    conversation_id: str = Field(max_length=400, unique=True)
    kind: str = Field(max_length=16)
    staff_id: int | None = Field(default=None, foreign_key="staff.id", index=True)
    unit_id: int | None = Field(default=None, foreign_key="unit.id", index=True)
    team_id: str | None = Field(default=None, max_length=400)
    tenant_id: str | None = Field(default=None, max_length=64)
    service_url: str = Field(max_length=500)
    channel_id: str = Field(default="msteams", max_length=32)
    reference: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    active: bool = Field(default=True)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


# The partial indexes' condition; queries spell the value out too (not as a parameter).
ACTIVE_STAY = "status = 'active'"


class Stay(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("unit_id", "case_code", name="uq_stay_unit_case_code"),
        Index("ix_stay_status_deadline", "status", "followup_deadline"),
        Index("ix_stay_status_home_going", "status", "home_going_date"),
        Index("ix_stay_unit_departure", "unit_id", "departure_date"),
        Index("ix_stay_unit_deadline", "unit_id", "followup_deadline"),
        # indicators (migration 0006); status (0018): planned stays left out from the index
        Index("ix_stay_unit_arrival", "unit_id", "arrival_date", "status"),
        # a period's arrivals over all the units (migration 0020): a date range, index-only
        Index("ix_stay_arrival_unit", "arrival_date", "unit_id", "status"),
        Index("ix_stay_unit_decided", "unit_id", "decided_at"),
        # a region's scale (migration 0007): date-led ranges, and the active stays alone
        # covering the indicators' columns (migration 0008): index-only scans on PostgreSQL
        Index(  # status (migration 0018): planned stays are left out without a table read
            "ix_stay_deadline_unit",
            "followup_deadline",
            "unit_id",
            "followup_held_on",
            "departure_date",
            "status",
        ),
        Index(  # id (migration 0020): stays in a bed after a period, read from the index alone
            "ix_stay_departure_unit",
            "departure_date",
            "unit_id",
            "arrival_date",
            "close_reason",
            "id",
        ),
        Index("ix_stay_decided_at", "decided_at", "unit_id", "decision_kind"),
        Index(
            "ix_stay_active_deadline",
            "followup_deadline",
            sqlite_where=text(ACTIVE_STAY),
            postgresql_where=text(ACTIVE_STAY),
        ),
        # the tick's slices of active stays in id order (migration 0009)
        Index(
            "ix_stay_active_id",
            "id",
            sqlite_where=text(ACTIVE_STAY),
            postgresql_where=text(ACTIVE_STAY),
        ),
        # the SoL decision's end date nudges (migration 0013)
        Index(
            "ix_stay_active_decision_end",
            "decision_end_date",
            sqlite_where=text(ACTIVE_STAY),
            postgresql_where=text(ACTIVE_STAY),
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="unit.id")
    case_code: str = Field(max_length=32)
    room: str | None = Field(default=None, max_length=16)
    arrival_date: date
    decision_end_date: date | None = None
    goal: str = Field(max_length=500)
    acute: bool = False
    phone_handover_done: bool | None = None
    # issue 17, item 11: did the SoL order reach the unit before arrival (None: not asked)
    sol_order_received: bool | None = None
    handlaggare_id: int | None = Field(default=None, foreign_key="staff.id", index=True)
    nurse_id: int | None = Field(default=None, foreign_key="staff.id", index=True)
    status: str = Field(default=StayStatus.ACTIVE, max_length=16)
    followup_deadline: date
    followup_held_on: date | None = None
    decision_kind: str | None = Field(default=None, max_length=16)
    decided_at: datetime | None = None
    decision_note: str | None = Field(default=None, max_length=500)
    extension_reason: str | None = Field(default=None, max_length=500)
    waiting_care_home: bool = False
    coordination_needed: bool | None = None
    # The remaining need is health care alone: the nurse calls the SIP (seed 003; migration 0013).
    health_care_only: bool | None = None
    sip_wanted: bool | None = None
    home_going_date: date | None = None
    home_going_time: time | None = None
    transport: str | None = Field(default=None, max_length=16)
    home_help_meets: bool | None = None
    provider_name: str | None = Field(default=None, max_length=120)
    provider_contact: str | None = Field(default=None, max_length=120)
    close_reason: str | None = Field(default=None, max_length=16)
    departure_date: date | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class FollowUpMeeting(SQLModel, table=True):
    __tablename__ = "followup_meeting"
    id: int | None = Field(default=None, primary_key=True)
    stay_id: int = Field(foreign_key="stay.id", index=True)
    status: str = Field(default=MeetingStatus.IN_PROGRESS, max_length=16)
    started_by_id: int = Field(foreign_key="staff.id")
    owner_id: int = Field(foreign_key="staff.id")
    current_step: int = 1
    participants: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    steps: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    decision: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    started_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    held_at: datetime | None = None  # when "Avsluta mötet" was pressed
    held_on: date | None = None  # the day the meeting was held, as the handläggare says


class DecisionEvent(SQLModel, table=True):
    """A decision as it was taken: appended, never changed. A period's decision counts read
    these, so a later decision never moves an earlier period's figures (migration 0012)."""

    __tablename__ = "decision_event"
    __table_args__ = (
        Index("ix_decision_event_at_unit_kind", "decided_at", "unit_id", "kind"),
        # a stay's latest wait decision at a period's end (migration 0018): index-only
        Index("ix_decision_event_stay_at", "stay_id", "decided_at", "kind"),
        # ... looked up only for the stays that ever had a care-home wait decision by then,
        # among the ids of the stays in a bed (migration 0020)
        Index("ix_decision_event_kind_stay", "kind", "stay_id", "decided_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    stay_id: int = Field(foreign_key="stay.id", index=True)
    unit_id: int = Field(foreign_key="unit.id")
    kind: str = Field(max_length=24)
    decided_at: datetime
    author_id: int | None = Field(default=None, foreign_key="staff.id")
    meeting_id: int | None = Field(default=None, foreign_key="followup_meeting.id")
    home_going_date: date | None = None
    new_end_date: date | None = None
    reason: str | None = Field(default=None, max_length=500)


class CallStatus(StrEnum):
    CALLED = "called"
    CANCELLED = "cancelled"
    HELD = "held"


class CallAnswer(StrEnum):
    COMING = "coming"
    NOT_COMING = "not_coming"


class MeetingForm(StrEnum):
    ON_SITE = "on_site"
    TEAMS = "teams"
    PHONE = "phone"


class MeetingCall(SQLModel, table=True):
    """A called follow-up meeting (kallelse): when, how, and whether it still stands.

    ``version`` grows with every change, so each update reaches each participant once."""

    __tablename__ = "meeting_call"
    __table_args__ = (Index("ix_meeting_call_status_date", "status", "meeting_date"),)
    id: int | None = Field(default=None, primary_key=True)
    stay_id: int = Field(foreign_key="stay.id", index=True)
    called_by_id: int = Field(foreign_key="staff.id")
    meeting_date: date
    meeting_time: time
    form: str = Field(max_length=16)
    place: str | None = Field(default=None, max_length=300)
    status: str = Field(default=CallStatus.CALLED, max_length=16)
    version: int = 1
    without_licensed: bool = False
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class MeetingCallParticipant(SQLModel, table=True):
    """A staff member called to a meeting, and their answer; ``active`` False once removed."""

    __tablename__ = "meeting_call_participant"
    __table_args__ = (UniqueConstraint("call_id", "staff_id", name="uq_call_participant"),)
    id: int | None = Field(default=None, primary_key=True)
    call_id: int = Field(foreign_key="meeting_call.id", index=True)
    staff_id: int = Field(foreign_key="staff.id")
    role: str = Field(max_length=32)
    active: bool = True
    answer: str | None = Field(default=None, max_length=16)
    reason: str | None = Field(default=None, max_length=200)
    answered_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)


class MeetingUnderlag(SQLModel, table=True):
    """One profession's input to its agenda step before the meeting (underlag)."""

    __tablename__ = "meeting_underlag"
    __table_args__ = (UniqueConstraint("call_id", "step_id", name="uq_underlag_call_step"),)
    id: int | None = Field(default=None, primary_key=True)
    call_id: int = Field(foreign_key="meeting_call.id", index=True)
    stay_id: int = Field(foreign_key="stay.id")
    step_id: str = Field(max_length=32)
    topics: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    note: str | None = Field(default=None, max_length=500)
    author_id: int = Field(foreign_key="staff.id")
    author_role: str = Field(max_length=32)
    on_behalf: bool = False
    updated_at: datetime = Field(default_factory=utcnow)


class MeetingCard(SQLModel, table=True):
    """The one live meeting card of a conversation (issue 16): the message every turn updates.

    Its activity id is kept here, not only in dialog state, so another instance, a typed command
    and a card press all update the same message. In a shared chat the member ids checked at the
    start (Teams MRIs, for the card's per-person refresh) are kept too; ``blocked`` is set when a
    member who is not staff of the stay's unit joins, and then no stay data is shown there.
    """

    __tablename__ = "meeting_card"
    conversation_id: str = Field(max_length=400, primary_key=True)
    meeting_id: int = Field(foreign_key="followup_meeting.id", index=True)
    activity_id: str | None = Field(default=None, max_length=200)
    shared: bool = Field(default=False)
    blocked: bool = Field(default=False)
    member_ids: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow)


class ChatPost(SQLModel, table=True):
    """A message a turn has decided to send after answering (issue 16): a line of the chat's
    history, or the update of its live card.

    A press is answered in the invoke response first; what the other members see is written here
    in the same transaction and sent just after. A row is deleted once it went; a row whose send
    failed, or whose process stopped, is sent by a later tick: saved before answering, never lost.
    """

    __tablename__ = "chat_post"
    id: int | None = Field(default=None, primary_key=True)
    conversation_id: str = Field(max_length=400, index=True)
    kind: str = Field(max_length=16)  # "post" or "update"
    activity_id: str | None = Field(default=None, max_length=200)  # the message an update replaces
    body: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, index=True)
    last_error: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=utcnow)


class ReadinessItem(SQLModel, table=True):
    __tablename__ = "readiness_item"
    __table_args__ = (
        UniqueConstraint("stay_id", "kind", name="uq_readiness_stay_kind"),
        Index("ix_readiness_status_stay", "status", "stay_id"),
        Index("ix_readiness_kind_status_updated", "kind", "status", "updated_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    stay_id: int = Field(foreign_key="stay.id")
    kind: str = Field(max_length=32)
    status: str = Field(default=ReadinessStatus.NOT_READY, max_length=16)
    responsible_role: str = Field(max_length=32)
    updated_by_id: int | None = Field(default=None, foreign_key="staff.id")
    updated_at: datetime = Field(default_factory=utcnow)


class ReadinessEvent(SQLModel, table=True):
    """A checklist item's status as it was set: appended, never changed. "SIP called" in a
    period counts the first time it was marked ready, so a later change never moves an earlier
    period's figure (issue 17, migration 0017)."""

    __tablename__ = "readiness_event"
    __table_args__ = (
        Index("ix_readiness_event_kind_status_at", "kind", "status", "at"),
        # "SIP called" before the period, per stay (migration 0020): index-only
        Index("ix_readiness_event_stay_kind", "stay_id", "kind", "status", "at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    stay_id: int = Field(foreign_key="stay.id", index=True)
    kind: str = Field(max_length=32)
    status: str = Field(max_length=16)
    at: datetime
    author_id: int | None = Field(default=None, foreign_key="staff.id")


class HospitalWait(SQLModel, table=True):
    """A person in hospital, ready for discharge, waiting for a short-term place."""

    __tablename__ = "hospital_wait"
    __table_args__ = (Index("ix_hospital_wait_closed_at", "closed_at"),)  # migration 0007
    id: int | None = Field(default=None, primary_key=True)
    case_code: str = Field(max_length=32, index=True)
    expected_unit_id: int | None = Field(default=None, foreign_key="unit.id", index=True)
    notified_at: datetime
    status: str = Field(default=WaitStatus.WAITING, max_length=16, index=True)
    closed_at: datetime | None = None
    stay_id: int | None = Field(default=None, foreign_key="stay.id")
    created_by_id: int | None = Field(default=None, foreign_key="staff.id")
    created_at: datetime = Field(default_factory=utcnow)


class OutboxMessage(SQLModel, table=True):
    """A message to deliver. ``key`` (stay, kind, due date, recipient) makes each fact send once."""

    __tablename__ = "outbox_message"
    __table_args__ = (
        Index("ix_outbox_status_next", "status", "next_attempt_at"),
        Index("ix_outbox_status_unit_due", "status", "unit_id", "due_at"),  # indicators
        Index("ix_outbox_status_recipient", "status", "recipient_staff_id"),  # waiting rows
    )
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=300, unique=True)
    kind: str = Field(max_length=48)
    stay_id: int | None = Field(default=None, foreign_key="stay.id", index=True)
    unit_id: int | None = Field(default=None, foreign_key="unit.id")
    recipient_staff_id: int | None = Field(default=None, foreign_key="staff.id")
    conversation_ref_id: int | None = Field(default=None, foreign_key="conversation_ref.id")
    template: str = Field(max_length=80)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default=OutboxStatus.PENDING, max_length=16)
    due_at: datetime = Field(default_factory=utcnow)
    next_attempt_at: datetime = Field(default_factory=utcnow)
    lease_until: datetime | None = None
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=500)
    sent_activity_id: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=utcnow)
    sent_at: datetime | None = None
    # Set when the row starts waiting for its recipient: after this it is no longer worth sending.
    expires_at: datetime | None = None


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    actor_staff_id: int | None = Field(default=None, foreign_key="staff.id")
    action: str = Field(max_length=64)
    stay_id: int | None = Field(default=None, foreign_key="stay.id", index=True)
    unit_id: int | None = Field(default=None, foreign_key="unit.id")
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class BotStateItem(SQLModel, table=True):
    """Bot Framework conversation and dialog state, one row per storage key."""

    __tablename__ = "bot_state"
    key: str = Field(primary_key=True, max_length=400)
    etag: str = Field(max_length=64)
    data: str = Field(sa_column=Column(Text, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow)


class InboundActivity(SQLModel, table=True):
    """Activity ids already handled: Teams re-sends an activity when a turn is slow."""

    __tablename__ = "inbound_activity"
    activity_id: str = Field(primary_key=True, max_length=400)
    received_at: datetime = Field(default_factory=utcnow, index=True)


class FactChange(SQLModel, table=True):
    """A stay whose rule facts changed (``stay_id``), or any change that can move every stay's
    nudges, e.g. a unit's name or who holds a role (``stay_id`` None). Written by triggers
    (migration 0009), so no write path can forget it; the tick reads and forgets them."""

    __tablename__ = "fact_change"
    id: int | None = Field(default=None, primary_key=True)
    stay_id: int | None = Field(default=None)


class RuleEvaluation(SQLModel, table=True):
    """How far the evaluation of every active stay in a rule epoch
    (``notifications.rules.rule_epoch``) has come; one row. It goes in slices of stay ids:
    ``through_stay_id`` is the last stay id done, None once every stay is."""

    __tablename__ = "rule_evaluation"
    id: int = Field(default=1, primary_key=True)
    epoch: str = Field(max_length=32)
    through_stay_id: int | None = Field(default=None)
    evaluated_at: datetime


__all__ = [
    "AuditEvent",
    "BotStateItem",
    "CallAnswer",
    "CallStatus",
    "CloseReason",
    "ConversationKind",
    "ConversationRef",
    "DecisionEvent",
    "DecisionEventKind",
    "DecisionKind",
    "FactChange",
    "FollowUpMeeting",
    "HospitalWait",
    "InboundActivity",
    "MeetingCall",
    "MeetingCallParticipant",
    "MeetingForm",
    "MeetingStatus",
    "MeetingUnderlag",
    "OutboxMessage",
    "OutboxStatus",
    "ReadinessItem",
    "ReadinessKind",
    "ReadinessStatus",
    "Role",
    "RuleEvaluation",
    "Staff",
    "StaffRole",
    "StaffUnit",
    "Stay",
    "StayStatus",
    "Unit",
    "WaitStatus",
    "utcnow",
]
