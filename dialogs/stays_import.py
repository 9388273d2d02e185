"""Ongoing stays from CSV, for a unit that starts using Korttid.

Columns ``unit,case_code,room,arrival_date,decision_end_date,goal,handlaggare_email,nurse_email,
acute``. Every row is checked (format first, then against the database) before the caller commits:
a bad row is reported with its line number and nothing from the file is imported.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from sqlmodel.ext.asyncio.session import AsyncSession

from dialogs import stay_service as service
from dialogs.parsing import InvalidInput
from storage.domain.clock import STOCKHOLM
from storage.models import Role
from storage.repos.staff import StaffRepository
from storage.repos.units import UnitRepository

REQUIRED_COLUMNS = (
    "unit", "case_code", "room", "arrival_date", "decision_end_date", "goal",
    "handlaggare_email", "nurse_email", "acute",
)  # fmt: skip
# The operator's messages are English like the rest of the CLI; an identity number is never echoed.
PROBLEMS = {
    "stay_code_invalid": "case code {text!r} must be letters and digits, like ÄNG-042",
    "personal_number_refused": "contains a personal identity number (refused, not shown)",
    "stay_text_required": "goal is empty",
    "stay_room_invalid": "room {text!r} must be a number, like 5 or 12 B",
    "stay_text_too_long": "text is {length} characters, at most {max} allowed",
    "stay_code_taken": "case code {code} already exists in this unit",
    "stay_arrival_in_future": "arrival_date is in the future",
    "stay_arrival_too_old": "arrival_date is more than a year ago",
    "stay_end_before_arrival": "decision_end_date is before arrival_date",
    "stay_end_in_past": "decision_end_date has passed; import ongoing stays only",
}
TRUE_WORDS = frozenset({"ja", "j", "yes", "y", "true", "1", "x"})
FALSE_WORDS = frozenset({"nej", "n", "no", "false", "0", ""})


class StayImportError(ValueError):
    """A file that cannot be imported; the message names the line."""


@dataclass(frozen=True, slots=True)
class StayRow:
    line: int
    unit: str
    case_code: str
    room: str | None
    arrival_date: date
    decision_end_date: date
    goal: str
    handlaggare_email: str
    nurse_email: str | None
    acute: bool


def problem(invalid: InvalidInput) -> str:
    template = PROBLEMS.get(invalid.key, invalid.key)
    try:
        return template.format(**invalid.values)
    except (KeyError, IndexError):
        return template


def read_stays_csv(path: Path) -> list[StayRow]:
    """Parse and check the format of every row before anything is written."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise StayImportError(f"missing columns: {', '.join(missing)}")
        rows = [_parse_row(reader.line_num, row) for row in reader]
    _no_duplicates(rows)
    return rows


def _parse_row(line: int, row: dict[str, str]) -> StayRow:
    def value(column: str) -> str:
        return (row.get(column) or "").strip()

    try:
        code = service.normalize_case_code(value("case_code"))
        goal = service.check_free_text(value("goal"), service.GOAL_MAX, required=True) or ""
        room = service.check_room(value("room"))
    except InvalidInput as invalid:
        raise StayImportError(f"line {line}: {problem(invalid)}") from None
    handlaggare = value("handlaggare_email").lower()
    if "@" not in handlaggare:
        raise StayImportError(f"line {line}: handlaggare_email {handlaggare!r} is not an email")
    nurse = value("nurse_email").lower() or None
    if nurse is not None and "@" not in nurse:
        raise StayImportError(f"line {line}: nurse_email {nurse!r} is not an email")
    return StayRow(
        line=line,
        unit=value("unit").upper(),
        case_code=code,
        room=room,
        arrival_date=_date(line, "arrival_date", value("arrival_date")),
        decision_end_date=_date(line, "decision_end_date", value("decision_end_date")),
        goal=goal,
        handlaggare_email=handlaggare,
        nurse_email=nurse,
        acute=_flag(line, value("acute")),
    )


def _date(line: int, column: str, text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise StayImportError(
            f"line {line}: {column} {text!r} is not a date like 2026-11-23"
        ) from None


def _flag(line: int, text: str) -> bool:
    cleaned = text.lower()
    if cleaned in TRUE_WORDS:
        return True
    if cleaned in FALSE_WORDS:
        return False
    raise StayImportError(f"line {line}: acute {text!r} must be ja or nej")


def _no_duplicates(rows: list[StayRow]) -> None:
    seen: dict[tuple[str, str], int] = {}
    for row in rows:
        key = (row.unit, row.case_code)
        if key in seen:
            raise StayImportError(
                f"line {row.line}: case code {row.case_code} repeats line {seen[key]}"
            )
        seen[key] = row.line


async def import_stays(session: AsyncSession, rows: list[StayRow], now: datetime) -> int:
    """Register every row through the same rules as ``ny vistelse``; the caller commits once.

    Raises ``StayImportError`` naming the line of the first row that does not fit; the caller's
    transaction is then rolled back, so nothing of the file remains.
    """
    today = now.astimezone(STOCKHOLM).date()
    for row in rows:
        if row.arrival_date > today:  # the file lists ongoing stays; planned ones are registered
            raise StayImportError(f"line {row.line}: {PROBLEMS['stay_arrival_in_future']}")
        new = await _resolve(session, row)
        try:
            await service.register_stay(session, None, new, now)
        except InvalidInput as invalid:
            raise StayImportError(f"line {row.line}: {problem(invalid)}") from None
    return len(rows)


async def _resolve(session: AsyncSession, row: StayRow) -> service.NewStay:
    unit = await UnitRepository(session).by_code(row.unit)
    if unit is None or unit.id is None:
        raise StayImportError(f"line {row.line}: unit {row.unit!r} does not exist")
    handlaggare = await _member(session, row, row.handlaggare_email, unit.id, Role.HANDLAGGARE)
    nurse = (
        await _member(session, row, row.nurse_email, unit.id, Role.SJUKSKOTERSKA)
        if row.nurse_email
        else None
    )
    return service.NewStay(
        unit_id=unit.id,
        case_code=row.case_code,
        room=row.room,
        arrival_date=row.arrival_date,
        decision_end_date=row.decision_end_date,
        goal=row.goal,
        acute=row.acute,
        phone_handover_done=None,
        handlaggare_id=handlaggare,
        nurse_id=nurse,
    )


async def _member(session: AsyncSession, row: StayRow, email: str, unit_id: int, role: str) -> int:
    """The id of an active staff member of the unit who holds the role."""
    members = await StaffRepository(session).in_unit_with_role(unit_id, role)
    found = next((m.id for m in members if m.email == email), None)
    if found is None:
        raise StayImportError(
            f"line {row.line}: {email} is not an active {role} of unit {row.unit}"
        )
    return found
