"""The indicators (DOMAIN.md, seed 000's table): every definition, written once, here.

| indicator | definition | target |
|---|---|---|
| Follow-up within 7 days | stays whose day-7 deadline fell in the period and whose outcome is settled (meeting held, or deadline passed while the stay was there): share with the meeting held on or before the deadline | 100 % |
| Delayed follow-up | same population: share without a meeting by the deadline; plus active stays overdue right now | 0 % |
| Average length of stay | mean of (departure - arrival) days over stays that departed in the period; plus stays in a bed for more than 14 days at the end of the period | <= 14 days |
| Payment responsibility | kronor for the days of betalningsansvar that fall in the period (up to today); "not configured" when a year of the period has no daily amount, never 0 | 0 |

Further counts: arrivals (arrival date in the period), departures (departure date in the
period), active stays (in a bed at the end of the period, or today), home-goings planned in the
next 7 days and those of them with a checklist item not ready (readiness gaps), extensions (each
one, when it was decided) and home-going decisions (a home-going set where none was; moving the
date is the same decision), both from the decision events taken in the period; waiting for a
care home (in a bed at the end of the period, with a care-home wait as the latest decision
taken by then that starts or ends one: from the decision events), people in home-going planning
from hospital (seed 002: distinct hospital waits active some day of the period), mean days as
utskrivningsklar (seed 004: notice to leaving hospital, of the waits that ended in the period),
stays ended by admission to hospital (departed in the period with close reason "hospital";
Korttid cannot see readmissions within 30 days after a stay), SIP called (the checklist item
first marked ready in the period, from the readiness events) and nudges not delivered (outbox messages due in the period that
could not be delivered).

The follow-up counts the first meeting held (``stay.followup_held_on``, the first of the
meetings' held days): a later meeting never makes an on-time follow-up late. Later work never
moves an earlier period's figures.

Every figure is a count or a sum, so units add up: the all-units figure is the sum of the units'
figures, and shares and means are taken from the sums (never a mean of means). A share or mean
over nothing is ``None``: shown as "inga data", never 0 %.
"""  # noqa: E501

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import date, timedelta
from enum import StrEnum
from itertools import islice

from sqlmodel.ext.asyncio.session import AsyncSession

from storage.domain.payment import PaymentPolicy, year_ranges
from storage.domain.periods import Period, local_midnight_utc
from storage.models import Unit
from storage.repos.indicators import IndicatorRepository, PlannedHomeGoings
from storage.repos.units import UnitRepository

LONG_STAY_DAYS = 14
PLANNING_HORIZON_DAYS = 7


@dataclass(frozen=True, slots=True)
class Figures:
    """Counts and sums for one unit (or a sum of units) in one period."""

    followup_due: int = 0
    followup_on_time: int = 0
    overdue_now: int = 0
    departures: int = 0
    departed_stay_days: int = 0
    long_stays: int = 0
    payment_days: int = 0
    payment_kronor: int = 0
    payment_unpriced_days: int = 0
    arrivals: int = 0
    active: int = 0
    home_goings_next_7: int = 0
    readiness_gaps: int = 0
    extensions: int = 0
    home_going_plannings: int = 0
    waiting_care_home: int = 0
    back_to_hospital: int = 0
    sip_called: int = 0
    undeliverable: int = 0
    hospital_planning: int = 0  # seed 002: distinct hospital waits active some day
    waits_ended: int = 0  # seed 004: waits that ended (left hospital) in the period ...
    waited_seconds: int = 0  # ... and their time from the notice to leaving hospital
    # Messages for staff who have not opened Korttid: waiting for them, or expired meanwhile.
    awaiting_recipient: int = 0
    payment_configured: bool = True

    def __add__(self, other: Figures) -> Figures:
        values: dict[str, int | bool] = {}
        for item in fields(self):
            mine, theirs = getattr(self, item.name), getattr(other, item.name)
            values[item.name] = (mine and theirs) if isinstance(mine, bool) else mine + theirs
        return Figures(**values)  # type: ignore[arg-type]

    @property
    def followup_within_7_share(self) -> float | None:
        return _ratio(self.followup_on_time, self.followup_due)

    @property
    def followup_delayed_share(self) -> float | None:
        return _ratio(self.followup_due - self.followup_on_time, self.followup_due)

    @property
    def average_stay_days(self) -> float | None:
        return _ratio(self.departed_stay_days, self.departures)

    @property
    def average_wait_days(self) -> float | None:
        """Mean days as utskrivningsklar of the waits that ended in the period (seed 004)."""
        return _ratio(self.waited_seconds, self.waits_ended * 86_400)

    @property
    def payment(self) -> int | None:
        """Kronor, or None when an amount is missing for a year of the period."""
        if not self.payment_configured or self.payment_unpriced_days:
            return None
        return self.payment_kronor


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def total(figures: Iterable[Figures]) -> Figures:
    result = Figures()
    for item in figures:
        result = result + item
    return result


