"""``korttid audit --stay KOD``: who did what to a stay, and when, from the audit log.

Reading the trail is itself recorded on the stay, so a later reader sees that someone looked.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import AuditEvent, Stay
from storage.repos.audit import AuditRepository
from storage.repos.retention import AuditTrailRepository

SYSTEM_ACTOR = "(system)"


class StayNotFound(LookupError):
    """No stay has the code (in the unit, when one was named)."""


class AmbiguousStay(LookupError):
    """Several units have a stay with the code; the message lists them."""


@dataclass(frozen=True, slots=True)
class TrailLine:
    at: str
    actor: str
    action: str
    detail: str

    def __str__(self) -> str:
        return "\t".join(part for part in (self.at, self.actor, self.action, self.detail) if part)


async def audit_trail(
    session: AsyncSession, case_code: str, unit_code: str | None, timezone: str
) -> tuple[Stay, list[TrailLine]]:
    """The stay's events oldest first, in local time; raises when the code does not name one."""
    repo = AuditTrailRepository(session)
    stay = await _one_stay(repo, case_code, unit_code)
    assert stay.id is not None
    zone = ZoneInfo(timezone)
    lines = [_line(event, email, zone) for event, email in await repo.events_for_stay(stay.id)]
    await AuditRepository(session).record(
        "audit.read", None, stay_id=stay.id, unit_id=stay.unit_id, detail={"via": "cli"}
    )
    return stay, lines


async def _one_stay(repo: AuditTrailRepository, case_code: str, unit_code: str | None) -> Stay:
    stays: Sequence[Stay] = await repo.stays_with_code(case_code, unit_code)
    if not stays:
        where = f" in unit {unit_code.upper()}" if unit_code else ""
        raise StayNotFound(f"no stay {case_code.upper()}{where}")
    if len(stays) > 1:
        codes = await repo.unit_codes(stay.unit_id for stay in stays)
        units = ", ".join(sorted(codes.values()))
        raise AmbiguousStay(f"{case_code.upper()} exists in units {units}; add --unit")
    return stays[0]


def _line(event: AuditEvent, email: str | None, zone: ZoneInfo) -> TrailLine:
    detail = json.dumps(event.detail, ensure_ascii=False, sort_keys=True) if event.detail else ""
    at = event.at if event.at.tzinfo else event.at.replace(tzinfo=UTC)  # SQLite drops the zone
    return TrailLine(
        at=at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S"),
        actor=email or SYSTEM_ACTOR,
        action=event.action,
        detail=detail,
    )
