"""Who is speaking: a staff member recognised by Teams aadObjectId, or the first time by email."""

from __future__ import annotations

import logging

from botbuilder.core import TurnContext
from botbuilder.core.teams import TeamsInfo

from storage.repos.staff import StaffProfile, StaffRepository

log = logging.getLogger(__name__)


async def recognise(context: TurnContext, staff: StaffRepository) -> StaffProfile | None:
    sender = context.activity.from_property
    if sender is None:
        return None
    aad_object_id = getattr(sender, "aad_object_id", None)
    if aad_object_id:
        known = await staff.profile_by_aad_object_id(aad_object_id)
        if known is not None:
            return known
    email = await _fetch_email(context)
    if not email:
        return None
    member = await staff.by_email(email)
    if member is None or not member.active:
        return None
    await staff.link_teams_identity(member, aad_object_id, sender.id)
    log.info("linked Teams identity to staff id=%s", member.id)
    return await staff.profile(member)


async def _fetch_email(context: TurnContext) -> str | None:
    """Ask Teams for the member's email or UPN; any failure means we cannot tell who it is."""
    sender = context.activity.from_property
    try:
        member = await TeamsInfo.get_member(context, sender.id)
    except Exception as error:  # the connector may refuse or be another channel
        log.warning("member lookup failed: %s", type(error).__name__)
        return None
    email = getattr(member, "email", None) or getattr(member, "user_principal_name", None)
    return str(email).strip().lower() if email else None
