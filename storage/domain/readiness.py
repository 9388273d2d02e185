"""The discharge-readiness checklist (DOMAIN.md, step 5): items and who is responsible."""

from __future__ import annotations

from storage.models import ReadinessKind, Role, Stay

# Order is the order people read the checklist in.
CHECKLIST: tuple[tuple[ReadinessKind, Role], ...] = (
    (ReadinessKind.ASSISTIVE_DEVICES, Role.REHAB),
    (ReadinessKind.MEDICATION, Role.SJUKSKOTERSKA),
    (ReadinessKind.CARE_PLAN, Role.SJUKSKOTERSKA),
    (ReadinessKind.HOME_HELP, Role.HANDLAGGARE),
    (ReadinessKind.ALARM, Role.HANDLAGGARE),
    (ReadinessKind.KEYS, Role.HANDLAGGARE),
    (ReadinessKind.TRANSPORT, Role.HANDLAGGARE),
    (ReadinessKind.HOME_MODIFICATION, Role.REHAB),
    (ReadinessKind.CLOSING_NOTE, Role.SJUKSKOTERSKA),
    (ReadinessKind.SIP_CALLED, Role.HANDLAGGARE),
    (ReadinessKind.CARE_HOME_NOTICE, Role.SJUKSKOTERSKA),
)

RESPONSIBLE: dict[str, str] = {kind.value: role.value for kind, role in CHECKLIST}


# A care home granted during the stay, or the stay closed to one: the nurse sends a message to
# the health centre (seed 003, "Vid beviljande av särskilt boende under pågående
# korttidsvistelse ska sjuksköterska ... skicka ett meddelande ... till hälsocentralen").
CARE_HOME_TASK: list[tuple[str, str]] = [
    (ReadinessKind.CARE_HOME_NOTICE.value, Role.SJUKSKOTERSKA.value)
]


def checklist_for(sip_wanted: bool, sip_by_nurse: bool = False) -> list[tuple[str, str]]:
    """The items a home-going needs; "SIP called" only when a SIP is wanted, called by the nurse
    when the remaining need is health care alone (seed 003: HSL calls it)."""
    return [
        (kind.value, _sip_caller(sip_by_nurse) if kind is ReadinessKind.SIP_CALLED else role.value)
        for kind, role in CHECKLIST
        if kind is not ReadinessKind.CARE_HOME_NOTICE
        and (kind is not ReadinessKind.SIP_CALLED or sip_wanted)
    ]


def checklist_for_stay(stay: Stay) -> list[tuple[str, str]]:
    return checklist_for(bool(stay.sip_wanted), bool(stay.health_care_only))


def _sip_caller(sip_by_nurse: bool) -> str:
    return (Role.SJUKSKOTERSKA if sip_by_nurse else Role.HANDLAGGARE).value
