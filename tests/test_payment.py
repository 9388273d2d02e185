"""Payment responsibility (betalningsansvar): a pure function of the facts and the policy."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.settings import Settings
from storage.domain.payment import PaymentPolicy, payment_responsibility

SE = ZoneInfo("Europe/Stockholm")
AMOUNTS = {2025: 9000, 2026: 9800}
LAW = PaymentPolicy(daily_amounts=AMOUNTS)
STOCKHOLM_AGREEMENT = PaymentPolicy(version="sll-2026", noon_cutoff=True, daily_amounts=AMOUNTS)


def local(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=SE)  # type: ignore[misc]


# (case, notified at, policy, left hospital on, today, first payable day, days, kronor)
CASES = [
    ("Monday notice, paid from Thursday", local(2026, 11, 23, 10, 0), LAW,
     date(2026, 11, 27), None, date(2026, 11, 26), 1, 9800),
    ("left on the first payable day: nothing", local(2026, 11, 23, 10, 0), LAW,
     date(2026, 11, 26), None, date(2026, 11, 26), 0, 0),
    ("left before payment started", local(2026, 11, 23, 10, 0), LAW,
     date(2026, 11, 24), None, date(2026, 11, 26), 0, 0),
    ("still waiting: today counts", local(2026, 11, 23, 10, 0), LAW,
     None, date(2026, 11, 28), date(2026, 11, 26), 3, 29400),
    ("still waiting, not yet payable", local(2026, 11, 23, 10, 0), LAW,
     None, date(2026, 11, 24), date(2026, 11, 26), 0, 0),
    ("the law has no cut-off: a late notice counts that day", local(2026, 11, 23, 16, 45), LAW,
     date(2026, 11, 30), None, date(2026, 11, 26), 4, 39200),
    ("cut-off: before 12:00 counts that day", local(2026, 11, 23, 11, 59), STOCKHOLM_AGREEMENT,
     date(2026, 11, 30), None, date(2026, 11, 26), 4, 39200),
    ("cut-off: from 12:00 counts the next day", local(2026, 11, 23, 12, 0), STOCKHOLM_AGREEMENT,
     date(2026, 11, 30), None, date(2026, 11, 27), 3, 29400),
    ("local date, not UTC: 00:30 in Stockholm", datetime(2026, 11, 23, 23, 30, tzinfo=UTC), LAW,
     date(2026, 11, 30), None, date(2026, 11, 27), 3, 29400),
    ("over New Year: each year at its own amount", local(2025, 12, 28, 9, 0), LAW,
     date(2026, 1, 3), None, date(2025, 12, 31), 3, 9000 + 2 * 9800),
    ("cut-off pushes the start over New Year", local(2025, 12, 28, 13, 0), STOCKHOLM_AGREEMENT,
     date(2026, 1, 3), None, date(2026, 1, 1), 2, 2 * 9800),
    ("a year without an amount: not configured", local(2026, 12, 28, 9, 0), LAW,
     date(2027, 1, 3), None, date(2026, 12, 31), 3, None),
    ("no amounts at all: not configured, never 0", local(2026, 11, 23, 10, 0), PaymentPolicy(),
     date(2026, 11, 30), None, date(2026, 11, 26), 4, None),
    ("grace days from configuration", local(2026, 11, 23, 10, 0),
     PaymentPolicy(grace_days=5, daily_amounts=AMOUNTS),
     date(2026, 11, 30), None, date(2026, 11, 28), 2, 19600),
    ("cut-off on the day summer time starts (UTC+2)", datetime(2026, 3, 29, 9, 30, tzinfo=UTC),
     STOCKHOLM_AGREEMENT, date(2026, 4, 2), None, date(2026, 4, 1), 1, 9800),
    ("same UTC time in winter is before noon", datetime(2026, 3, 28, 10, 30, tzinfo=UTC),
     STOCKHOLM_AGREEMENT, date(2026, 4, 2), None, date(2026, 3, 31), 2, 19600),
    ("summer: 10:30 UTC is 12:30 local, after noon", datetime(2026, 3, 30, 10, 30, tzinfo=UTC),
     STOCKHOLM_AGREEMENT, date(2026, 4, 4), None, date(2026, 4, 3), 1, 9800),
]  # fmt: skip


@pytest.mark.parametrize(
    ("notified_at", "policy", "left", "today", "first", "days", "kronor"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_payment_responsibility(
    notified_at: datetime,
    policy: PaymentPolicy,
    left: date | None,
    today: date | None,
    first: date,
    days: int,
    kronor: int | None,
) -> None:
    result = payment_responsibility(
        notified_at, policy, left_hospital_on=left, today=today or date(2027, 6, 1)
    )

    assert (result.first_day, result.days, result.amount) == (first, days, kronor)
    assert result.configured is (kronor is not None)
    assert sum(share.days for share in result.by_year) == days
    assert result.policy_version == policy.version


def test_the_split_over_new_year_is_shown_per_year() -> None:
    result = payment_responsibility(
        local(2025, 12, 28, 9, 0), PaymentPolicy(daily_amounts={2025: 9000}),
        left_hospital_on=date(2026, 1, 3), today=date(2026, 1, 3),
    )  # fmt: skip

    assert [(s.year, s.days, s.daily_amount, s.amount) for s in result.by_year] == [
        (2025, 1, 9000, 9000),
        (2026, 2, None, None),
    ]
    assert result.amount is None


@pytest.mark.parametrize(
    ("ended_at", "first", "last", "expected"),
    [
        (None, date(2026, 11, 1), date(2026, 11, 28), [26, 27, 28]),
        (local(2026, 11, 28, 15, 0), date(2026, 11, 1), date(2026, 11, 30), [26, 27]),
        (None, date(2026, 11, 27), date(2026, 11, 27), [27]),
        (local(2026, 11, 25, 8, 0), date(2026, 11, 1), date(2026, 11, 30), []),
    ],
)
def test_responsible_days_in_a_period(
    ended_at: datetime | None, first: date, last: date, expected: list[int]
) -> None:
    """The days the indicators count: clipped to the period, the discharge day not counted."""
    days = LAW.responsible_days(local(2026, 11, 23, 10, 0), ended_at, first, last)

    assert [day.day for day in days] == expected


def test_policy_from_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KORTTID_PAYMENT_AMOUNTS", '{"2025": 9000, "2026": 9800}')
    monkeypatch.setenv("KORTTID_PAYMENT_GRACE_DAYS", "2")
    monkeypatch.setenv("KORTTID_PAYMENT_NOON_CUTOFF", "true")
    monkeypatch.setenv("KORTTID_PAYMENT_POLICY_VERSION", "region-2026")

    policy = Settings(env="dev").payment_policy()  # type: ignore[arg-type]

    assert policy == PaymentPolicy(
        version="region-2026", grace_days=2, noon_cutoff=True, daily_amounts=AMOUNTS
    )


def test_default_policy_is_the_law_with_no_amount() -> None:
    policy = Settings(env="dev").payment_policy()  # type: ignore[arg-type]

    assert (policy.grace_days, policy.noon_cutoff, dict(policy.daily_amounts)) == (3, False, {})


def test_a_zero_or_negative_amount_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KORTTID_PAYMENT_AMOUNTS", '{"2026": 0}')

    with pytest.raises(ValueError, match="greater than 0"):
        Settings(env="dev")  # type: ignore[arg-type]
