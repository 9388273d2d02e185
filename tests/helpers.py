"""Small helpers tests share: seeding the registry through the product's own code."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from dialogs.staff_import import StaffRow, import_staff
from storage.db import transaction


async def seed_staff(
    sessions: async_sessionmaker[AsyncSession], *rows: tuple[str, str, str, str]
) -> None:
    """rows: (email, name, 'role;role', 'UNIT;UNIT')."""
    parsed = [
        StaffRow(
            line=index + 2,
            email=email,
            name=name,
            roles=tuple(roles.split(";")),
            units=tuple(units.split(";")) if units else (),
        )
        for index, (email, name, roles, units) in enumerate(rows)
    ]
    async with transaction(sessions) as session:
        await import_staff(session, parsed)


def card_texts(card: dict[str, object]) -> str:
    """Every string in a card, joined, for assertions about what a person reads."""
    out: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, str):
            out.append(node)
        elif isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(card)
    return "\n".join(out)
