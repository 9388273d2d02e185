"""The one Swedish date parser: dates as staff type them, around year end and holidays.

Every row is read in the Europe/Stockholm time zone: ``today`` is the Stockholm date of an
instant, as the dialogs compute it with ``local_today``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from dialogs.parsing import InvalidInput, parse_date, parse_future_date
from storage.domain.clock import FixedClock, local_today

# 23:30 UTC on Wednesday 2 December is already Thursday 3 December in Stockholm.
THURSDAY = local_today(FixedClock(datetime(2026, 12, 2, 23, 30, tzinfo=UTC)))
MONDAY_BEFORE_NEW_YEAR = date(2026, 12, 28)
SATURDAY_AFTER_NEW_YEAR = date(2027, 1, 2)


def test_today_is_the_stockholm_date() -> None:
    assert date(2026, 12, 3) == THURSDAY


ACCEPTED = [
    # relative words
    ("i dag", THURSDAY, date(2026, 12, 3)),
    ("idag", THURSDAY, date(2026, 12, 3)),
    ("I dag.", THURSDAY, date(2026, 12, 3)),
    ("i morgon", THURSDAY, date(2026, 12, 4)),
    ("imorgon", THURSDAY, date(2026, 12, 4)),
    ("i övermorgon", THURSDAY, date(2026, 12, 5)),
    ("igår", THURSDAY, date(2026, 12, 2)),
    ("i går", THURSDAY, date(2026, 12, 2)),
    ("i förrgår", THURSDAY, date(2026, 12, 1)),
    ("förrgår", THURSDAY, date(2026, 12, 1)),
    ("om 3 dagar", THURSDAY, date(2026, 12, 6)),
    ("om en dag", THURSDAY, date(2026, 12, 4)),
    ("om två veckor", THURSDAY, date(2026, 12, 17)),
    ("om 1 vecka", THURSDAY, date(2026, 12, 10)),
    ("för 2 dagar sedan", THURSDAY, date(2026, 12, 1)),
    ("för en vecka sedan", THURSDAY, date(2026, 11, 26)),
    # weekdays
    ("fredag", THURSDAY, date(2026, 12, 4)),
    ("på fredag", THURSDAY, date(2026, 12, 4)),
    ("torsdag", THURSDAY, date(2026, 12, 10)),
    ("på måndag", THURSDAY, date(2026, 12, 7)),
    ("nästa måndag", THURSDAY, date(2026, 12, 7)),
    ("nästa fredag", THURSDAY, date(2026, 12, 11)),
    ("måndag nästa vecka", THURSDAY, date(2026, 12, 7)),
    ("fredag nästa vecka", THURSDAY, date(2026, 12, 11)),
    ("på fredag nästa vecka", THURSDAY, date(2026, 12, 11)),
    ("fredag denna vecka", THURSDAY, date(2026, 12, 4)),
    ("måndag förra veckan", THURSDAY, date(2026, 11, 23)),
    ("i måndags", THURSDAY, date(2026, 11, 30)),
    ("i torsdags", THURSDAY, date(2026, 11, 26)),
    ("måndagen", THURSDAY, date(2026, 12, 7)),
    ("tis", THURSDAY, date(2026, 12, 8)),
    # ISO weeks
    ("v. 50 tisdag", THURSDAY, date(2026, 12, 8)),
    ("v 50 tisdag", THURSDAY, date(2026, 12, 8)),
    ("v50 tis", THURSDAY, date(2026, 12, 8)),
    ("vecka 50 tisdag", THURSDAY, date(2026, 12, 8)),
    ("tisdag vecka 50", THURSDAY, date(2026, 12, 8)),
    ("onsdag v. 53", THURSDAY, date(2026, 12, 30)),
    ("måndag v. 1", THURSDAY, date(2027, 1, 4)),
    ("fredag v. 52", SATURDAY_AFTER_NEW_YEAR, date(2026, 12, 25)),
    # numbers and month names
    ("2026-12-03", THURSDAY, date(2026, 12, 3)),
    ("2026-1-5", THURSDAY, date(2026, 1, 5)),
    ("3/12", THURSDAY, date(2026, 12, 3)),
    ("24/12", THURSDAY, date(2026, 12, 24)),
    ("3/12/26", THURSDAY, date(2026, 12, 3)),
    ("3/12-2026", THURSDAY, date(2026, 12, 3)),
    ("3 dec", THURSDAY, date(2026, 12, 3)),
    ("3 dec.", THURSDAY, date(2026, 12, 3)),
    ("3 december 2026", THURSDAY, date(2026, 12, 3)),
    ("den 3 december", THURSDAY, date(2026, 12, 3)),
    ("den 3:e december", THURSDAY, date(2026, 12, 3)),
    ("2 jan", THURSDAY, date(2027, 1, 2)),
    ("5/1", THURSDAY, date(2027, 1, 5)),
    ("20 nov", THURSDAY, date(2026, 11, 20)),
    ("29 feb", THURSDAY, date(2028, 2, 29)),
    # around the turn of the year
    ("nästa måndag", MONDAY_BEFORE_NEW_YEAR, date(2027, 1, 4)),
    ("om 5 dagar", MONDAY_BEFORE_NEW_YEAR, date(2027, 1, 2)),
    ("fredag", MONDAY_BEFORE_NEW_YEAR, date(2027, 1, 1)),
    ("i går", SATURDAY_AFTER_NEW_YEAR, date(2027, 1, 1)),
    ("i förrgår", SATURDAY_AFTER_NEW_YEAR, date(2026, 12, 31)),
    ("30/12", SATURDAY_AFTER_NEW_YEAR, date(2026, 12, 30)),
    ("i onsdags", SATURDAY_AFTER_NEW_YEAR, date(2026, 12, 30)),
    # holidays by name
    ("julafton", THURSDAY, date(2026, 12, 24)),
    ("juldagen", THURSDAY, date(2026, 12, 25)),
    ("annandag jul", THURSDAY, date(2026, 12, 26)),
    ("nyårsafton", THURSDAY, date(2026, 12, 31)),
    ("nyårsdagen", THURSDAY, date(2027, 1, 1)),
    ("trettondagen", THURSDAY, date(2027, 1, 6)),
    ("nyårsafton", SATURDAY_AFTER_NEW_YEAR, date(2026, 12, 31)),
    ("julafton", SATURDAY_AFTER_NEW_YEAR, date(2026, 12, 24)),
]


@pytest.mark.parametrize(("text", "today", "expected"), ACCEPTED)
def test_accepted(text: str, today: date, expected: date) -> None:
    assert parse_date(text, today) == expected


REFUSED = [
    ("snart", "date_invalid"),
    ("", "date_invalid"),
    ("igår kväll", "date_invalid"),
    ("om några dagar", "date_invalid"),
    ("om 3 månader", "date_invalid"),
    ("31/11", "date_day_invalid"),
    ("30 feb", "date_day_invalid"),
    ("29/2/2027", "date_day_invalid"),
    ("2026-02-30", "date_day_invalid"),
    ("32 dec", "date_day_invalid"),
    ("3/13", "date_month_invalid"),
    ("2026-13-01", "date_month_invalid"),
    ("måndg", "date_word_unknown"),
    ("på fredg", "date_word_unknown"),
    ("3 decmber", "date_word_unknown"),
    ("nästa tisdg", "date_word_unknown"),
    ("v. 54 tisdag", "date_week_invalid"),
    ("v. 50", "date_invalid"),
    ("måndag tisdag", "date_invalid"),
    ("121212-1212", "date_invalid"),
]


@pytest.mark.parametrize(("text", "key"), REFUSED)
def test_refused_with_what_to_type(text: str, key: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_date(text, THURSDAY)
    assert raised.value.key == key


def test_a_misspelled_weekday_is_named_with_a_guess() -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_date("på tisdg", THURSDAY)
    assert raised.value.values == {"word": "tisdg", "guess": "tisdag"}


def test_a_past_date_names_the_date_and_today() -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_future_date("i går", THURSDAY)
    assert raised.value.key == "date_in_past"
    assert raised.value.values == {
        "date": "onsdag 2 december 2026",
        "today": "torsdag 3 december 2026",
    }


def test_enough_rows() -> None:
    assert len(ACCEPTED) + len(REFUSED) >= 60
