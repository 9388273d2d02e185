"""A tick: evaluate the rules and reconcile the outbox in one transaction, then deliver.

Reconciling makes the outbox match what is due now:
  * a nudge due now and not yet in the outbox is queued (its unique key makes that once);
  * an undelivered nudge that is no longer due (the meeting was held, the item became ready,
    the home-going was cancelled or moved, a later stage superseded it) is withdrawn;
  * an undelivered nudge whose content changed (an item became ready, the card lists the rest)
    gets the fresh content.
A second tick, a restart, a missed tick or a second instance finds the same facts and changes
nothing. APScheduler only says when to tick.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from notifications.dispatcher import DeliveryReport, Dispatcher
from notifications.outbox import enqueue_many, outbox_row
from notifications.rules import (
    ADDRESSED_ROLES,
    AFTERNOON_FROM,
    RULE_KINDS,
    Facts,
    Nudge,
    due_nudges,
    fact_windows,
)
from storage.db import transaction
from storage.repos.activities import DEDUP_WINDOW, InboundActivityRepository
from storage.repos.delivery import DeliveryRepository
from storage.repos.facts import FactsRepository, StayFacts

log = logging.getLogger(__name__)

# Extra producers of outbox rows evaluated in the same transaction, e.g. the weekly digest
# (issue 6): given the session and now, return the nudges due. Their kinds are never withdrawn
# by this tick; only the rule kinds are reconciled.
NudgeSource = Callable[[AsyncSession, datetime], Awaitable[Sequence[Nudge]]]


@dataclass
class EvaluationReport:
    due: int = 0
    queued: int = 0
    withdrawn: int = 0
    refreshed: int = 0
    skipped: bool = False

    def __str__(self) -> str:
        if self.skipped:
            return "evaluation skipped: another instance is evaluating"
        return (
            f"due {self.due}, queued {self.queued}, withdrawn {self.withdrawn}, "
            f"refreshed {self.refreshed}"
        )


@dataclass
class TickReport:
    evaluation: EvaluationReport = field(default_factory=EvaluationReport)
    delivery: DeliveryReport = field(default_factory=DeliveryReport)

    def __str__(self) -> str:
        return f"rules: {self.evaluation}; delivery: {self.delivery}"


async def load_facts(session: AsyncSession, now: datetime) -> Facts:
    """The active stays any rule could act on at ``now``, and who holds which role where."""
    windows = fact_windows(now)
    repo = FactsRepository(session)
    stays: dict[int, StayFacts] = {}
    batches = (
        await repo.open_followups(windows.deadline_from, windows.deadline_to),
        await repo.undecided_arrivals(
            windows.long_stay_arrival_from,
            windows.long_stay_arrival_to,
            windows.long_stay_deadline_from,
            windows.long_stay_deadline_to,
        ),
        await repo.home_goings(windows.home_going_from, windows.home_going_to),
        await repo.home_goings(windows.home_going_from, windows.afternoon_to, after=AFTERNOON_FROM),
    )
    for batch in batches:
        stays.update((stay.id, stay) for stay in batch)
    # Checklists matter only while home-going is near: a rule reads them from two working days
    # before (SIP: three), so only the stays going home in the window get theirs.
    checklists = await repo.checklists(windows.home_going_from, windows.home_going_to)
    for stay_id, items in checklists.items():
        stay = stays.get(stay_id)
        if stay is not None:
            stays[stay_id] = replace(stay, items=items)
    roles = set(ADDRESSED_ROLES)
    roles.update(item.responsible_role for stay in stays.values() for item in stay.items)
    staff = await repo.staff_by_unit_role({stay.unit_id for stay in stays.values()}, roles)
    return Facts(stays=[stays[key] for key in sorted(stays)], staff=staff)


class Notifier:
    """Evaluates the rules and delivers the outbox; what the scheduler and ``korttid tick`` run."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        dispatcher: Dispatcher,
        *,
        sources: Sequence[NudgeSource] = (),
    ) -> None:
        self.sessions = sessions
        self.dispatcher = dispatcher
        self.sources = list(sources)

    async def tick(self, now: datetime) -> TickReport:
        evaluation = await self.evaluate(now)
        delivery = await self.dispatcher.deliver_due(now)
        return TickReport(evaluation, delivery)

    async def evaluate(self, now: datetime) -> EvaluationReport:
        async with transaction(self.sessions) as session:
            delivery = DeliveryRepository(session)
            if not await delivery.try_evaluation_lock():
                return EvaluationReport(skipped=True)
            # Housekeeping under the same lock, so one instance does it: re-sent activities are
            # recognised for a day, and the table holds about a day's activities, not all of them.
            await InboundActivityRepository(session).forget_before(now - DEDUP_WINDOW)
            nudges = due_nudges(await load_facts(session, now), now)
            for source in self.sources:
                nudges.extend(await source(session, now))
            due = {nudge.key: nudge for nudge in nudges}
            report = EvaluationReport(due=len(due))
            await self._reconcile(delivery, due, report)
            existing = await delivery.existing_keys(due)
            new = [_row(due[key]) for key in sorted(due.keys() - existing)]
            report.queued = await enqueue_many(session, new)
        if report.queued or report.withdrawn or report.refreshed:
            log.info("rules evaluated: %s", report)
        return report

    async def _reconcile(
        self, delivery: DeliveryRepository, due: dict[str, Nudge], report: EvaluationReport
    ) -> None:
        stale: list[int] = []
        for pending in await delivery.pending_of_kinds(RULE_KINDS):
            nudge = due.get(pending.key)
            if nudge is None:
                stale.append(pending.id)
            elif nudge.payload != pending.payload:
                await delivery.refresh_payload(pending.id, nudge.payload)
                report.refreshed += 1
        report.withdrawn = await delivery.withdraw_ids(stale, "withdrawn: no longer due")


def _row(nudge: Nudge) -> dict[str, Any]:
    return outbox_row(
        key=nudge.key,
        kind=nudge.kind,
        template=nudge.template,
        payload=nudge.payload,
        due_at=nudge.due_at,
        recipient_staff_id=nudge.recipient_staff_id,
        stay_id=nudge.stay_id,
        unit_id=nudge.unit_id,
    )
