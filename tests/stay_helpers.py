"""Seeding and reading stays for the stay tests, through the product's own service and repos."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from dialogs import stay_service as service
from storage.db import transaction
from storage.domain.clock import FixedClock, local_today
from storage.models import AuditEvent, HospitalWait, OutboxMessage, ReadinessItem, Stay
from storage.repos.staff import StaffRepository
from storage.repos.units import UnitRepository
from tests.helpers import seed_staff

# One unit's people, and a handläggare of another unit.
HANNA = ("hanna@kommun.se", "Hanna Handläggare", "handlaggare", "ÄNG")
SARA = ("sara@kommun.se", "Sara Sjuksköterska", "sjukskoterska", "ÄNG")
RAMI = ("rami@kommun.se", "Rami Fysioterapeut", "rehab", "ÄNG")
OLLE = ("olle@kommun.se", "Olle Undersköterska", "omsorgspersonal", "ÄNG")
KARIN = ("karin@kommun.se", "Karin Koordinator", "koordinator", "ÄNG")
BO = ("bo@kommun.se", "Bo Boendesamordnare", "boendesamordnare", "ÄNG")
CECILIA = ("cecilia@kommun.se", "Cecilia Enhetschef", "enhetschef", "ÄNG")
ALI = ("ali@kommun.se", "Ali Administratör", "admin", "ÄNG")
HENRIK = ("henrik@kommun.se", "Henrik Handläggare", "handlaggare", "BJÖ")
EVERYONE = (HANNA, SARA, RAMI, OLLE, KARIN, BO, CECILIA, ALI, HENRIK)


async def seed_people(sessions: async_sessionmaker[AsyncSession], *rows: tuple[str, ...]) -> None:
    await seed_staff(sessions, *(rows or EVERYONE))  # type: ignore[arg-type]


async def seed_stay(
    sessions: async_sessionmaker[AsyncSession],
    clock: FixedClock,
    code: str = "ÄNG-042",
    *,
    unit: str = "ÄNG",
    arrived_days_ago: int = 4,
    end_in_days: int = 14,
    handlaggare: str | None = "hanna@kommun.se",
    nurse: str | None = "sara@kommun.se",
    room: str | None = "5",
    acute: bool = False,
) -> int:
    today = local_today(clock)
    async with transaction(sessions) as session:
        found = await UnitRepository(session).by_code(unit)
        assert found is not None and found.id is not None
        staff = StaffRepository(session)
        h = await staff.by_email(handlaggare) if handlaggare else None
        n = await staff.by_email(nurse) if nurse else None
        registered = await service.register_stay(
            session,
            None,
            service.NewStay(
                unit_id=found.id,
                case_code=code,
                room=room,
                arrival_date=today - timedelta(days=arrived_days_ago),
                decision_end_date=today + timedelta(days=end_in_days),
                goal="Träna förflyttning säng–stol inför hemgång",
                acute=acute,
                phone_handover_done=True if acute else None,
                handlaggare_id=h.id if h else None,
                nurse_id=n.id if n else None,
            ),
            clock.now(),
        )
        assert registered.stay.id is not None
        return registered.stay.id


async def stay_by_code(sessions: async_sessionmaker[AsyncSession], code: str) -> Stay | None:
    async with transaction(sessions) as session:
        return (await session.exec(select(Stay).where(Stay.case_code == code))).first()


async def items_of(sessions: async_sessionmaker[AsyncSession], stay_id: int) -> dict[str, str]:
    async with transaction(sessions) as session:
        rows = await session.exec(select(ReadinessItem).where(ReadinessItem.stay_id == stay_id))
        return {item.kind: item.status for item in rows.all()}


async def audit_actions(
    sessions: async_sessionmaker[AsyncSession], stay_id: int | None = None
) -> list[str]:
    async with transaction(sessions) as session:
        query = select(AuditEvent).order_by(col(AuditEvent.id))
        if stay_id is not None:
            query = query.where(AuditEvent.stay_id == stay_id)
        return [event.action for event in (await session.exec(query)).all()]


async def audit_events(sessions: async_sessionmaker[AsyncSession]) -> list[AuditEvent]:
    async with transaction(sessions) as session:
        return list((await session.exec(select(AuditEvent).order_by(col(AuditEvent.id)))).all())


async def outbox(sessions: async_sessionmaker[AsyncSession]) -> list[OutboxMessage]:
    async with transaction(sessions) as session:
        query = select(OutboxMessage).order_by(col(OutboxMessage.id))
        return list((await session.exec(query)).all())


async def waits(sessions: async_sessionmaker[AsyncSession]) -> list[HospitalWait]:
    async with transaction(sessions) as session:
        query = select(HospitalWait).order_by(col(HospitalWait.id))
        return list((await session.exec(query)).all())


def days_from(clock: FixedClock, days: int) -> date:
    return local_today(clock) + timedelta(days=days)


def last_card(sent: list[Any]) -> dict[str, Any]:
    """The last Adaptive Card among what the bot sent."""
    for item in reversed(sent):
        for attachment in item.activity.get("attachments") or []:
            if attachment.get("contentType") == "application/vnd.microsoft.card.adaptive":
                content: dict[str, Any] = attachment["content"]
                return content
    raise AssertionError("no card was sent")


def texts(sent: list[Any]) -> str:
    return "\n".join(item.activity.get("text") or "" for item in sent)


# The rest of the home-going form when typed: transport, home help meets, provider, contact,
# coordination needed (no: no SIP questions; the meeting's decision, dialogs/meeting/decision.py).
HOME_GOING_ANSWERS = ("egen", "nej", "-", "-", "nej")


async def plan_home_going(channel: Any, user: Any, code: str, when: str) -> list[Any]:
    """``hemgång KOD när`` for a stay without a planned home-going, answering the rest."""
    sent: list[Any] = list(await channel.say(user, f"hemgång {code} {when}"))
    for answer in HOME_GOING_ANSWERS:
        sent += await channel.say(user, answer)
    return sent
