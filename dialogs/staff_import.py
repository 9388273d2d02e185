"""Staff registry import from CSV (columns ``email,name,roles,units``)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Role
from storage.repos.audit import AuditRepository
from storage.repos.staff import StaffRepository
from storage.repos.units import UnitRepository

REQUIRED_COLUMNS = ("email", "name", "roles", "units")
VALID_ROLES = frozenset(role.value for role in Role)


class StaffImportError(ValueError):
    """A file that cannot be imported; the message names the line."""


@dataclass(frozen=True, slots=True)
class StaffRow:
    line: int
    email: str
    name: str
    roles: tuple[str, ...]
    units: tuple[str, ...]


def read_staff_csv(path: Path) -> list[StaffRow]:
    """Parse and validate every row before anything is written."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise StaffImportError(f"missing columns: {', '.join(missing)}")
        return [_parse_row(reader.line_num, row) for row in reader]


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (value or "").split(";") if part.strip())


def _parse_row(line: int, row: dict[str, str]) -> StaffRow:
    email = (row.get("email") or "").strip().lower()
    if "@" not in email:
        raise StaffImportError(f"line {line}: {email!r} is not an email address")
    name = (row.get("name") or "").strip()
    if not name:
        raise StaffImportError(f"line {line}: name is empty")
    roles = tuple(r.lower() for r in _split(row.get("roles")))
    unknown = [r for r in roles if r not in VALID_ROLES]
    if unknown or not roles:
        raise StaffImportError(
            f"line {line}: unknown role(s) {unknown or '(none)'}; "
            f"use {', '.join(sorted(VALID_ROLES))}"
        )
    units = tuple(u.upper() for u in _split(row.get("units")))
    return StaffRow(line, email, name, roles, units)


async def import_staff(session: AsyncSession, rows: list[StaffRow]) -> tuple[int, int]:
    """Create or update each row; returns (created, updated). The caller commits once."""
    staff, units, audit = (
        StaffRepository(session),
        UnitRepository(session),
        AuditRepository(session),
    )
    created = updated = 0
    for row in rows:
        unit_ids = []
        for code in row.units:
            unit, _ = await units.get_or_create(code)
            assert unit.id is not None
            unit_ids.append(unit.id)
        member, is_new = await staff.upsert(row.email, row.name, row.roles, unit_ids)
        created += is_new
        updated += not is_new
        await audit.record("staff.import", None, detail={"staff_id": member.id})
    return created, updated
