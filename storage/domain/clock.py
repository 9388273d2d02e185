"""Injected time: every rule takes ``now``; nothing reads the wall clock on its own."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

STOCKHOLM = ZoneInfo("Europe/Stockholm")


class Clock(Protocol):
    def now(self) -> datetime:
        """Aware UTC now."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class StartedClock:
    """Real time, begun at another instant: a local demo or an end-to-end test at 10:00 on a
    working day whatever the hour it runs (Korttid speaks 07-18 on working days only)."""

    def __init__(self, start: datetime, real: Clock | None = None) -> None:
        self.real = real or SystemClock()
        self.offset = start.astimezone(UTC) - self.real.now()

    def now(self) -> datetime:
        return self.real.now() + self.offset


class FixedClock:
    """A clock tests and the CLI set by hand."""

    def __init__(self, instant: datetime) -> None:
        self.instant = instant.astimezone(UTC)

    def now(self) -> datetime:
        return self.instant

    def set(self, instant: datetime) -> None:
        self.instant = instant.astimezone(UTC)


def local_today(clock: Clock) -> date:
    return clock.now().astimezone(STOCKHOLM).date()
