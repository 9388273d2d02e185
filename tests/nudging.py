"""Helpers for the notification engine's tests: people with installed chats, stays, the outbox."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import transaction
from storage.domain.clock import STOCKHOLM
from storage.domain.readiness import checklist_for
from storage.models import OutboxMessage, ReadinessItem, Stay
from storage.repos.staff import StaffRepository
from storage.repos.stays import StayRepository
from storage.repos.units import UnitRepository
from tests.channel import TeamsChannel, TeamsUser
from tests.helpers import seed_staff

PEOPLE = (
    ("hanna", "hanna@kommun.se", "Hanna Handläggare", "handlaggare"),
    ("sara", "sara@kommun.se", "Sara Sjuksköterska", "sjukskoterska"),
    ("rami", "rami@kommun.se", "Rami Fysioterapeut", "rehab"),
    ("karin", "karin@kommun.se", "Karin Koordinator", "koordinator"),
    ("cecilia", "cecilia@kommun.se", "Cecilia Enhetschef", "enhetschef"),
)


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=STOCKHOLM).astimezone(UTC)


async def install_team(
    channel: TeamsChannel, sessions: async_sessionmaker[AsyncSession], unit: str = "ÄNG"
) -> dict[str, TeamsUser]:
    """Register the five roles of a unit and let each open their chat with the bot."""
    await seed_staff(sessions, *((email, name, role, unit) for _, email, name, role in PEOPLE))
    users = {}
    for key, email, name, _role in PEOPLE:
        users[key] = channel.user(key, email, name)
        # Any message saves the chat's reference; "hej" needs no command behind it.
        await channel.say(users[key], "hej")
    channel.connector.clear()
    return users


async def staff_id(sessions: async_sessionmaker[AsyncSession], email: str) -> int:
    async with transaction(sessions) as session:
        staff = await StaffRepository(session).by_email(email)
    assert staff is not None and staff.id is not None
    return staff.id


async def add_stay(
    sessions: async_sessionmaker[AsyncSession],
    case_code: str,
    arrival: date,
    *,
    unit: str = "ÄNG",
    home_going: date | None = None,
    home_going_time: time | None = None,
    sip_wanted: bool = False,
    ready: tuple[str, ...] = (),
    held_on: date | None = None,
) -> int:
    """A stay with the demo handläggare and nurse; with a home-going, its checklist too."""
    handlaggare = await staff_id(sessions, "hanna@kommun.se")
    nurse = await staff_id(sessions, "sara@kommun.se")
    async with transaction(sessions) as session:
        found = await UnitRepository(session).by_code(unit)
        assert found is not None and found.id is not None
        stays = StayRepository(session)
        stay = Stay(
            unit_id=found.id,
            case_code=case_code,
            room="4",
            arrival_date=arrival,
            goal="Trygg hemgång",
            handlaggare_id=handlaggare,
            nurse_id=nurse,
            followup_deadline=arrival,
            followup_held_on=held_on,
        )
        await stays.add(stay)
        assert stay.id is not None
        if home_going is not None:
            await set_home_going(session, stay, home_going, home_going_time, sip_wanted, ready)
        return stay.id


async def set_home_going(
    session: AsyncSession,
    stay: Stay,
    home_going: date,
    at: time | None,
    sip_wanted: bool,
    ready: tuple[str, ...],
) -> None:
    assert stay.id is not None
    stay.decision_kind = "home_going"
    stay.home_going_date, stay.home_going_time = home_going, at
    stay.transport, stay.home_help_meets, stay.sip_wanted = "fardtjanst", True, sip_wanted
    stay.provider_name, stay.provider_contact = "Hemtjänst Centrum", "010-123 45 67"
    stays = StayRepository(session)
    await stays.save(stay)
    await stays.ensure_items(stay.id, checklist_for(sip_wanted=sip_wanted))
    for item in await stays.items(stay.id):
        item.status = "ready" if item.kind in ready else "not_ready"
        session.add(item)
    await session.flush()


async def change_stay(
    sessions: async_sessionmaker[AsyncSession], stay_id: int, **values: Any
) -> None:
    async with transaction(sessions) as session:
        stay = await session.get(Stay, stay_id)
        assert stay is not None
        for name, value in values.items():
            setattr(stay, name, value)
        await StayRepository(session).save(stay)


async def mark_item(
    sessions: async_sessionmaker[AsyncSession], stay_id: int, kind: str, status: str = "ready"
) -> None:
    async with transaction(sessions) as session:
        item = (
            await session.exec(
                select(ReadinessItem).where(
                    ReadinessItem.stay_id == stay_id, ReadinessItem.kind == kind
                )
            )
        ).one()
        item.status = status
        session.add(item)


async def outbox(sessions: async_sessionmaker[AsyncSession]) -> list[OutboxMessage]:
    async with transaction(sessions) as session:
        return list(
            (await session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id)))).all()
        )


def headline(card: dict[str, Any]) -> str:
    """The first text of a card: what a person reads in the notification."""
    return str(card["body"][0]["text"])
