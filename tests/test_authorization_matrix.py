"""The authorization matrix of every command, card action and card invoke, end to end.

Every role of DOMAIN.md works on ÄNG; each entry is tried on a stay (meeting, wait) of ÄNG and on
one of BJÖ, whose id a tampered card names. Allowed: a reply that is no refusal. Refused: a
Swedish refusal and no fact changed; a tampered card id is also audited. The table must name every
command and action the router knows, so a new one cannot slip in unchecked.
``tests/test_stay_authorization.py`` covers typed stay changes per item; this covers the rest.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, time, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from dialogs.commands import COMMANDS
from dialogs.router import ACTION_HANDLERS, INVOKE_HANDLERS
from notifications.digest import DigestSettings, queue_weekly_digests
from notifications.render import Renderer
from storage.db import transaction
from storage.models import (
    AuditEvent,
    FollowUpMeeting,
    HospitalWait,
    MeetingCall,
    OutboxMessage,
    Role,
)
from storage.repos.meeting_calls import MeetingCallRepository
from storage.repos.staff import StaffRepository
from storage.repos.units import UnitRepository
from storage.repos.waits import WaitRepository
from tests.channel import TeamsChannel, TeamsUser
from tests.helpers import card_texts, seed_staff
from tests.stay_helpers import seed_stay

CASE_CODE = re.compile(r"[A-ZÅÄÖ]{2,4}-\d{3}")
OWN, OTHER = "ÄNG", "BJÖ"

# One person per role of DOMAIN.md, all on ÄNG; two handläggare hold the meetings and stays.
ROLE_PEOPLE = {
    Role.HANDLAGGARE: ("hanna@kommun.se", "Hanna Handläggare"),
    Role.SJUKSKOTERSKA: ("sara@kommun.se", "Sara Sjuksköterska"),
    Role.REHAB: ("rami@kommun.se", "Rami Fysioterapeut"),
    Role.OMSORGSPERSONAL: ("olle@kommun.se", "Olle Undersköterska"),
    Role.KOORDINATOR: ("karin@kommun.se", "Karin Koordinator"),
    Role.BOENDESAMORDNARE: ("bo@kommun.se", "Bo Boendesamordnare"),
    Role.ENHETSCHEF: ("cecilia@kommun.se", "Cecilia Enhetschef"),
    Role.ADMIN: ("ali@kommun.se", "Ali Administratör"),
}
GRETA = ("greta@kommun.se", "Greta Handläggare", "handlaggare", OWN)
HENRIK = ("henrik@kommun.se", "Henrik Handläggare", "handlaggare", OTHER)
ROLES = tuple(ROLE_PEOPLE)

HL, SSK, REHAB, USK, KOORD, BSM, CHEF, ADMIN = ROLES
# who reads stays: all but the administrator (the registry) and the enhetschef (figures only)
READERS = {HL, SSK, REHAB, USK, KOORD, BSM}
WAITERS = {HL, BSM}
EVERY = set(ROLES)
CALLED = {HL, SSK, REHAB, USK}  # issue 15: called to a meeting, answer it, give underlag

# entry -> (roles allowed on their own unit, whether the entry names a unit's stay/meeting/wait).
# Naming another unit's is refused for every role.
MATRIX: dict[str, tuple[set[str], bool]] = {
    "command:help": (EVERY, False),
    "command:link_channel": ({CHEF, ADMIN}, True),
    "command:report": ({CHEF}, False),
    "command:meeting_start": ({HL}, True),
    "command:meeting_takeover": ({HL}, True),
    "command:register_stay": ({HL}, False),
    "command:stays": (READERS, True),
    "command:checklist": (READERS, True),
    "command:home_going": ({HL}, True),
    "command:close_stay": ({HL}, True),
    "command:hospital_waits": (WAITERS, False),
    "action:help": (EVERY, False),
    "action:meeting_start": ({HL}, True),
    "action:meeting": ({HL}, True),
    "action:meeting_takeover": ({HL}, True),
    "action:open_stay": (READERS, True),
    "action:my_stays": (READERS, False),
    "action:open_checklist": (READERS, True),
    "action:readiness_set": ({SSK}, True),
    "action:mark_ready": ({SSK}, True),
    "action:home_going": ({HL}, True),
    "action:close_stay": ({HL}, True),
    "action:wait_new": (WAITERS, False),
    "action:wait_close": (WAITERS, True),
    "action:with_stay": (READERS, True),  # the stay chosen for "checklista" typed without a code
    "invoke:readiness_set": ({SSK}, True),
    # issue 15: calling the meeting, answers and underlag
    "command:meeting_call": ({HL}, True),
    "command:meeting_call_status": ({HL}, True),
    "command:underlag": (CALLED, True),
    "command:call_coming": (CALLED, True),
    "command:call_not_coming": (CALLED, True),
    "action:call_start": ({HL}, True),
    "action:call_change": ({HL}, True),
    "action:call_show": ({HL}, True),
    "action:call_answer": (CALLED, True),
    "action:call_underlag": (CALLED, True),
    "action:underlag_save": (CALLED, True),
    "action:call_cancel": ({HL}, True),
    "invoke:call_status": ({HL}, True),
    # issue 16: a shared chat's per-person card; a personal chat shows no shared card, so never
    "invoke:meeting_refresh": (set(), True),
    # issue 17, item 11: a planned stay arrives; an acute placement's phone handover
    "command:stay_arrived": ({HL, SSK}, True),
    "command:phone_handover": ({HL, SSK}, True),
    "action:stay_arrived": ({HL, SSK}, True),
    "action:phone_handover": ({HL, SSK}, True),
    # issue 17: the stay card's "Avbryt planerad vistelse"
    "action:cancel_planned": ({HL}, True),
}

# What a refusal says: the fixed beginning of each refusal message of the catalogue.
REFUSAL_KEYS = (
    "not_allowed",
    "stay_refused",
    "stay_not_found",
    "meeting_stay_not_found",
    "wait_refused",
    "wait_not_allowed",
    "stay_decision_not_allowed",
    "link_not_allowed",
    "unit_not_found",
    "readiness_not_yours",
)
FACT_TABLES = (
    "stay", "followup_meeting", "readiness_item", "hospital_wait", "outbox_message",
    "meeting_call", "meeting_call_participant", "meeting_underlag",
)  # fmt: skip


def test_the_matrix_names_every_command_action_and_invoke() -> None:
    known = (
        {f"command:{c.id}" for c in COMMANDS}
        | {f"action:{name}" for name in ACTION_HANDLERS}
        | {f"invoke:{verb}" for verb in INVOKE_HANDLERS}
    )
    assert set(MATRIX) == known


@dataclass
class World:
    ids: dict[str, dict[str, int]]  # unit -> {"stay": id, "meeting": id, "wait": id}


@dataclass
class Outcome:
    refused: bool
    replies: list[str]


Probe = Callable[[TeamsChannel, TeamsUser, str, World], Awaitable[list[str]]]


def _code(unit: str) -> str:
    return f"{unit}-042" if unit == OWN else f"{unit}-007"


def _texts(sent: list[Any]) -> list[str]:
    out: list[str] = []
    for item in sent:
        if item.activity.get("text"):
            out.append(item.activity["text"])
        for attachment in item.activity.get("attachments") or []:
            out.append(card_texts(attachment["content"]))
    return out


_conversations = iter(range(10**6))


async def _say(channel: TeamsChannel, user: TeamsUser, text: str) -> list[str]:
    # A conversation of its own, so a form one probe begins does not catch the next one's words.
    conversation = f"a:probe-{next(_conversations)}"
    return _texts(await channel.say(user, text, conversation_id=conversation))


async def _submit(channel: TeamsChannel, user: TeamsUser, value: dict[str, Any]) -> list[str]:
    conversation = f"a:probe-{next(_conversations)}"
    return _texts(await channel.submit(user, value, conversation_id=conversation))


def _command(text: str) -> Probe:
    async def probe(channel: TeamsChannel, user: TeamsUser, unit: str, _w: World) -> list[str]:
        return await _say(channel, user, text.format(code=_code(unit), unit=unit))

    return probe


def _action(name: str, id_field: str | None = None, **extra: Any) -> Probe:
    async def probe(channel: TeamsChannel, user: TeamsUser, unit: str, world: World) -> list[str]:
        value: dict[str, Any] = {"action": name, **extra}
        if id_field:
            value[f"{id_field}_id"] = world.ids[unit][id_field]
        return await _submit(channel, user, value)

    return probe


async def _link_channel(channel: TeamsChannel, user: TeamsUser, unit: str, _w: World) -> list[str]:
    sent = await channel.say(
        user,
        f"koppla kanal {unit}",
        conversation_id=f"19:probe-{next(_conversations)}@thread.tacv2",
        conversation_type="channel",
        team_id="19:team@thread.tacv2",
    )
    return _texts(sent)


async def _invoke(channel: TeamsChannel, user: TeamsUser, unit: str, world: World) -> list[str]:
    data = {"stay_id": world.ids[unit]["stay"], "kind": "medication", "status": "ready"}
    activity = channel.activity(
        user,
        type_="invoke",
        name="adaptiveCard/action",
        value={"action": {"type": "Action.Execute", "verb": "readiness_set", "data": data}},
    )
    response = await channel.post(activity)
    assert response.status == 200
    body = await response.json()
    value = body["value"]
    return [value if isinstance(value, str) else card_texts(value)]


async def _action_execute(
    channel: TeamsChannel, user: TeamsUser, verb: str, data: dict[str, Any]
) -> list[str]:
    activity = channel.activity(
        user,
        type_="invoke",
        name="adaptiveCard/action",
        value={"action": {"type": "Action.Execute", "verb": verb, "data": data}},
    )
    response = await channel.post(activity)
    assert response.status == 200
    value = (await response.json())["value"]
    return [value if isinstance(value, str) else card_texts(value)]


async def _call_status(
    channel: TeamsChannel, user: TeamsUser, unit: str, world: World
) -> list[str]:
    return await _action_execute(channel, user, "call_status", {"call_id": world.ids[unit]["call"]})


async def _refresh(channel: TeamsChannel, user: TeamsUser, unit: str, world: World) -> list[str]:
    data = {"meeting_id": world.ids[unit]["meeting"], "step": 1}
    return await _action_execute(channel, user, "meeting_refresh", data)


READY = {"kind": "medication", "status": "ready"}
PROBES: dict[str, Probe] = {
    "command:help": _command("hjälp"),
    "command:link_channel": _link_channel,
    "command:report": _command("rapport"),
    "command:meeting_start": _command("uppföljning {code}"),
    "command:meeting_takeover": _command("ta över {code}"),
    "command:register_stay": _command("ny vistelse"),
    "command:stays": _command("vistelse {code}"),
    "command:checklist": _command("checklista {code}"),
    "command:home_going": _command("hemgång {code} 26/11 10"),
    "command:close_stay": _command("avsluta {code}"),
    "command:hospital_waits": _command("utskrivningsklar"),
    "action:help": _action("help"),
    "action:meeting_start": _action("meeting_start", "stay"),
    "action:meeting": _action("meeting", "meeting"),
    "action:meeting_takeover": _action("meeting_takeover", "meeting"),
    "action:open_stay": _action("open_stay", "stay"),
    "action:my_stays": _action("my_stays"),
    "action:open_checklist": _action("open_checklist", "stay"),
    "action:readiness_set": _action("readiness_set", "stay", **READY),
    "action:mark_ready": _action("mark_ready", "stay", item="medication"),
    "action:home_going": _action("home_going", "stay"),
    "action:close_stay": _action("close_stay", "stay"),
    "action:wait_new": _action("wait_new"),
    "action:wait_close": _action("wait_close", "wait", outcome="other"),
    "action:with_stay": _action("with_stay", "stay", command="checklista"),
    "invoke:readiness_set": _invoke,
    "command:meeting_call": _command("kalla {code}"),
    "command:meeting_call_status": _command("kallelse {code}"),
    "command:underlag": _command("underlag {code}"),
    "command:call_coming": _command("kommer {code}"),
    "command:call_not_coming": _command("kan inte {code} kurs"),
    "action:call_start": _action("call_start", "stay"),
    "action:call_change": _action("call_change", "call"),
    "action:call_show": _action("call_show", "call"),
    "action:call_answer": _action("call_answer", "call", answer="coming"),
    "action:call_underlag": _action("call_underlag", "call"),
    "action:underlag_save": _action("underlag_save", "call", step_id="health_nurse"),
    "action:call_cancel": _action("call_cancel", "call"),
    "invoke:call_status": _call_status,
    "invoke:meeting_refresh": _refresh,
    "command:stay_arrived": _command("ankommit {code}"),
    "command:phone_handover": _command("överrapporterat {code}"),
    "action:stay_arrived": _action("stay_arrived", "stay"),
    "action:phone_handover": _action("phone_handover", "stay"),
    "action:cancel_planned": _action("cancel_planned", "stay"),
}
# Takeover before the step button: afterwards the handläggare owns the meeting the step resumes.
ORDER = (
    "command:help", "action:help", "command:report", "command:link_channel",
    "command:stays", "action:open_stay", "action:my_stays", "command:checklist",
    "action:open_checklist", "command:register_stay", "command:hospital_waits", "action:wait_new",
    "command:meeting_start", "action:meeting_start", "command:meeting_takeover",
    "action:meeting_takeover", "action:meeting", "action:readiness_set", "action:mark_ready",
    "invoke:readiness_set", "command:home_going", "action:home_going", "command:close_stay",
    "action:close_stay", "action:wait_close", "action:with_stay", "invoke:meeting_refresh",
    "command:meeting_call", "action:call_start", "command:meeting_call_status", "action:call_show",
    "invoke:call_status", "action:call_change", "command:call_coming", "command:call_not_coming",
    "action:call_answer", "command:underlag", "action:call_underlag", "action:underlag_save",
    "action:call_cancel", "command:stay_arrived", "action:stay_arrived",
    "command:phone_handover", "action:phone_handover", "action:cancel_planned",
)  # fmt: skip


def test_every_entry_is_probed_once() -> None:
    assert sorted(ORDER) == sorted(MATRIX) == sorted(PROBES)


async def _facts(sessions: async_sessionmaker[AsyncSession]) -> dict[str, Any]:
    """Every row of the fact tables, and which conversations are linked to a unit."""
    tables = SQLModel.metadata.tables
    async with transaction(sessions) as session:
        facts: dict[str, Any] = {}
        for name in FACT_TABLES:
            rows = (await session.exec(select(tables[name]))).all()  # type: ignore[call-overload]
            facts[name] = sorted(tuple(map(str, row)) for row in rows)
        links = select(tables["conversation_ref"].c.unit_id).where(
            tables["conversation_ref"].c.unit_id.is_not(None)
        )
        facts["linked"] = sorted(str(r) for r in (await session.exec(links)).all())  # type: ignore[call-overload]
        return facts


async def _refusal_audits(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with transaction(sessions) as session:
        query = select(func.count()).where(AuditEvent.action.like("%refused%"))  # type: ignore[attr-defined]
        return int((await session.exec(query)).scalar_one())  # type: ignore[call-overload]


async def _seed_world(
    channel: TeamsChannel, sessions: async_sessionmaker[AsyncSession], clock: Any
) -> World:
    await seed_staff(
        sessions,
        *((email, name, role, OWN) for role, (email, name) in ROLE_PEOPLE.items()),
        GRETA,
        HENRIK,
    )
    ids: dict[str, dict[str, int]] = {}
    for unit, owner in ((OWN, GRETA), (OTHER, HENRIK)):
        stay_id = await seed_stay(
            sessions, clock, _code(unit), unit=unit, handlaggare=owner[0], nurse=None
        )
        # The meeting is opened by that unit's own handläggare, as in real life.
        leader = channel.user(owner[0].split("@")[0], owner[0], owner[1])
        await _say(channel, leader, f"uppföljning {_code(unit)}")
        async with transaction(sessions) as session:
            found = await UnitRepository(session).by_code(unit)
            assert found is not None and found.id is not None
            meeting = (
                await session.exec(  # type: ignore[call-overload]
                    select(FollowUpMeeting).where(FollowUpMeeting.stay_id == stay_id)
                )
            ).scalar_one()
            wait = await WaitRepository(session).add(
                HospitalWait(
                    case_code=f"{unit}-900",
                    expected_unit_id=found.id,
                    notified_at=clock.now() - timedelta(days=1),
                )
            )
            assert meeting.id is not None and wait.id is not None
            call = await _called_meeting(session, stay_id, unit)
            ids[unit] = {"stay": stay_id, "meeting": meeting.id, "wait": wait.id, "call": call}
    return World(ids)


async def _called_meeting(session: AsyncSession, stay_id: int, unit: str) -> int:
    """A meeting the unit's handläggare called, the nurse of the matrix among those called."""
    leader = await StaffRepository(session).by_email((GRETA if unit == OWN else HENRIK)[0])
    nurse = await StaffRepository(session).by_email(ROLE_PEOPLE[SSK][0])
    assert leader is not None and leader.id is not None and nurse is not None
    repo = MeetingCallRepository(session)
    call = await repo.save(
        MeetingCall(
            stay_id=stay_id,
            called_by_id=leader.id,
            meeting_date=date(2026, 11, 24),
            meeting_time=time(10, 0),
            form="on_site",
        )
    )
    assert call.id is not None and nurse.id is not None
    await repo.set_participants(call.id, [(nurse.id, SSK)])
    return call.id


