"""The journal of changed rule facts (written by triggers, migration 0009) and the rule epoch.

A tick reads which stays changed since the last one, evaluates only those, and forgets the rows
it read. Rows committed while it works stay for the next tick: a row is forgotten only by the
tick that read it (PostgreSQL cannot show a later tick a row an earlier one deleted).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import FactChange, RuleEvaluation


@dataclass(frozen=True, slots=True)
class ChangedFacts:
    """What changed since the last tick: up to ``newest_id`` in the journal."""

    newest_id: int | None
    stay_ids: frozenset[int]
    # A change that can move any stay's nudges (who holds a role, a name), or too many to list.
    everything: bool


class FactChangeRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def changed(self, most: int) -> ChangedFacts:
        """The stays changed since the journal was last forgotten; ``everything`` when any
        change is not about one stay or more than ``most`` rows wait."""
        result = await self.session.exec(select(func.max(FactChange.id), func.count()))
        newest_id, rows = result.one()
        if newest_id is None:
            return ChangedFacts(None, frozenset(), everything=False)
        if rows > most:
            return ChangedFacts(newest_id, frozenset(), everything=True)
        found = await self.session.exec(
            select(FactChange.stay_id).where(col(FactChange.id) <= newest_id).distinct()
        )
        stay_ids = set(found.all())
        everything = None in stay_ids
        return ChangedFacts(
            newest_id, frozenset(i for i in stay_ids if i is not None), everything=everything
        )

    async def forget_through(self, newest_id: int | None) -> None:
        if newest_id is not None:
            await self.session.exec(delete(FactChange).where(col(FactChange.id) <= newest_id))

    async def progress(self) -> RuleEvaluation | None:
        """How far the evaluation of every stay in the last epoch begun has come."""
        return await self.session.get(RuleEvaluation, 1)

    async def record_progress(self, epoch: str, through_stay_id: int | None, at: datetime) -> None:
        """Every active stay up to ``through_stay_id`` (None: every one) was evaluated in
        ``epoch``."""
        row = RuleEvaluation(id=1, epoch=epoch, through_stay_id=through_stay_id, evaluated_at=at)
        await self.session.merge(row)
        await self.session.flush()
