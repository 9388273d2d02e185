"""Who a notice actually reaches: Korttid says someone is told only when it can reach them.

A person who has not opened Korttid yet has no conversation to deliver to; their notice waits
for them (see ``notifications.expiry``). The sender is told so, by the person's name (staff
names are fine in chat; the person in care is never named), with a nudge to call instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from notifications.formatting import first_name
from notifications.render import Renderer
from storage.models import Staff
from storage.repos.conversations import ConversationRepository


@dataclass(frozen=True, slots=True)
class Reach:
    reached: Sequence[Staff]
    waiting: Sequence[Staff]  # not opened Korttid yet: their notice waits for them


async def reach_of(session: AsyncSession, people: Sequence[Staff]) -> Reach:
    ids = [person.id for person in people if person.id is not None]
    missing = await ConversationRepository(session).without_personal_chat(ids)
    return Reach(
        reached=[person for person in people if person.id not in missing],
        waiting=[person for person in people if person.id in missing],
    )


def waiting_lines(renderer: Renderer, reach: Reach) -> list[str]:
    """One line per coordinator the notice waits for."""
    return [
        renderer.text(
            "coordinator_not_reached", name=person.name, first_name=first_name(person.name)
        )
        for person in reach.waiting
    ]
