"""Helpers for the follow-up meeting tests: a stay to meet about, and pressing card buttons."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import transaction
from storage.models import AuditEvent, FollowUpMeeting, OutboxMessage, ReadinessItem, Stay
from storage.repos.stays import StayRepository
from storage.repos.units import UnitRepository
from tests.helpers import seed_staff

HANDLAGGARE = ("anna@kommun.se", "Anna Handläggare", "handlaggare", "ÄNG")
OTHER_HANDLAGGARE = ("henrik@kommun.se", "Henrik Handläggare", "handlaggare", "ÄNG")
FOREIGN_HANDLAGGARE = ("bo@kommun.se", "Bo Handläggare", "handlaggare", "BJÖ")
NURSE = ("sara@kommun.se", "Sara Sjuksköterska", "sjukskoterska", "ÄNG")
COORDINATOR = ("karin@kommun.se", "Karin Koordinator", "koordinator", "ÄNG")

# The clock fixture says Monday 23 November 2026, 09:00 in Stockholm.
ARRIVAL = date(2026, 11, 17)
DECIDED_END = date(2026, 12, 8)


async def seed_meeting_world(sessions: async_sessionmaker[AsyncSession]) -> int:
    """Staff of ÄNG and BJÖ and one active stay ÄNG-042; returns the stay's id."""
    await seed_staff(
        sessions, HANDLAGGARE, OTHER_HANDLAGGARE, FOREIGN_HANDLAGGARE, NURSE, COORDINATOR
    )
    async with transaction(sessions) as session:
        unit = await UnitRepository(session).by_code("ÄNG")
        assert unit is not None and unit.id is not None
        stay = await StayRepository(session).add(
            Stay(
                unit_id=unit.id,
                case_code="ÄNG-042",
                room="7",
                arrival_date=ARRIVAL,
                decision_end_date=DECIDED_END,
                goal="Träna förflyttning inför hemgång",
                followup_deadline=ARRIVAL,  # replaced by the repository
            )
        )
        assert stay.id is not None
        return stay.id


def walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def card_inputs(card: dict[str, Any]) -> dict[str, Any]:
    """What Teams sends for a card's inputs when nobody changes them."""
    return {
        node["id"]: node.get("value", "")
        for node in walk(card)
        if str(node.get("type", "")).startswith("Input.")
    }


def submit_actions(card: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {node["title"]: node for node in walk(card) if node.get("type") == "Action.Submit"}


def press(card: dict[str, Any], title: str, **changes: Any) -> dict[str, Any]:
    """The value Teams sends when a person edits some inputs and presses a button."""
    action = submit_actions(card)[title]
    if action.get("associatedInputs") == "none":
        return dict(action["data"])
    return {**card_inputs(card), **changes, **action["data"]}


def title_of(card: dict[str, Any]) -> str:
    return str(card["body"][1]["text"])


def step_of(card: dict[str, Any]) -> int:
    """The step number a card shows: 'Uppföljningsmöte ÄNG-042, rum 7 · steg 3 av 10'."""
    return int(str(card["body"][0]["text"]).split("steg ")[1].split(" ")[0])


async def the_meeting(sessions: async_sessionmaker[AsyncSession]) -> FollowUpMeeting:
    async with transaction(sessions) as session:
        result = await session.exec(select(FollowUpMeeting).order_by(col(FollowUpMeeting.id)))
        return result.all()[-1]


async def the_stay(sessions: async_sessionmaker[AsyncSession], stay_id: int) -> Stay:
    async with transaction(sessions) as session:
        stay = await session.get(Stay, stay_id)
        assert stay is not None
        return stay


async def meetings_count(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with transaction(sessions) as session:
        return len((await session.exec(select(FollowUpMeeting))).all())


async def outbox(sessions: async_sessionmaker[AsyncSession]) -> list[OutboxMessage]:
    async with transaction(sessions) as session:
        return list((await session.exec(select(OutboxMessage))).all())


async def items(sessions: async_sessionmaker[AsyncSession], stay_id: int) -> list[ReadinessItem]:
    async with transaction(sessions) as session:
        return list(await StayRepository(session).items(stay_id))


async def audit_actions(sessions: async_sessionmaker[AsyncSession]) -> list[str]:
    async with transaction(sessions) as session:
        result = await session.exec(select(AuditEvent).order_by(col(AuditEvent.id)))
        return [event.action for event in result.all() if event.action.startswith("meeting.")]
