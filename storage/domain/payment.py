"""Payment responsibility (betalningsansvar) while a person ready for discharge waits in hospital.

A pure function of the facts and a policy from configuration (DOMAIN.md, "The life of a stay"):

* By law (2017:612) the municipality pays from ``grace_days`` (default 3) calendar days after the
  day the notice "ready for discharge" was sent: a notice on a Monday means paying from Thursday.
* Some regions agree on a noon cut-off (Stockholm): a notice sent before 12:00 counts that day, a
  later one counts from the next day. Off by default.
* The days counted are hospital days: the day the person leaves hospital is not one of them
  (as when hospital days are counted, the discharge day is not); a person still waiting has
  today counted.
* The daily amount is set per calendar year. When a year with payable days has no amount
  configured the total is ``None`` ("not configured"): an amount is never invented, and never 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from storage.domain.clock import STOCKHOLM

DEFAULT_GRACE_DAYS = 3
NOON = time(12, 0)


@dataclass(frozen=True)
class PaymentPolicy:
    """The rules in force; ``version`` names them so a figure can say which rules produced it."""

    version: str = "lag-2017:612"
    grace_days: int = DEFAULT_GRACE_DAYS
    noon_cutoff: bool = False
    daily_amounts: Mapping[int, int] = field(default_factory=dict)  # year -> kronor per day

    def daily_amount(self, year: int) -> int | None:
        return self.daily_amounts.get(year)

    def responsible_days(
        self, notified_at: datetime, ended_at: datetime | None, first: date, last: date
    ) -> list[date]:
        """The payable days of one wait that fall in [first, last] (for period indicators).

        ``ended_at`` is when the person left hospital; that day is not payable.
        """
        start = max(first_payable_day(notified_at, self), first)
        end = last + timedelta(days=1)
        if ended_at is not None:
            end = min(end, ended_at.astimezone(STOCKHOLM).date())
        return [start + timedelta(days=offset) for offset in range((end - start).days)]


@dataclass(frozen=True, slots=True)
class YearShare:
    year: int
    days: int
    daily_amount: int | None
    amount: int | None


@dataclass(frozen=True, slots=True)
class PaymentResponsibility:
    first_day: date  # the first day the municipality pays for
    days: int
    by_year: tuple[YearShare, ...]
    amount: int | None  # kronor; None when not configured for a year that has payable days
    policy_version: str

    @property
    def configured(self) -> bool:
        return self.amount is not None


def counting_day(notified_at: datetime, policy: PaymentPolicy) -> date:
    """The day the notice counts as sent, in Swedish local time."""
    local = notified_at.astimezone(STOCKHOLM)
    if policy.noon_cutoff and local.time() >= NOON:
        return local.date() + timedelta(days=1)
    return local.date()


def first_payable_day(notified_at: datetime, policy: PaymentPolicy) -> date:
    return counting_day(notified_at, policy) + timedelta(days=policy.grace_days)


def payment_responsibility(
    notified_at: datetime,
    policy: PaymentPolicy,
    *,
    left_hospital_on: date | None,
    today: date,
) -> PaymentResponsibility:
    """Payable days and kronor from the notice until the person left hospital (or until today)."""
    first = first_payable_day(notified_at, policy)
    end = left_hospital_on if left_hospital_on is not None else today + timedelta(days=1)
    shares = tuple(_share(year, days, policy) for year, days in _days_per_year(first, end))
    total_days = sum(share.days for share in shares)
    amounts = [share.amount for share in shares]
    amount = None if any(a is None for a in amounts) else sum(a or 0 for a in amounts)
    return PaymentResponsibility(
        first_day=first,
        days=total_days,
        by_year=shares,
        amount=0 if total_days == 0 else amount,
        policy_version=policy.version,
    )


def _share(year: int, days: int, policy: PaymentPolicy) -> YearShare:
    daily = policy.daily_amount(year)
    return YearShare(year, days, daily, None if daily is None else daily * days)


def _days_per_year(first: date, end_exclusive: date) -> list[tuple[int, int]]:
    """Count the days in [first, end) per calendar year."""
    last = end_exclusive - timedelta(days=1)
    return [(start.year, (stop - start).days + 1) for start, stop in year_ranges(first, last)]


def year_ranges(first: date, last: date) -> list[tuple[date, date]]:
    """[first, last] cut at each new year: (first, last) of each part; none when last < first.
    Each year has its own daily amount."""
    parts: list[tuple[date, date]] = []
    day = first
    while day <= last:
        stop = min(date(day.year, 12, 31), last)
        parts.append((day, stop))
        day = stop + timedelta(days=1)
    return parts
