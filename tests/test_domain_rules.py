"""Pure domain rules: the Swedish calendar, the day-7 deadline, identity-number detection."""

from __future__ import annotations

from datetime import date

import pytest

from storage.domain.calendar import add_working_days, followup_deadline, is_working_day
from storage.domain.pnr import contains_personal_number, redact_personal_numbers


@pytest.mark.parametrize(
    ("arrival", "deadline"),
    [
        (date(2026, 11, 23), date(2026, 11, 30)),  # Monday -> Monday
        (date(2026, 11, 21), date(2026, 11, 27)),  # +7 is a Saturday -> Friday before
        (date(2026, 11, 22), date(2026, 11, 27)),  # +7 is a Sunday -> Friday before
        (date(2026, 12, 30), date(2027, 1, 5)),  # +7 is Epiphany (Wednesday) -> Tuesday
        (date(2026, 12, 18), date(2026, 12, 23)),  # +7 is Christmas Day, julafton closed too
        (date(2027, 3, 19), date(2027, 3, 25)),  # +7 is Good Friday 2027 -> Thursday
        (date(2026, 5, 29), date(2026, 6, 5)),  # +7 is National Day (Saturday) -> Friday
    ],
)
def test_followup_deadline(arrival: date, deadline: date) -> None:
    assert followup_deadline(arrival) == deadline


def test_working_days() -> None:
    assert not is_working_day(date(2026, 12, 25))
    assert not is_working_day(date(2026, 11, 28))
    assert is_working_day(date(2026, 11, 27))
    assert add_working_days(date(2026, 12, 23), 2) == date(2026, 12, 29)


def test_the_eves_offices_close_on_are_not_working_days() -> None:
    assert not is_working_day(date(2026, 12, 24))  # julafton
    assert not is_working_day(date(2026, 12, 31))  # nyårsafton
    assert not is_working_day(date(2026, 6, 19))  # midsommarafton
    assert is_working_day(date(2026, 12, 23))
    # Arrival 17 December: day 7 is julafton, so the meeting is due the day before.
    assert followup_deadline(date(2026, 12, 17)) == date(2026, 12, 23)
    assert add_working_days(date(2026, 11, 30), -2) == date(2026, 11, 26)


@pytest.mark.parametrize(
    "text",
    [
        "19121212-1212",
        "121212-1212",
        "1212121212",
        "191212121212",
        "121212+1212",
        "samordning 121272-1219",
        "note: 20121212 1212 end",
    ],
)
def test_personal_numbers_are_found(text: str) -> None:
    assert contains_personal_number(text)
    assert "[personnummer]" in redact_personal_numbers(text)


@pytest.mark.parametrize(
    "text",
    ["ÄNG-042", "121212-1213", "rum 12, 3 dec 09:30", "tel 010-123 45 67", "131312-1212", ""],
)
def test_other_numbers_pass(text: str) -> None:
    assert not contains_personal_number(text)
    assert redact_personal_numbers(text) == text
