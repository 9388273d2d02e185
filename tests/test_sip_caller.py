"""Issue 17, item 10 (seed 003): the SIP wish is asked only when a need for coordination remains,
and when that need is health care alone the nurse calls the SIP, not the handläggare. Also the
transport words staff type (the Swedish section)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from dialogs.meeting.decision import DecisionContext, parse_field
from dialogs.parsing import InvalidInput
from notifications.render import Renderer
from notifications.rules import NudgeKind, sip_nudges
from tests.channel import TeamsChannel
from tests.meeting_helpers import HANDLAGGARE, items, seed_meeting_world, step_of, the_stay
from tests.test_rules import HANDLAGGARE as OWNER
from tests.test_rules import NURSE, facts, local, stay, who
from tests.test_rules import items as item_facts

_CONTEXT = DecisionContext(date(2026, 11, 23), None, {"transport": "Transport hem"})


def test_health_care_alone_the_nurse_is_reminded_to_call_the_sip() -> None:
    s = stay(
        date(2026, 11, 20),
        home_going_date=date(2026, 12, 1),
        sip_wanted=True,
        items=item_facts(("sip_called", "not_ready", "sjukskoterska")),
    )
    by_nurse = replace(s, health_care_only=True)
    day = local(date(2026, 11, 26), 9)

    assert who(sip_nudges(s, facts(s), day)) == [(NudgeKind.CALL_SIP, OWNER)]
    assert who(sip_nudges(by_nurse, facts(by_nurse), day)) == [(NudgeKind.CALL_SIP, NURSE)]


async def _to_coordination(channel: TeamsChannel):  # type: ignore[no-untyped-def]
    anna = channel.user("anna", HANDLAGGARE[0], HANDLAGGARE[1])
    await channel.say(anna, "uppföljning ÄNG-042")
    for _ in range(7):
        await channel.say(anna, "nästa")
    for text in ("hemgång", "3/12", "9", "egen", "nej", "-"):
        await channel.say(anna, text)
    said = "\n".join(s.activity.get("text") or "" for s in await channel.say(anna, "-"))
    assert "samordning" in said
    return anna


async def test_no_coordination_need_means_no_sip_question(channel: TeamsChannel, sessions) -> None:
    stay_id = await seed_meeting_world(sessions)
    anna = await _to_coordination(channel)

    said = "\n".join(s.activity.get("text") or "" for s in await channel.say(anna, "nej"))

    assert "SIP" not in said and "Beslutet är noterat" in said
    assert step_of(channel.connector.cards()[-1]) == 9
    for text in ("nästa", "nästa"):
        await channel.say(anna, text)
    held = await the_stay(sessions, stay_id)
    assert (held.coordination_needed, held.sip_wanted) == (False, False)
    assert "sip_called" not in {item.kind for item in await items(sessions, stay_id)}


async def test_health_care_alone_puts_the_sip_on_the_nurses_checklist(
    channel: TeamsChannel, sessions
) -> None:
    stay_id = await seed_meeting_world(sessions)
    anna = await _to_coordination(channel)

    for text in ("ja", "ja", "ja", "nästa", "nästa"):
        await channel.say(anna, text)

    held = await the_stay(sessions, stay_id)
    assert (held.health_care_only, held.sip_wanted) == (True, True)
    roles = {item.kind: item.responsible_role for item in await items(sessions, stay_id)}
    assert roles["sip_called"] == "sjukskoterska"


# --- the Swedish section: the words staff type for transport ---


@pytest.mark.parametrize(
    ("typed", "stored"),
    [("anhörig", "relatives"), ("anhöriga", "relatives"), ("ambulans", "sjukresa")],
)
def test_transport_words_staff_type(typed: str, stored: str) -> None:
    assert parse_field("transport", typed, _CONTEXT) == stored


def test_taxi_is_asked_about_not_guessed() -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_field("transport", "taxi", _CONTEXT)
    assert raised.value.key == "meeting_transport_taxi"
    text = Renderer().text(raised.value.key, **raised.value.values)
    assert "Är taxin färdtjänst?" in text
