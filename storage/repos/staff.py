"""Staff, their roles and unit memberships."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, delete
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import Select

from storage.models import Staff, StaffRole, StaffUnit, Unit, utcnow
from storage.repos.keys import is_possible_id


@dataclass(frozen=True, slots=True)
class StaffProfile:
    """A staff member as a turn sees them: who, which roles, which units."""

    id: int
    email: str
    name: str
    roles: frozenset[str]
    unit_ids: frozenset[int]

    def has_role(self, *roles: str) -> bool:
        return any(role in self.roles for role in roles)


# Every turn's first read: built once, so a turn pays for the statement, not for building it.
_PROFILE_BY_AAD: Select[*tuple[Any, ...]] = (
    Select(
        col(Staff.id), col(Staff.email), col(Staff.name), col(StaffRole.role),
        col(StaffUnit.unit_id),
    )
    .outerjoin(StaffRole, col(StaffRole.staff_id) == Staff.id)
    .outerjoin(StaffUnit, col(StaffUnit.staff_id) == Staff.id)
    .where(col(Staff.aad_object_id) == bindparam("aad_object_id"), col(Staff.active))
)  # fmt: skip


class StaffRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_aad_object_id(self, aad_object_id: str) -> Staff | None:
        result = await self.session.exec(
            select(Staff).where(Staff.aad_object_id == aad_object_id, col(Staff.active))
        )
        return result.first()

    async def profile_by_aad_object_id(self, aad_object_id: str) -> StaffProfile | None:
        """The active staff member with this Teams identity, as a profile, in one query.

        Every turn asks this; one statement with the roles and units joined replaces three
        (the member, then its roles, then its units). It is built once (``_PROFILE_BY_AAD``).
        """
        params = {"aad_object_id": aad_object_id}
        rows: Sequence[Any] = (await self.session.exec(_PROFILE_BY_AAD, params=params)).all()
        if not rows or rows[0][0] is None:
            return None
        staff_id, email, name = rows[0][0], rows[0][1], rows[0][2]
        return StaffProfile(
            id=staff_id,
            email=email,
            name=name,
            roles=frozenset(row[3] for row in rows if row[3] is not None),
            unit_ids=frozenset(row[4] for row in rows if row[4] is not None),
        )

    async def by_email(self, email: str) -> Staff | None:
        result = await self.session.exec(select(Staff).where(Staff.email == email.strip().lower()))
        return result.first()

    async def by_id(self, staff_id: int) -> Staff | None:
        if not is_possible_id(staff_id):
            return None
        return await self.session.get(Staff, staff_id)

    async def profile(self, staff: Staff) -> StaffProfile:
        assert staff.id is not None
        roles = await self.session.exec(
            select(StaffRole.role).where(StaffRole.staff_id == staff.id)
        )
        units = await self.session.exec(
            select(StaffUnit.unit_id).where(StaffUnit.staff_id == staff.id)
        )
        return StaffProfile(
            id=staff.id,
            email=staff.email,
            name=staff.name,
            roles=frozenset(roles.all()),
            unit_ids=frozenset(units.all()),
        )

    async def link_teams_identity(
        self, staff: Staff, aad_object_id: str | None, teams_user_id: str | None
    ) -> None:
        changed = False
        if aad_object_id and staff.aad_object_id != aad_object_id:
            staff.aad_object_id = aad_object_id
            changed = True
        if teams_user_id and staff.teams_user_id != teams_user_id:
            staff.teams_user_id = teams_user_id
            changed = True
        if changed:
            staff.updated_at = utcnow()
            self.session.add(staff)
            await self.session.flush()

    async def upsert(
        self, email: str, name: str, roles: Iterable[str], unit_ids: Iterable[int]
    ) -> tuple[Staff, bool]:
        """Create or update someone; roles and units are replaced. Returns (staff, created)."""
        email = email.strip().lower()
        staff = await self.by_email(email)
        created = staff is None
        if staff is None:
            staff = Staff(email=email, name=name)
        staff.name = name
        staff.active = True
        staff.updated_at = utcnow()
        self.session.add(staff)
        await self.session.flush()
        assert staff.id is not None
        await self._replace_links(staff.id, roles, unit_ids)
        return staff, created

    async def _replace_links(
        self, staff_id: int, roles: Iterable[str], unit_ids: Iterable[int]
    ) -> None:
        await self.session.exec(delete(StaffRole).where(col(StaffRole.staff_id) == staff_id))
        await self.session.exec(delete(StaffUnit).where(col(StaffUnit.staff_id) == staff_id))
        self.session.add_all(StaffRole(staff_id=staff_id, role=role) for role in sorted(set(roles)))
        self.session.add_all(
            StaffUnit(staff_id=staff_id, unit_id=unit_id) for unit_id in sorted(set(unit_ids))
        )
        await self.session.flush()

    async def deactivate(self, email: str) -> Staff | None:
        """Remove someone from the registry; the row stays so the audit log keeps its actor."""
        staff = await self.by_email(email)
        if staff is None or staff.id is None:
            return None
        staff.active = False
        staff.aad_object_id = None
        staff.updated_at = utcnow()
        self.session.add(staff)
        await self._replace_links(staff.id, (), ())
        return staff

    async def list_active(self) -> Sequence[tuple[Staff, list[str], list[str]]]:
        """Every active staff member with role ids and unit codes, ordered by email."""
        staff_rows = (
            await self.session.exec(select(Staff).where(col(Staff.active)).order_by(Staff.email))
        ).all()
        roles = (await self.session.exec(select(StaffRole.staff_id, StaffRole.role))).all()
        units = (
            await self.session.exec(
                select(StaffUnit.staff_id, Unit.code).join(Unit, col(Unit.id) == StaffUnit.unit_id)
            )
        ).all()
        roles_by: dict[int, list[str]] = {}
        for staff_id, role in roles:
            roles_by.setdefault(staff_id, []).append(role)
        units_by: dict[int, list[str]] = {}
        for staff_id, code in units:
            units_by.setdefault(staff_id, []).append(code)
        return [
            (s, sorted(roles_by.get(s.id or 0, [])), sorted(units_by.get(s.id or 0, [])))
            for s in staff_rows
        ]

    async def in_unit_with_role(self, unit_id: int, role: str) -> Sequence[Staff]:
        """Active staff of a unit holding a role, e.g. the unit's coordinators."""
        result = await self.session.exec(
            select(Staff)
            .join(StaffUnit, col(StaffUnit.staff_id) == Staff.id)
            .join(StaffRole, col(StaffRole.staff_id) == Staff.id)
            .where(StaffUnit.unit_id == unit_id, StaffRole.role == role, col(Staff.active))
            .order_by(Staff.email)
        )
        return result.all()