class Measure(StrEnum):
    SHARE = "share"
    DAYS = "days"
    KRONOR = "kronor"
    COUNT = "count"


@dataclass(frozen=True, slots=True)
class Indicator:
    """A headline indicator of seed 000: its value, its target and which way is better."""

    key: str
    measure: Measure
    target: float
    higher_is_better: bool
    value: Callable[[Figures], float | None]
    # What is held against the target, when it is not the value itself.
    judged: Callable[[Figures], float | None] | None = None

    def meets_target(self, figures: Figures) -> bool | None:
        """None when there is no value to judge."""
        value = (self.judged or self.value)(figures)
        if value is None:
            return None
        if self.higher_is_better:
            return value >= self.target - 1e-9
        return value <= self.target + 1e-9


def _payment_value(figures: Figures) -> float | None:
    return None if figures.payment is None else float(figures.payment)


def _payment_judged(figures: Figures) -> float | None:
    return None if figures.payment is None else float(figures.payment_days)


HEADLINE: tuple[Indicator, ...] = (
    Indicator("followup_within_7", Measure.SHARE, 1.0, True, lambda f: f.followup_within_7_share),
    Indicator("followup_delayed", Measure.SHARE, 0.0, False, lambda f: f.followup_delayed_share),
    Indicator("average_stay", Measure.DAYS, LONG_STAY_DAYS, False, lambda f: f.average_stay_days),
    # Judged on the days (zero kronor means zero days), and only when the kronor can be computed:
    # a figure that is not configured is never held against its target.
    Indicator("payment", Measure.KRONOR, 0.0, False, _payment_value, _payment_judged),
)

# The further counts, in the order a manager reads them.
COUNTS: tuple[str, ...] = (
    "arrivals",
    "departures",
    "active",
    "home_goings_next_7",
    "readiness_gaps",
    "extensions",
    "waiting_care_home",
    "home_going_plannings",
    "hospital_planning",
    "average_wait_days",
    "back_to_hospital",
    "sip_called",
    "overdue_now",
    "long_stays",
)


@dataclass(frozen=True, slots=True)
class IndicatorReport:
    """The figures of one period: per unit, and their total."""

    period: Period
    today: date
    units: list[Unit]
    by_unit: dict[int, Figures]
    unassigned: Figures = field(default_factory=Figures)

    @property
    def total(self) -> Figures:
        """All the report's units, plus what belongs to no unit (waits, undelivered digests)."""
        return total(self.by_unit.values()) + self.unassigned

    @property
    def as_of(self) -> date:
        return snapshot_day(self.period, self.today)


def snapshot_day(period: Period, today: date) -> date:
    """Stocks (stays in a bed) are counted at the end of the period, or today if earlier."""
    return min(period.end, today)


@dataclass(frozen=True, slots=True)
class NowCounts:
    """What every period's report counts as of today, whatever the period: follow-ups overdue
    now, and the home-goings of the coming days with their readiness gaps. Read once when one
    day's figures are computed for several periods (a digest's week and the one before it)."""

    overdue: dict[int, int]
    planned: dict[int, PlannedHomeGoings]


async def counts_now(
    session: AsyncSession, today: date, *, unit_ids: Collection[int] | None = None
) -> NowCounts:
    repo = IndicatorRepository(session)
    horizon_end = today + timedelta(days=PLANNING_HORIZON_DAYS - 1)
    overdue = await repo.overdue(today, unit_ids)
    planned = await repo.planned_home_goings(today, horizon_end, unit_ids)
    return NowCounts(overdue, planned)


