"""Find Swedish personal identity numbers (personnummer, samordningsnummer) in free text.

Free text is refused when it holds one: it is never stored or logged.
"""

from __future__ import annotations

import re

# 10 digits (YYMMDD-NNNC, separator - or + or none) or 12 digits (YYYYMMDD-NNNC).
_CANDIDATE = re.compile(r"(?<!\d)(\d{2})?(\d{2})(\d{2})(\d{2})\s?([-+]?)\s?(\d{3})(\d)(?!\d)")
# Every candidate starts with six digits in a row (its date): text without them (most cards and
# messages) is passed over by this simpler search, several times faster than the full pattern.
_SIX_DIGITS = re.compile(r"\d{6}")


def _luhn_ok(digits: str) -> bool:
    total = 0
    for index, char in enumerate(digits):
        value = int(char) * (2 if index % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def _plausible_date(month: str, day: str) -> bool:
    day_no = int(day)
    if day_no > 60:  # samordningsnummer: day + 60
        day_no -= 60
    return 1 <= int(month) <= 12 and 1 <= day_no <= 31


def _is_personal_number(match: re.Match[str]) -> bool:
    _century, year2, month, day, _sep, serial, check = match.groups()
    return _plausible_date(month, day) and _luhn_ok(year2 + month + day + serial + check)


def contains_personal_number(text: str) -> bool:
    """True if the text holds something that checks out as a personnummer or samordningsnummer."""
    if not _SIX_DIGITS.search(text):
        return False
    return any(_is_personal_number(match) for match in _CANDIDATE.finditer(text))


def redact_personal_numbers(text: str) -> str:
    """Replace every plausible identity number with a marker, for log lines."""
    if not _SIX_DIGITS.search(text):
        return text
    return _CANDIDATE.sub(
        lambda match: "[personnummer]" if _is_personal_number(match) else match.group(0), text
    )
