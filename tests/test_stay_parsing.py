"""What staff type in the stay dialogs: dates with times, case codes, staff choices, free text."""

from __future__ import annotations

from datetime import date, time

import pytest

from dialogs.home_going import parse_date_and_time, wants_cancel
from dialogs.parsing import InvalidInput
from dialogs.register_stay import choose_staff
from dialogs.stay_service import check_free_text, normalize_case_code

MONDAY = date(2026, 11, 23)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3/12 9:30", (date(2026, 12, 3), time(9, 30))),
        ("3/12 kl 9", (date(2026, 12, 3), time(9, 0))),
        ("imorgon kl. 10.15", (date(2026, 11, 24), time(10, 15))),
        ("3 dec 14", (date(2026, 12, 3), time(14, 0))),
        ("på fredag", (date(2026, 11, 27), None)),
        ("2026-12-03", (date(2026, 12, 3), None)),
        ("3 dec 2026", (date(2026, 12, 3), None)),
        ("idag 10:15", (MONDAY, time(10, 15))),
        ("3/12 0930", (date(2026, 12, 3), time(9, 30))),  # issue 17: four digits, no separator
        ("3 dec 2027", (date(2027, 12, 3), None)),  # a year, not 20:27
    ],
)
def test_date_and_time(text: str, expected: tuple[date, time | None]) -> None:
    assert parse_date_and_time(text, MONDAY) == expected


@pytest.mark.parametrize("text", ["snart", "3/12 25:00", "kl 9"])
def test_date_and_time_refused_with_a_message(text: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_date_and_time(text, MONDAY)
    assert raised.value.key in {"date_invalid", "time_invalid"}


@pytest.mark.parametrize("text", ["ställ in", "Ställ in hemgången.", "avboka"])
def test_cancel_words(text: str) -> None:
    assert wants_cancel(text)


@pytest.mark.parametrize(
    ("text", "code"), [("äng-042", "ÄNG-042"), (" BJÖ-7 ", "BJÖ-7"), ("KT-2026-11", "KT-2026-11")]
)
def test_case_codes(text: str, code: str) -> None:
    assert normalize_case_code(text) == code


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("ÄNG 042", "stay_code_invalid"),
        ("", "stay_code_invalid"),
        ("-042", "stay_code_invalid"),
        ("A" * 33, "stay_code_invalid"),
        ("121212-1212", "personal_number_refused"),
        ("19121212-1212", "personal_number_refused"),
    ],
)
def test_bad_case_codes(text: str, key: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        normalize_case_code(text)
    assert raised.value.key == key
    assert "1212" not in str(raised.value.values)


def test_free_text_is_scanned_and_limited() -> None:
    assert check_free_text("  Träna   gång ", 500, required=True) == "Träna gång"
    assert check_free_text(" ", 16, required=False) is None
    for text, key in (("x" * 17, "stay_text_too_long"), ("", "stay_text_required"),
                      ("pnr 121212+1212", "personal_number_refused")):  # fmt: skip
        with pytest.raises(InvalidInput) as raised:
            check_free_text(text, 16, required=True)
        assert raised.value.key == key


OPTIONS = [
    {"id": 7, "name": "Sara Sjuksköterska", "email": "sara@kommun.se"},
    {"id": 9, "name": "Sven Sjuksköterska", "email": "sven@kommun.se"},
]


@pytest.mark.parametrize(
    ("text", "staff_id"), [("2", 9), ("staff:7", 7), ("sara", 7), ("sven@kommun.se", 9)]
)
def test_choose_staff(text: str, staff_id: int) -> None:
    assert choose_staff(text, OPTIONS) == staff_id


@pytest.mark.parametrize("text", ["sjuksköterska", "3", "staff:99", "okänd"])
def test_choose_staff_needs_exactly_one(text: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        choose_staff(text, OPTIONS)
    assert "1. Sara Sjuksköterska, 2. Sven Sjuksköterska" in raised.value.values["names"]
