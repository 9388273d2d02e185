"""Typed values in Swedish: dates, times and yes or no, as staff write them.

``parse_date(text, today)`` is the one Swedish date parser every dialog and form uses;
``parse_future_date(text, today)`` adds "not before today". Each parser raises ``InvalidInput``
with a catalogue key and values for the Swedish message (what was understood, what to type).

Accepted dates (``today`` is the Stockholm date of the turn):
- ``i dag``/``idag``, ``i morgon``, ``i övermorgon``, ``i går``/``igår``, ``i förrgår``;
- ``om 3 dagar``, ``om två veckor``, ``för 2 dagar sedan``;
- ``fredag``/``på fredag`` (the next one after today), ``i fredags`` (the last one before today),
  ``nästa fredag``/``fredag nästa vecka`` (that weekday in next week), ``fredag denna vecka``;
- ``v. 50 tisdag``, ``tisdag vecka 50``, ``v50 tis`` (ISO week of this year, or next year's when
  it lies more than two months back);
- ``2026-12-03``, ``3/12``, ``3/12/26``, ``3 dec``, ``den 3:e december 2026``;
- ``julafton``, ``juldagen``, ``annandag jul``, ``nyårsafton``, ``nyårsdagen``, ``trettondagen``,
  ``nationaldagen``.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from typing import Any

from notifications.formatting import SWEDISH_MONTHS, format_date

MONTHS = {
    "jan": 1, "januari": 1, "feb": 2, "februari": 2, "mar": 3, "mars": 3, "apr": 4, "april": 4,
    "maj": 5, "jun": 6, "juni": 6, "jul": 7, "juli": 7, "aug": 8, "augusti": 8,
    "sep": 9, "sept": 9, "september": 9, "okt": 10, "oktober": 10, "nov": 11, "november": 11,
    "dec": 12, "december": 12,
}  # fmt: skip
WEEKDAYS = {
    "måndag": 0, "tisdag": 1, "onsdag": 2, "torsdag": 3, "fredag": 4, "lördag": 5, "söndag": 6,
}  # fmt: skip
_WEEKDAY_SHORT = {"mån": 0, "tis": 1, "ons": 2, "tor": 3, "tors": 3, "fre": 4, "lör": 5, "sön": 6}
RELATIVE = {
    "idag": 0, "i dag": 0, "imorgon": 1, "i morgon": 1, "övermorgon": 2, "i övermorgon": 2,
    "igår": -1, "i går": -1, "förrgår": -2, "i förrgår": -2, "iförrgår": -2,
}  # fmt: skip
NUMBER_WORDS = {
    "en": 1, "ett": 1, "två": 2, "tre": 3, "fyra": 4, "fem": 5, "sex": 6, "sju": 7, "åtta": 8,
    "nio": 9, "tio": 10, "elva": 11, "tolv": 12, "fjorton": 14,
}  # fmt: skip
_UNIT_DAYS = {"dag": 1, "dagar": 1, "vecka": 7, "veckor": 7}
# Fixed-date holidays staff name instead of a date: (month, day).
HOLIDAYS = {
    "julafton": (12, 24), "juldagen": (12, 25), "annandag jul": (12, 26),
    "annandagen": (12, 26), "nyårsafton": (12, 31), "nyårsdagen": (1, 1),
    "trettondagen": (1, 6), "trettondag jul": (1, 6), "trettondagsafton": (1, 5),
    "nationaldagen": (6, 6),
}  # fmt: skip

_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_NUMERIC = re.compile(r"^(\d{1,2})/(\d{1,2})(?:[/-](\d{2}|\d{4}))?$")
_NAMED = re.compile(r"^(\d{1,2})(?::?e|:a)?\s*([a-zåäö]+)\.?(?:\s+(\d{4}))?$")
_OFFSET = re.compile(r"^om\s+(\d{1,3}|[a-zåäö]+)\s+(dagar|dag|veckor|vecka)$")
_AGO = re.compile(r"^för\s+(\d{1,3}|[a-zåäö]+)\s+(dagar|dag|veckor|vecka)\s+sedan$")
_WEEK = re.compile(r"^v(?:ecka|\.)?\s*(\d{1,2})$")
# 9, 9.30, 09:30, kl. 9.30, and 0930 (four digits without a separator)
_TIME = re.compile(r"^(?:kl\.?\s*)?(?:(\d{2})(\d{2})|(\d{1,2})(?:[:.](\d{2}))?)$")
_FILLERS = ("den ", "på ", "nu på ")
_LAST_WEEKDAY = re.compile(r"^i\s+([a-zåäö]+)s$")

# A day/month without a year that lies further back than this means next year's date;
# one that lies further ahead than a year minus this, last year's.
_ROLL_OVER_DAYS = 60


YES_WORDS = frozenset({"ja", "j", "japp", "jo", "yes"})
NO_WORDS = frozenset({"nej", "n", "nä", "no"})


def yes_or_no(
    text: str, *, yes: frozenset[str] = frozenset(), no: frozenset[str] = frozenset()
) -> bool | None:
    """True for yes, False for no, None for neither: the common words and the question's own
    (``yes={"avsluta"}``); case, extra spaces and a final "." or "!" do not matter."""
    cleaned = " ".join(text.lower().rstrip(".! ").split())
    if cleaned in YES_WORDS or cleaned in yes:
        return True
    if cleaned in NO_WORDS or cleaned in no:
        return False
    return None


@dataclass
class InvalidInput(ValueError):
    key: str
    values: dict[str, Any] = field(default_factory=dict)


def parse_date(text: str, today: date) -> date:
    """A date as Swedish staff type it, relative to ``today``; past dates are allowed."""
    cleaned = _clean(text)
    if cleaned in RELATIVE:
        return today + timedelta(days=RELATIVE[cleaned])
    if cleaned in HOLIDAYS:
        month, day = HOLIDAYS[cleaned]
        return _with_year(day, month, None, today)
    found = _from_patterns(cleaned, today)
    if found is None:
        raise _not_understood(text, cleaned)
    return found


def parse_future_date(text: str, today: date) -> date:
    """A date that is today or later."""
    return check_not_past(parse_date(text, today), today)


def check_not_past(value: date, today: date) -> date:
    if value < today:
        values = {"date": format_date(value), "today": format_date(today)}
        raise InvalidInput("date_in_past", values)
    return value


def _clean(text: str) -> str:
    cleaned = " ".join(text.strip().lower().rstrip(".!").replace(",", " ").split())
    for filler in _FILLERS:
        if cleaned.startswith(filler):
            cleaned = cleaned[len(filler) :]
    return cleaned


def _from_patterns(cleaned: str, today: date) -> date | None:
    for reader in (_absolute, _relative, _weekday_based):
        found = reader(cleaned, today)
        if found is not None:
            return found
    return None


def _absolute(cleaned: str, today: date) -> date | None:
    if match := _ISO.match(cleaned):
        return _checked(int(match[1]), int(match[2]), int(match[3]), cleaned)
    if match := _NUMERIC.match(cleaned):
        return _with_year(int(match[1]), int(match[2]), match[3], today, cleaned)
    if (match := _NAMED.match(cleaned)) and match[2] in MONTHS:
        return _with_year(int(match[1]), MONTHS[match[2]], match[3], today, cleaned)
    return None


def _relative(cleaned: str, today: date) -> date | None:
    if match := _OFFSET.match(cleaned):
        return today + timedelta(days=_count(match[1], cleaned) * _UNIT_DAYS[match[2]])
    if match := _AGO.match(cleaned):
        return today - timedelta(days=_count(match[1], cleaned) * _UNIT_DAYS[match[2]])
    return None


def _weekday_based(cleaned: str, today: date) -> date | None:
    if (match := _LAST_WEEKDAY.match(cleaned)) and match[1] in WEEKDAYS:
        back = (today.weekday() - WEEKDAYS[match[1]]) % 7 or 7
        return today - timedelta(days=back)
    words = cleaned.split()
    weekdays = [_weekday(word) for word in words]
    found = [day for day in weekdays if day is not None]
    rest = [word for word, day in zip(words, weekdays, strict=True) if day is None]
    if len(found) != 1 or len(rest) > 2:
        return None
    return _weekday_with_context(found[0], " ".join(rest), today)


def _weekday_with_context(weekday: int, rest: str, today: date) -> date | None:
    monday = today - timedelta(days=today.weekday())
    if rest == "":
        return today + timedelta(days=(weekday - today.weekday()) % 7 or 7)
    if rest in {"nästa", "nästa vecka", "i nästa vecka", "kommande"}:
        return monday + timedelta(days=7 + weekday)
    if rest in {"denna vecka", "den här veckan", "i veckan", "veckan"}:
        return monday + timedelta(days=weekday)
    if rest in {"förra", "förra veckan"}:
        return monday + timedelta(days=weekday - 7)
    if match := _WEEK.match(rest.replace("v ", "v")):
        return _week_day(int(match[1]), weekday, today, rest)
    return None


def _weekday(word: str) -> int | None:
    word = word.rstrip(".")
    if word in WEEKDAYS:
        return WEEKDAYS[word]
    if word.endswith("en") and word[:-2] in WEEKDAYS:  # "måndagen"
        return WEEKDAYS[word[:-2]]
    return _WEEKDAY_SHORT.get(word)


def _week_day(week: int, weekday: int, today: date, text: str) -> date:
    year = today.year + _year_shift(date.fromisocalendar(today.year, min(week, 52), 1), today)
    try:
        return date.fromisocalendar(year, week, weekday + 1)
    except ValueError:
        raise InvalidInput("date_week_invalid", {"week": week, "year": year}) from None


def _year_shift(candidate: date, today: date) -> int:
    """Without a year, a date means the one from two months back to ten months ahead."""
    if (today - candidate).days > _ROLL_OVER_DAYS:
        return 1
    if (candidate - today).days > 365 - _ROLL_OVER_DAYS:
        return -1
    return 0


def _count(word: str, text: str) -> int:
    if word.isdigit():
        return int(word)
    if word in NUMBER_WORDS:
        return NUMBER_WORDS[word]
    raise InvalidInput("date_invalid", {"text": text[:40]})


def _with_year(day: int, month: int, year: str | None, today: date, text: str = "") -> date:
    if year:
        return _checked(int(year) + (2000 if len(year) == 2 else 0), month, day, text)
    candidate = _checked(today.year, month, day, text, leap_year_ok=True)
    shift = _year_shift(candidate, today)
    if shift:
        candidate = _checked(candidate.year + shift, month, day, text, leap_year_ok=True)
    return candidate


def _checked(year: int, month: int, day: int, text: str, *, leap_year_ok: bool = False) -> date:
    if not 1 <= month <= 12:
        raise InvalidInput("date_month_invalid", {"text": text[:40], "month": month})
    try:
        return date(year, month, day)
    except ValueError:
        if leap_year_ok and month == 2 and day == 29:  # 29 feb without a year: the next leap year
            return _checked(year + (4 - year % 4), month, day, text)
        raise InvalidInput(
            "date_day_invalid", {"text": text[:40], "day": day, "month": SWEDISH_MONTHS[month - 1]}
        ) from None


def _not_understood(text: str, cleaned: str) -> InvalidInput:
    """Name the word that looks like a misspelled weekday or month, when there is one."""
    names = [*WEEKDAYS, *(name for name in MONTHS if len(name) > 3)]
    for word in cleaned.split():
        if word in names or word in _WEEKDAY_SHORT or len(word) < 4:
            continue
        guess = difflib.get_close_matches(word, names, n=1, cutoff=0.75)
        if guess:
            return InvalidInput("date_word_unknown", {"word": word[:20], "guess": guess[0]})
    return InvalidInput("date_invalid", {"text": text.strip()[:40]})


def parse_time(text: str) -> time:
    match = _TIME.match(text.strip().lower())
    if match:
        hour, minute = int(match[1] or match[3]), int(match[2] or match[4] or 0)
        if hour <= 23 and minute <= 59:
            return time(hour, minute)
    raise InvalidInput("time_invalid", {"text": text.strip()[:20]})