async def compute_indicators(
    session: AsyncSession,
    period: Period,
    today: date,
    *,
    unit_ids: Collection[int] | None = None,
    payment: PaymentPolicy | None = None,
    now: NowCounts | None = None,
) -> IndicatorReport:
    """Every indicator for the period, per unit; ``unit_ids=None``: every unit. ``now``: the
    same day's ``counts_now`` for these units, when already read."""
    units = await _units(session, unit_ids)
    ids = None if unit_ids is None else [u.id for u in units if u.id is not None]
    repo = IndicatorRepository(session)
    start_utc, end_utc = period.utc_bounds()
    as_of = snapshot_day(period, today)
    if now is None:
        now = await counts_now(session, today, unit_ids=ids)
    overdue, planned = now.overdue, now.planned

    followups = await repo.followups(period.start, period.end, today, ids)
    arrivals = await repo.arrivals(period.start, period.end, ids)
    ended = await repo.ended(period.start, period.end, ids)
    ongoing = await repo.ongoing(as_of, LONG_STAY_DAYS, ids)
    decisions = await repo.decisions(start_utc, end_utc, ids)
    sip = await repo.sip_called(start_utc, end_utc, ids)
    undeliverable = await repo.undeliverable(start_utc, end_utc, ids)
    awaiting = await repo.not_opened(start_utc, end_utc, ids)
    payments = await payment_by_unit(repo, period, today, payment, ids)
    waits = {
        unit: Figures(
            hospital_planning=w.active, waits_ended=w.ended, waited_seconds=w.waited_seconds
        )
        for unit, w in (await repo.hospital_waits(start_utc, end_utc, ids)).items()
    }
    configured = Figures(payment_configured=payment_configured(period, today, payment))

    by_unit: dict[int, Figures] = {}
    for unit in units:
        assert unit.id is not None
        uid = unit.id
        f, e, o, p, d = (
            followups.get(uid),
            ended.get(uid),
            ongoing.get(uid),
            planned.get(uid),
            decisions.get(uid),
        )
        by_unit[uid] = (
            Figures(
                followup_due=f.due if f else 0,
                followup_on_time=f.on_time if f else 0,
                overdue_now=overdue.get(uid, 0),
                departures=e.count if e else 0,
                departed_stay_days=e.total_days if e else 0,
                back_to_hospital=e.back_to_hospital if e else 0,
                long_stays=o.long_stays if o else 0,
                active=o.active if o else 0,
                waiting_care_home=o.waiting_care_home if o else 0,
                arrivals=arrivals.get(uid, 0),
                home_goings_next_7=p.planned if p else 0,
                readiness_gaps=p.with_readiness_gap if p else 0,
                extensions=d.extension if d else 0,
                home_going_plannings=d.home_going if d else 0,
                sip_called=sip.get(uid, 0),
                undeliverable=undeliverable.get(uid, 0),
                awaiting_recipient=awaiting.get(uid, 0),
            )
            + payments.get(uid, Figures())
            + configured
            + waits.get(uid, Figures())
        )  # one rule for every unit of the table
    # Waits without an expected unit and messages about no unit belong only to the all-units view.
    unassigned = configured
    if unit_ids is None:
        unassigned += (
            Figures(
                undeliverable=undeliverable.get(None, 0),
                awaiting_recipient=awaiting.get(None, 0),
            )
            + payments.get(None, Figures())
            + waits.get(None, Figures())
        )
    return IndicatorReport(period, today, list(units), by_unit, unassigned)


async def _units(session: AsyncSession, unit_ids: Collection[int] | None) -> Sequence[Unit]:
    repo = UnitRepository(session)
    return await (repo.all() if unit_ids is None else repo.by_ids(unit_ids))