def _is_refusal(reply: str, refusals: list[str]) -> bool:
    return any(prefix in reply for prefix in refusals)


@pytest.mark.parametrize("role", ROLES)
async def test_authorization_matrix(
    channel: TeamsChannel, sessions: async_sessionmaker[AsyncSession], clock: Any, role: str
) -> None:
    world = await _seed_world(channel, sessions, clock)
    renderer = Renderer()
    messages = renderer.catalogue["messages"]
    refusals = [str(messages[key]).split("{")[0].split("**")[0] for key in REFUSAL_KEYS]
    email, name = ROLE_PEOPLE[role]
    person = channel.user(email.split("@")[0], email, name)

    seen: dict[tuple[str, str], bool] = {}
    expected: dict[tuple[str, str], bool] = {}
    for entry in ORDER:
        allowed_roles, unit_bound = MATRIX[entry]
        for unit in (OWN, OTHER) if unit_bound else (OWN,):
            facts, audits = await _facts(sessions), await _refusal_audits(sessions)
            replies = await PROBES[entry](channel, person, unit, world)
            assert replies, f"{entry} on {unit}: no reply"
            refused = any(_is_refusal(reply, refusals) for reply in replies)
            seen[(entry, unit)] = not refused
            expected[(entry, unit)] = unit == OWN and role in allowed_roles
            if refused:
                assert await _facts(sessions) == facts, f"{entry} on {unit} changed a fact"
                if unit == OTHER and not entry.startswith("command:"):
                    assert await _refusal_audits(sessions) > audits, f"{entry}: not audited"
                    # A tampered id must not reveal what the other unit's stay is called.
                    assert not any(_code(OTHER) in reply for reply in replies), entry
    wrong = {key: seen[key] for key in seen if seen[key] != expected[key]}
    assert not wrong, f"{role}: allowed? {wrong}"


async def test_a_manager_never_sees_a_case_code(
    channel: TeamsChannel, sessions: async_sessionmaker[AsyncSession], clock: Any
) -> None:
    await _seed_world(channel, sessions, clock)
    await seed_stay(sessions, clock, "ÄNG-043", arrived_days_ago=20, handlaggare=GRETA[0])
    email, name = ROLE_PEOPLE[Role.ENHETSCHEF]
    cecilia = channel.user("cecilia", email, name)

    for text in ("rapport", "rapport vecka", "rapport kvartal"):
        replies = await _say(channel, cecilia, text)
        assert replies and not any(CASE_CODE.search(reply) for reply in replies), text

    async with transaction(sessions) as session:
        await queue_weekly_digests(session, clock.now(), Renderer(), settings=DigestSettings())
    async with transaction(sessions) as session:
        digests = (
            (
                await session.exec(  # type: ignore[call-overload]
                    select(OutboxMessage).where(OutboxMessage.kind == "weekly_digest")
                )
            )
            .scalars()
            .all()
        )
    assert digests
    for digest in digests:
        assert not CASE_CODE.search(str(digest.payload))
