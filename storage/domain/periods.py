"""Reporting periods: an ISO week (2026-W48), a month (2026-11), a quarter (2026Q3), a half-year
(2026H2) or a year (2026).

A period is a closed range of calendar dates in Europe/Stockholm. Seed 000 follows its indicators
weekly, monthly, quarterly, half-yearly and yearly, so these are the kinds people ask for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

from storage.domain.clock import STOCKHOLM


class PeriodKind(StrEnum):
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"
    HALF_YEAR = "half_year"
    YEAR = "year"


_WEEK = re.compile(r"^(\d{4})-?W(\d{1,2})$", re.IGNORECASE)
_QUARTER = re.compile(r"^(\d{4})-?Q([1-4])$", re.IGNORECASE)
_HALF = re.compile(r"^(\d{4})-?H([12])$", re.IGNORECASE)
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_YEAR = re.compile(r"^(\d{4})$")


class InvalidPeriod(ValueError):
    """The text is not a week, month, quarter, half-year or year."""


@dataclass(frozen=True, slots=True, order=True)
class Period:
    start: date
    end: date  # inclusive
    kind: PeriodKind

    @property
    def code(self) -> str:
        """The machine form: 2026-W48, 2026-11, 2026Q3, 2026H2, 2026."""
        if self.kind is PeriodKind.WEEK:
            year, week, _ = self.start.isocalendar()
            return f"{year}-W{week:02d}"
        if self.kind is PeriodKind.MONTH:
            return f"{self.start.year}-{self.start.month:02d}"
        if self.kind is PeriodKind.YEAR:
            return str(self.start.year)
        if self.kind is PeriodKind.QUARTER:
            return f"{self.start.year}Q{(self.start.month - 1) // 3 + 1}"
        return f"{self.start.year}H{1 if self.start.month <= 6 else 2}"

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end

    def previous(self) -> Period:
        """The period of the same kind just before this one."""
        return period_containing(self.kind, self.start - timedelta(days=1))

    def weeks(self) -> list[Period]:
        """The ISO weeks that overlap this period, in order (the first and last may stick out)."""
        weeks: list[Period] = []
        monday = self.start - timedelta(days=self.start.weekday())
        while monday <= self.end:
            weeks.append(iso_week_of(monday))
            monday += timedelta(days=7)
        return weeks

    def utc_bounds(self) -> tuple[datetime, datetime]:
        """[start, end) as aware UTC instants: local midnight to local midnight after the end."""
        return local_midnight_utc(self.start), local_midnight_utc(self.end + timedelta(days=1))


def local_midnight_utc(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=STOCKHOLM).astimezone(UTC)


def iso_week_of(day: date) -> Period:
    monday = day - timedelta(days=day.weekday())
    return Period(monday, monday + timedelta(days=6), PeriodKind.WEEK)


def month_of(day: date) -> Period:
    return Period(day.replace(day=1), _month_end(day.year, day.month), PeriodKind.MONTH)


def year_of(day: date) -> Period:
    return Period(date(day.year, 1, 1), date(day.year, 12, 31), PeriodKind.YEAR)


def quarter_of(day: date) -> Period:
    first_month = (day.month - 1) // 3 * 3 + 1
    return Period(
        date(day.year, first_month, 1), _month_end(day.year, first_month + 2), PeriodKind.QUARTER
    )


def half_year_of(day: date) -> Period:
    first_month = 1 if day.month <= 6 else 7
    return Period(
        date(day.year, first_month, 1), _month_end(day.year, first_month + 5), PeriodKind.HALF_YEAR
    )


def period_containing(kind: PeriodKind, day: date) -> Period:
    if kind is PeriodKind.WEEK:
        return iso_week_of(day)
    if kind is PeriodKind.MONTH:
        return month_of(day)
    if kind is PeriodKind.QUARTER:
        return quarter_of(day)
    if kind is PeriodKind.YEAR:
        return year_of(day)
    return half_year_of(day)


def _month_end(year: int, month: int) -> date:
    if month == 12:
        return date(year, 12, 31)
    return date(year, month + 1, 1) - timedelta(days=1)


def parse_period(text: str) -> Period:
    """'2026-W48', '2026-11', '2026Q3', '2026H2' or '2026' (case and a dash before Q/H do not
    matter)."""
    cleaned = text.strip()
    try:
        if match := _WEEK.match(cleaned):
            return iso_week_of(date.fromisocalendar(int(match[1]), int(match[2]), 1))
        if match := _QUARTER.match(cleaned):
            return quarter_of(date(int(match[1]), (int(match[2]) - 1) * 3 + 1, 1))
        if match := _HALF.match(cleaned):
            return half_year_of(date(int(match[1]), 1 if match[2] == "1" else 7, 1))
        if match := _MONTH.match(cleaned):
            return month_of(date(int(match[1]), int(match[2]), 1))
        if (match := _YEAR.match(cleaned)) and int(match[1]) > 0:
            return year_of(date(int(match[1]), 1, 1))
    except ValueError as error:  # week 53 in a year without one, year 0
        raise InvalidPeriod(cleaned) from error
    raise InvalidPeriod(cleaned)


def last_weeks(today: date, count: int) -> list[Period]:
    """The ``count`` complete ISO weeks before the week of ``today``, oldest first."""
    this_monday = today - timedelta(days=today.weekday())
    return [iso_week_of(this_monday - timedelta(days=7 * n)) for n in range(count, 0, -1)]