async def payment_by_unit(
    repo: IndicatorRepository,
    period: Period,
    today: date,
    policy: PaymentPolicy | None,
    unit_ids: Collection[int] | None,
) -> dict[int | None, Figures]:
    """Payment responsibility per expected unit: the days (and kronor) that fall in the period.

    Every unit with a wait in the period gets figures, even of no days. Days after today are
    not counted yet: a wait still open accrues day by day. The days are summed in SQL per
    calendar year, since each year has its own daily amount.
    """
    policy = policy or PaymentPolicy()  # the law's rules; no amounts
    ranges = year_ranges(period.start, min(period.end, today))
    start_utc, end_utc = period.utc_bounds()
    found = await repo.payable_days(start_utc, end_utc, ranges, policy, unit_ids)
    return {unit: payment_figures(days, ranges, policy) for unit, days in found.items()}


def payment_figures(
    days_in: Sequence[int], ranges: Sequence[tuple[date, date]], policy: PaymentPolicy
) -> Figures:
    """Days and kronor from the payable days in each range (each within one calendar year)."""
    days = kronor = unpriced = 0
    for (first, _last), count in zip(ranges, days_in, strict=True):
        amount = policy.daily_amount(first.year)
        days += count
        if amount is None:
            unpriced += count
        else:
            kronor += amount * count
    return Figures(payment_days=days, payment_kronor=kronor, payment_unpriced_days=unpriced)


def payment_configured(period: Period, today: date, policy: PaymentPolicy | None) -> bool:
    """An amount exists for every year the period covers (up to today)."""
    if policy is None:
        return False  # the law's grace days apply, but no amount is ever assumed
    last = max(period.start, min(period.end, today))
    return all(
        policy.daily_amount(year) is not None for year in range(period.start.year, last.year + 1)
    )


@dataclass(frozen=True, slots=True)
class TrendPoint:
    week: Period
    followup_within_7_share: float | None
    average_stay_days: float | None
    payment: int | None


async def compute_trend(
    session: AsyncSession,
    weeks: Sequence[Period],
    today: date,
    *,
    unit_ids: Collection[int] | None = None,
    payment: PaymentPolicy | None = None,
) -> list[TrendPoint]:
    """The three trend indicators per week (for the chart): three aggregates over all the
    weeks, per day (follow-ups, departures) or per week (payable days), never one per week."""
    if not weeks:
        return []
    repo = IndicatorRepository(session)
    ids = None if unit_ids is None else list(unit_ids)
    first, last = min(w.start for w in weeks), max(w.end for w in weeks)
    followups = await repo.followups_per_day(first, last, today, ids)
    ended = await repo.ended_per_day(first, last, ids)
    payments = await _weekly_payments(repo, weeks, today, payment, ids)
    points: list[TrendPoint] = []
    for week, paid in zip(weeks, payments, strict=True):
        days = [week.start + timedelta(days=n) for n in range(week.days)]
        met = [followups[day] for day in days if day in followups]
        gone = [ended[day] for day in days if day in ended]
        figures = (
            Figures(
                followup_due=sum(f.due for f in met),
                followup_on_time=sum(f.on_time for f in met),
                departures=sum(e.count for e in gone),
                departed_stay_days=sum(e.total_days for e in gone),
                payment_configured=payment_configured(week, today, payment),
            )
            + paid
        )
        points.append(
            TrendPoint(
                week, figures.followup_within_7_share, figures.average_stay_days, figures.payment
            )
        )
    return points


async def _weekly_payments(
    repo: IndicatorRepository,
    weeks: Sequence[Period],
    today: date,
    payment: PaymentPolicy | None,
    unit_ids: Collection[int] | None,
) -> list[Figures]:
    """Each week's payment figures (all the units together), from one query."""
    policy = payment or PaymentPolicy()
    ranges = [year_ranges(week.start, min(week.end, today)) for week in weeks]
    first, last = min(w.start for w in weeks), max(w.end for w in weeks)
    flat = [part for parts in ranges for part in parts]
    found = await repo.payable_days(
        local_midnight_utc(first),
        local_midnight_utc(last + timedelta(days=1)),
        flat,
        policy,
        unit_ids,
    )
    totals = iter([sum(days[n] for days in found.values()) for n in range(len(flat))])
    return [payment_figures(list(islice(totals, len(parts))), parts, policy) for parts in ranges]
