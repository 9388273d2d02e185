"""A tick: evaluate the rules and reconcile the outbox in one transaction, then deliver.

Reconciling makes the outbox match what is due now:
  * a nudge due now and not yet in the outbox is queued (its unique key makes that once);
  * an undelivered nudge that is no longer due (the meeting was held, the item became ready,
    the home-going was cancelled or moved, a later stage superseded it) is withdrawn;
  * an undelivered nudge whose content changed (an item became ready, the card lists the rest)
    gets the fresh content.
A second tick, a restart, a missed tick or a second instance finds the same facts and changes
nothing. APScheduler only says when to tick.

Most ticks need not look at every active stay: the rules answer differently only when a stay's
facts change or ``now`` passes a rule instant (``rules.rule_epoch``). Triggers journal the stays
whose facts changed (``storage.repos.fact_changes``), and each tick reconciles those. From the
first tick of an epoch, of a process, or after a change that can touch every stay (a role, a
name), every active stay is reconciled too, in slices of stay ids over as many ticks as a
region needs; meanwhile the dispatcher holds back rule nudges of stays not yet reached.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from notifications.dispatcher import DeliveryReport, Dispatcher
from notifications.install import AppInstaller, install_for_waiting
from notifications.outbox import enqueue_many, outbox_row
from notifications.rules import (
    ADDRESSED_ROLES,
    AFTERNOON_FROM,
    RULE_KINDS,
    Facts,
    FactWindows,
    Nudge,
    due_nudges,
    fact_windows,
    rule_epoch,
)
from storage.db import transaction
from storage.repos.activities import DEDUP_WINDOW, InboundActivityRepository
from storage.repos.delivery import DeliveryRepository, PendingNudge
from storage.repos.fact_changes import ChangedFacts, FactChangeRepository
from storage.repos.facts import FactsRepository, StayFacts, StayScope, chunks
from storage.repos.meeting_calls import MeetingCallRepository

log = logging.getLogger(__name__)

# Extra producers of outbox rows evaluated in the same transaction, e.g. the weekly digest
# (issue 6): given the session and now, return the nudges due. Their kinds are never withdrawn
# by this tick; only the rule kinds are reconciled.
NudgeSource = Callable[[AsyncSession, datetime], Awaitable[Sequence[Nudge]]]

# More changed rows than this since the last tick (a bulk import): evaluate every stay, which
# costs about as much as evaluating this many one by one.
MOST_CHANGED_STAYS = 5000
# When every stay must be evaluated (after a rule instant, when a process starts, after a change
# that touches every stay) a tick takes slices of this many active stays while it has spent less
# than the budget: a municipality's stays in one tick, a region's 100 000 in a few, each kept
# under a second, while delivering a morning's nudges at Teams' pace takes a quarter of an
# hour anyway. Until the last slice is done the dispatcher holds back rule nudges of the stays
# not yet re-evaluated (they may no longer be due).
SLICE_STAYS = 5000
EVALUATION_BUDGET_S = 0.5


@dataclass(frozen=True, slots=True)
class StaySlice:
    """Active stays with ids in (``after``, ``through``]; ``through`` None: to the last."""

    after: int
    through: int | None

    def __str__(self) -> str:
        if self.after == 0 and self.through is None:
            return "every active stay"
        end = "the last" if self.through is None else str(self.through)
        return f"active stays after id {self.after} through {end}"


@dataclass
class EvaluationReport:
    due: int = 0
    queued: int = 0
    withdrawn: int = 0
    refreshed: int = 0
    skipped: bool = False
    changed: int = 0  # stays read because the journal says their facts changed
    slice: StaySlice | None = None  # stays read because the epoch's evaluation reached them

    def __str__(self) -> str:
        if self.skipped:
            return "evaluation skipped: another instance is evaluating"
        read = f"{self.changed} changed stays" + (f" and {self.slice}" if self.slice else "")
        return (
            f"{read}: due {self.due}, queued {self.queued}, withdrawn {self.withdrawn}, "
            f"refreshed {self.refreshed}"
        )


@dataclass
class TickReport:
    evaluation: EvaluationReport = field(default_factory=EvaluationReport)
    delivery: DeliveryReport = field(default_factory=DeliveryReport)
    installed: int = 0  # people Korttid installed itself for (issue 18)

    def __str__(self) -> str:
        text = f"rules: {self.evaluation}; delivery: {self.delivery}"
        return f"{text}; installed for {self.installed}" if self.installed else text


async def load_facts(session: AsyncSession, now: datetime, scopes: Sequence[StayScope]) -> Facts:
    """The active stays any rule could act on at ``now``, of those in ``scopes``, and who holds
    which role where."""
    windows = fact_windows(now)
    repo = FactsRepository(session)
    stays: dict[int, StayFacts] = {}
    for scope in scopes:
        stays.update(await _stays_in_windows(repo, windows, scope))
    roles = set(ADDRESSED_ROLES)
    roles.update(item.responsible_role for stay in stays.values() for item in stay.items)
    staff = await repo.staff_by_unit_role({stay.unit_id for stay in stays.values()}, roles)
    return Facts(stays=[stays[key] for key in sorted(stays)], staff=staff)


async def _stays_in_windows(
    repo: FactsRepository, windows: FactWindows, scope: StayScope
) -> dict[int, StayFacts]:
    stays: dict[int, StayFacts] = {}
    batches = (
        await repo.open_followups(windows.deadline_from, windows.deadline_to, scope),
        await repo.undecided_arrivals(
            windows.long_stay_arrival_from,
            windows.long_stay_arrival_to,
            windows.long_stay_deadline_from,
            windows.long_stay_deadline_to,
            scope,
        ),
        await repo.home_goings(windows.home_going_from, windows.home_going_to, scope=scope),
        await repo.home_goings(
            windows.home_going_from, windows.afternoon_to, after=AFTERNOON_FROM, scope=scope
        ),
        await repo.decision_ends(windows.decision_end_from, windows.decision_end_to, scope),
        await repo.unrecorded_handovers(
            windows.handover_arrival_from,
            windows.handover_arrival_to,
            windows.handover_arrival_from,
            windows.handover_arrival_to + timedelta(days=7),
            scope,
        ),
    )
    for batch in batches:
        stays.update((stay.id, stay) for stay in batch)
    # Checklists matter only while home-going is near: a rule reads them from two working days
    # before (SIP: three), so only the stays going home in the window get theirs.
    checklists = await repo.checklists(windows.home_going_from, windows.home_going_to, scope)
    for stay_id, items in checklists.items():
        stay = stays.get(stay_id)
        if stay is not None:
            stays[stay_id] = replace(stay, items=items)
    return await _with_bookings(repo.session, stays)


async def _with_bookings(
    session: AsyncSession, stays: dict[int, StayFacts]
) -> dict[int, StayFacts]:
    """The called meetings of the stays whose follow-up is still to be held (issue 15)."""
    open_ids = [key for key, stay in stays.items() if stay.followup_held_on is None]
    calls = await MeetingCallRepository(session).called_for_stays(open_ids)
    for stay_id, call in calls.items():
        stays[stay_id] = replace(
            stays[stay_id], booked_date=call.meeting_date, booked_time=call.meeting_time
        )
    return stays


class Notifier:
    """Evaluates the rules and delivers the outbox; what the scheduler and ``korttid tick`` run."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        dispatcher: Dispatcher,
        *,
        sources: Sequence[NudgeSource] = (),
        installer: AppInstaller | None = None,
        slice_stays: int = SLICE_STAYS,
        budget_s: float = EVALUATION_BUDGET_S,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sessions = sessions
        self.dispatcher = dispatcher
        self.sources = list(sources)
        self.installer = installer
        self.slice_stays = slice_stays
        self.budget_s = budget_s
        self.timer = timer
        self._started = False  # this process has begun an evaluation of every stay

    async def tick(self, now: datetime, *, every_slice: bool = False) -> TickReport:
        """Evaluate, then deliver. ``every_slice``: a one-off tick (``korttid tick``) that
        evaluates every slice of stays due now before delivering, as there is no next tick."""
        evaluation = await self.evaluate(now, budget_s=math.inf if every_slice else None)
        delivery = await self.dispatcher.deliver_due(now)
        return TickReport(evaluation, delivery, await self.install(now))

    async def install(self, now: datetime) -> int:
        """After delivery, so it never holds a message up: install Korttid for the people whose
        messages wait (when an installer is configured); a failure is logged, not raised."""
        if self.installer is None:
            return 0
        try:
            return await install_for_waiting(self.sessions, self.installer, now)
        except Exception:
            log.exception("app installs failed")
            return 0

    async def evaluate(self, now: datetime, budget_s: float | None = None) -> EvaluationReport:
        """Reconcile the changed stays, and slices of every stay while within ``budget_s``
        (default: the notifier's)."""
        started = self.timer()
        async with transaction(self.sessions) as session:
            delivery = DeliveryRepository(session)
            if not await delivery.try_evaluation_lock():
                return EvaluationReport(skipped=True)
            # Housekeeping under the same lock, so one instance does it: re-sent activities are
            # recognised for a day, and the table holds about a day's activities, not all of them.
            await InboundActivityRepository(session).forget_before(now - DEDUP_WINDOW)
            journal = FactChangeRepository(session)
            changed = await journal.changed(most=MOST_CHANGED_STAYS)
            await journal.forget_through(changed.newest_id)
            report = EvaluationReport(changed=len(changed.stay_ids))
            scopes = [StayScope(ids=chunk) for chunk in chunks(sorted(changed.stay_ids))]
            extra = [nudge for source in self.sources for nudge in await source(session, now)]
            await self._reconcile_scopes(session, now, scopes, report, extra)
            epoch = rule_epoch(now)
            first = await self._first_slice(session, journal, changed, epoch)
            deadline = started + (self.budget_s if budget_s is None else budget_s)
            await self._reconcile_slices(session, now, first, report, deadline)
            if report.slice is not None:
                await journal.record_progress(epoch, report.slice.through, now)
        self._started = True
        if report.queued or report.withdrawn or report.refreshed:
            log.info("rules evaluated: %s", report)
        return report

    async def _reconcile_scopes(
        self,
        session: AsyncSession,
        now: datetime,
        scopes: Sequence[StayScope],
        report: EvaluationReport,
        extra: Sequence[Nudge] = (),
    ) -> None:
        """Make the outbox match the nudges due now for the stays in ``scopes`` (and ``extra``
        nudges from the other sources): queue, withdraw, refresh."""
        nudges = due_nudges(await load_facts(session, now, scopes), now) if scopes else []
        due = {nudge.key: nudge for nudge in [*nudges, *extra]}
        delivery = DeliveryRepository(session)
        report.due += len(due)
        await self._reconcile(delivery, due, report, scopes, now)
        existing = await delivery.existing_keys(due)
        new = [_row(due[key]) for key in sorted(due.keys() - existing)]
        report.queued += await enqueue_many(session, new)

    async def _reconcile_slices(
        self,
        session: AsyncSession,
        now: datetime,
        stay_slice: StaySlice | None,
        report: EvaluationReport,
        deadline: float,
    ) -> None:
        """Reconcile slices of active stays from ``stay_slice`` on until the timer passes
        ``deadline``; ``report.slice`` says how far it came."""
        while stay_slice is not None:
            scope = StayScope(after=stay_slice.after, through=stay_slice.through)
            await self._reconcile_scopes(session, now, [scope], report)
            report.slice = _joined(report.slice, stay_slice)
            if stay_slice.through is None or self.timer() >= deadline:
                return
            stay_slice = await self._slice_after(session, stay_slice.through)

    async def _first_slice(
        self,
        session: AsyncSession,
        journal: FactChangeRepository,
        changed: ChangedFacts,
        epoch: str,
    ) -> StaySlice | None:
        """The next slice of active stays to evaluate besides the changed ones; None once every
        stay has been evaluated in this epoch.

        Every stay is evaluated again, slice by slice, from this process's first tick (the rules
        may be new), from the first tick of an epoch, and after a change that can touch any
        stay (who holds a role, a name, a bulk import).
        """
        progress = await journal.progress()
        if not self._started or changed.everything or progress is None or progress.epoch != epoch:
            return await self._slice_after(session, 0)
        if progress.through_stay_id is None:
            return None
        return await self._slice_after(session, progress.through_stay_id)

    async def _slice_after(self, session: AsyncSession, after: int) -> StaySlice:
        through = await FactsRepository(session).active_slice_end(after, self.slice_stays)
        return StaySlice(after, through)

    async def _reconcile(
        self,
        delivery: DeliveryRepository,
        due: dict[str, Nudge],
        report: EvaluationReport,
        scopes: Sequence[StayScope],
        now: datetime,
    ) -> None:
        """Withdraw or refresh the undelivered rule nudges of the stays in ``scopes``."""
        stale: list[int] = []
        for pending in await _pending_rule_nudges(delivery, scopes, now):
            nudge = due.get(pending.key)
            if nudge is None:
                stale.append(pending.id)
            elif nudge.payload != pending.payload:
                await delivery.refresh_payload(pending.id, nudge.payload)
                report.refreshed += 1
        report.withdrawn += await delivery.withdraw_ids(stale, "withdrawn: no longer due")


async def _pending_rule_nudges(
    delivery: DeliveryRepository, scopes: Sequence[StayScope], now: datetime
) -> list[PendingNudge]:
    """Each row once, though a changed stay may also be in the slice. Rows due after ``now``
    were decided by a tick at a later moment (``korttid tick --now``, e.g. in the demo): an
    evaluation at an earlier moment cannot judge them, so it leaves them alone."""
    found: dict[int, PendingNudge] = {}
    for scope in scopes:
        for pending in await delivery.pending_of_kinds(RULE_KINDS, scope, due_by=now):
            found[pending.id] = pending
    return [found[key] for key in sorted(found)]


def _joined(first: StaySlice | None, then: StaySlice) -> StaySlice:
    return then if first is None else StaySlice(first.after, then.through)


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
