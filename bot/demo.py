"""Demo data: two units, staff in every role, ten active stays at different points of their life
(and, from ``bot.demo_history``, fifty closed ones behind the report's figures).

Loaded through the product's own repositories, relative to today, so the demo always has a
follow-up due soon, one overdue, home-goings coming up and readiness gaps.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.demo_history import seed_history
from dialogs.staff_import import StaffRow, import_staff
from notifications.timing import at_local, is_sending_time, local_date, next_sending_start
from storage.domain.clock import SystemClock, local_today
from storage.domain.readiness import checklist_for
from storage.models import DecisionKind, ReadinessStatus, Stay, StayStatus
from storage.repos.staff import StaffRepository
from storage.repos.stays import StayRepository
from storage.repos.units import UnitRepository

UNITS = (("ÄNG", "Ängens korttidsenhet"), ("BJÖ", "Björkens korttidsenhet"))

# The Agents Playground's users are these people (see scripts/demo.sh and demo/playground.yml).
STAFF = (
    ("handlaggare@demo.korttid.se", "Hanna Handläggare", ("handlaggare",), ("ÄNG", "BJÖ")),
    ("sjukskoterska@demo.korttid.se", "Sara Sjuksköterska", ("sjukskoterska",), ("ÄNG",)),
    ("rehab@demo.korttid.se", "Rami Fysioterapeut", ("rehab",), ("ÄNG",)),
    ("omsorg@demo.korttid.se", "Olle Undersköterska", ("omsorgspersonal",), ("ÄNG",)),
    ("koordinator@demo.korttid.se", "Karin Koordinator", ("koordinator",), ("ÄNG", "BJÖ")),
    ("boende@demo.korttid.se", "Bo Boendesamordnare", ("boendesamordnare",), ("ÄNG", "BJÖ")),
    ("chef@demo.korttid.se", "Cecilia Enhetschef", ("enhetschef",), ("ÄNG", "BJÖ")),
    ("admin@demo.korttid.se", "Ali Administratör", ("admin",), ("ÄNG", "BJÖ")),
    ("handlaggare2@demo.korttid.se", "Henrik Handläggare", ("handlaggare",), ("BJÖ",)),
)


@dataclass(frozen=True)
class DemoStay:
    unit: str
    number: int
    room: str
    arrived_days_ago: int
    goal: str
    home_going_in_days: int | None = None
    home_going_time: time | None = None
    held_meeting: bool = False
    ready_kinds: tuple[str, ...] = ()
    closed_days_ago: int | None = None
    acute: bool = False


STAYS = (
    DemoStay("ÄNG", 31, "3", 1, "Återhämtning efter höftfraktur, gå med rollator", acute=True),
    DemoStay("ÄNG", 32, "5", 5, "Träna förflyttning säng–stol inför hemgång"),
    DemoStay("ÄNG", 33, "7", 6, "Stabilisera läkemedel och nutrition"),
    DemoStay("ÄNG", 34, "8", 9, "Bedöma behov av hemtjänst efter stroke"),
    DemoStay(
        "ÄNG", 35, "9", 8, "Trygg hemgång med trygghetslarm",
        home_going_in_days=2, home_going_time=time(9, 30), held_meeting=True,
        ready_kinds=("care_plan", "home_help", "alarm"),
    ),
    DemoStay(
        "ÄNG", 36, "11", 10, "Hemgång med hjälpmedel på plats",
        home_going_in_days=1, home_going_time=time(13, 0), held_meeting=True,
        ready_kinds=("assistive_devices", "care_plan", "home_help", "alarm", "keys", "transport"),
    ),
    DemoStay("ÄNG", 37, "12", 16, "Utreda behov av särskilt boende", held_meeting=True),
    DemoStay("ÄNG", 28, "4", 20, "Rehabilitering efter lunginflammation", closed_days_ago=6),
    DemoStay("BJÖ", 11, "2", 3, "Avlastning för närstående"),
    DemoStay("BJÖ", 12, "6", 7, "Utvärdera boendesituation"),
    DemoStay(
        "BJÖ", 13, "1", 9, "Hemgång efter sårläkning",
        home_going_in_days=3, home_going_time=time(10, 0), held_meeting=True,
    ),
    DemoStay("BJÖ", 9, "3", 25, "Återhämtning efter operation", closed_days_ago=12),
)  # fmt: skip


DEMO_MORNING = time(10, 0)


def demo_clock_start(now: datetime) -> datetime | None:
    """None during Korttid's sending hours (07-18 on working days); else 10:00 in Stockholm on
    the day it may speak next, so that a demo in the evening or at a weekend shows every message."""
    if is_sending_time(now):
        return None
    return at_local(local_date(next_sending_start(now)), DEMO_MORNING)


async def seed_demo(session: AsyncSession, today: date | None = None) -> str:
    """Idempotent: staff are upserted; stays are created once per case code."""
    today = today or local_today(SystemClock())  # the bot's today, in Stockholm
    units = UnitRepository(session)
    for code, name in UNITS:
        unit, _ = await units.get_or_create(code, name)
        unit.name = name
        session.add(unit)
    await import_staff(
        session,
        [
            StaffRow(i + 2, email, name, roles, unit_codes)
            for i, (email, name, roles, unit_codes) in enumerate(STAFF)
        ],
    )
    created = 0
    for demo in STAYS:
        created += await _seed_stay(session, demo, today)
    created += await seed_history(session, today)  # issue 6: a past for the digest's trend
    return f"demo data: {len(UNITS)} units, {len(STAFF)} staff, {created} new stays"


async def _seed_stay(session: AsyncSession, demo: DemoStay, today: date) -> int:
    unit = await UnitRepository(session).by_code(demo.unit)
    assert unit is not None and unit.id is not None
    code = f"{demo.unit}-{demo.number:03d}"
    stays = StayRepository(session)
    if await stays.case_code_taken(unit.id, code):
        return 0
    staff = StaffRepository(session)
    handlaggare = await staff.by_email(
        "handlaggare@demo.korttid.se" if demo.unit == "ÄNG" else "handlaggare2@demo.korttid.se"
    )
    nurse = await staff.by_email("sjukskoterska@demo.korttid.se")
    arrival = today - timedelta(days=demo.arrived_days_ago)
    stay = Stay(
        unit_id=unit.id,
        case_code=code,
        room=demo.room,
        arrival_date=arrival,
        decision_end_date=arrival + timedelta(days=21),
        goal=demo.goal,
        acute=demo.acute,
        phone_handover_done=True if demo.acute else None,
        handlaggare_id=handlaggare.id if handlaggare else None,
        nurse_id=nurse.id if nurse else None,
        followup_deadline=arrival,  # replaced by the repository
    )
    await stays.add(stay)
    assert stay.id is not None
    if demo.held_meeting:
        stay.followup_held_on = min(stay.followup_deadline, today)
    if demo.home_going_in_days is not None:
        stay.decision_kind = DecisionKind.HOME_GOING
        stay.home_going_date = today + timedelta(days=demo.home_going_in_days)
        stay.home_going_time = demo.home_going_time
        stay.transport = "fardtjanst"
        stay.home_help_meets = True
        stay.provider_name = "Hemtjänst Centrum"
        stay.provider_contact = "010-123 45 67"
        stay.sip_wanted = False
        await stays.ensure_items(stay.id, checklist_for(sip_wanted=False))
        for item in await stays.items(stay.id):
            if item.kind in demo.ready_kinds:
                item.status = ReadinessStatus.READY
                session.add(item)
    if demo.closed_days_ago is not None:
        stay.status = StayStatus.CLOSED
        stay.close_reason = "went_home"
        stay.departure_date = today - timedelta(days=demo.closed_days_ago)
        stay.followup_held_on = stay.followup_deadline
    await stays.save(stay)
    return 1


# --- the Agents Playground's view of the demo -------------------------------------------------

PLAYGROUND_TENANT = "11111111-2222-3333-4444-555555555555"
PLAYGROUND_BOT = {"id": "28:korttid-demo-bot", "name": "Korttid"}
# Who the playground's five other users are; the playground requires exactly five.
_PLAYGROUND_ROLES = (
    "handlaggare", "sjukskoterska", "rehab", "koordinator", "enhetschef", "boendesamordnare",
)  # fmt: skip


def demo_person(role: str) -> tuple[str, str]:
    """(email, name) of the demo staff member who holds ``role``."""
    for email, name, roles, _units in STAFF:
        if role in roles:
            return email, name
    raise KeyError(role)


def _playground_user(role: str) -> dict[str, str]:
    email, name = demo_person(role)
    given, _, surname = name.partition(" ")
    number = _PLAYGROUND_ROLES.index(role) + 1
    return {
        "id": f"29:demo-{role}",
        "name": name,
        "userPrincipleName": email,  # sic: the playground's own spelling
        "aadObjectId": f"00000000-0000-0000-0000-{number:012d}",
        "givenName": given,
        "surname": surname,
        "email": email,
    }


def playground_config(current_role: str) -> dict[str, object]:
    """The playground's mock tenant: the current user and five colleagues, one team with a channel.

    The playground reads YAML; JSON is valid YAML, so no YAML library is needed.
    """
    others = [role for role in _PLAYGROUND_ROLES if role != current_role][:5]
    return {
        "version": "0.1.1",
        "tenantId": PLAYGROUND_TENANT,
        "bot": PLAYGROUND_BOT,
        "currentUser": _playground_user(current_role),
        "users": [_playground_user(role) for role in others],
        "personalChat": {"id": f"a:korttid-personal-{current_role}"},
        "groupChat": {"id": "19:korttid-demo-group@thread.v2", "name": "Korttid gruppchatt"},
        "team": {
            "id": "19:korttid-demo-team@thread.tacv2",
            "name": "Korttid Ängen",
            "aadGroupId": "bbbbbbbb-0000-0000-0000-000000000001",
            "channels": [{"id": "19:korttid-demo-kanal@thread.tacv2", "name": "Korttid ÄNG"}],
        },
    }
