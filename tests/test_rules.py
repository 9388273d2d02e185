"""The nudge table as pure rules: facts + now -> what is due, for whom, when (Europe/Stockholm)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

import pytest

from notifications.render import Renderer
from notifications.rules import (
    Facts,
    Nudge,
    NudgeKind,
    afternoon_nudges,
    due_nudges,
    fact_windows,
    followup_nudges,
    home_going_reminder_nudges,
    long_stay_nudges,
    readiness_nudges,
    rule_epoch,
    sip_nudges,
)
from notifications.timing import is_sending_time, next_sending_start
from storage.domain.calendar import followup_deadline
from storage.domain.clock import STOCKHOLM
from storage.repos.facts import ItemFact, StayFacts
from tests.cards import assert_valid_card
from tests.helpers import card_texts

HANDLAGGARE, NURSE, REHAB, CHEF, COORDINATOR, OTHER_HANDLAGGARE = 1, 2, 3, 4, 5, 6
UNIT = 10

STAFF = {
    (UNIT, "handlaggare"): (HANDLAGGARE, OTHER_HANDLAGGARE),
    (UNIT, "sjukskoterska"): (NURSE,),
    (UNIT, "rehab"): (REHAB,),
    (UNIT, "enhetschef"): (CHEF,),
    (UNIT, "koordinator"): (COORDINATOR,),
}


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=STOCKHOLM).astimezone(UTC)


def stay(arrival: date, **changes: object) -> StayFacts:
    base = StayFacts(
        id=7,
        unit_id=UNIT,
        case_code="ÄNG-042",
        room="5",
        arrival_date=arrival,
        followup_deadline=followup_deadline(arrival),
        handlaggare_id=HANDLAGGARE,
        nurse_id=NURSE,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def facts(*stays: StayFacts) -> Facts:
    return Facts(stays=list(stays), staff=STAFF)


def who(nudges: list[Nudge]) -> list[tuple[str, int]]:
    return sorted((n.kind, n.recipient_staff_id) for n in nudges)


def items(*pairs: tuple[str, str, str]) -> tuple[ItemFact, ...]:
    return tuple(ItemFact(kind, status, role) for kind, status, role in pairs)


# --- sending hours ---------------------------------------------------------------------------
def test_sending_hours_are_working_days_from_seven_to_six_local() -> None:
    monday = date(2026, 11, 23)
    assert not is_sending_time(local(monday, 6, 59))
    assert is_sending_time(local(monday, 7, 0))
    assert is_sending_time(local(monday, 17, 59))
    assert not is_sending_time(local(monday, 18, 0))
    assert not is_sending_time(local(date(2026, 11, 28), 10))  # Saturday
    assert not is_sending_time(local(date(2027, 3, 29), 10))  # Easter Monday


def test_evening_before_easter_waits_for_tuesday_morning_in_summer_time() -> None:
    thursday_evening = local(date(2027, 3, 25), 19, 30)  # CET, UTC+1

    start = next_sending_start(thursday_evening)

    # Good Friday, the weekend (clocks go forward on Sunday) and Easter Monday are skipped.
    assert start == datetime(2027, 3, 30, 5, 0, tzinfo=UTC)  # 07:00 CEST
    assert start.astimezone(STOCKHOLM).time() == time(7, 0)


# --- rows 1-3: the follow-up meeting ---------------------------------------------------------
def test_followup_reminders_two_days_before_on_the_day_and_escalated_after() -> None:
    s = stay(date(2026, 11, 16))  # Monday; deadline Monday 23 November
    assert s.followup_deadline == date(2026, 11, 23)
    f = facts(s)

    assert followup_nudges(s, f, local(date(2026, 11, 19), 6, 59)) == []
    due = followup_nudges(s, f, local(date(2026, 11, 19), 7, 0))
    assert who(due) == [(NudgeKind.FOLLOWUP_DUE, HANDLAGGARE)]
    assert due[0].due_at == local(date(2026, 11, 19), 7)
    # Friday: the same nudge, the same key: still one message.
    assert [n.key for n in followup_nudges(s, f, local(date(2026, 11, 20), 15))] == [due[0].key]

    today = followup_nudges(s, f, local(date(2026, 11, 23), 7))
    assert who(today) == [(NudgeKind.FOLLOWUP_TODAY, HANDLAGGARE)]

    overdue = followup_nudges(s, f, local(date(2026, 11, 24), 7))
    assert who(overdue) == [
        (NudgeKind.FOLLOWUP_OVERDUE, HANDLAGGARE),
        (NudgeKind.FOLLOWUP_OVERDUE, CHEF),
    ]
    assert {n.payload["audience"] for n in overdue} == {"owner", "manager"}
    # Caught up for a few working days if missed, then it is only noise.
    assert followup_nudges(s, f, local(date(2026, 11, 26), 17)) != []
    assert followup_nudges(s, f, local(date(2026, 11, 27), 7)) == []


def test_no_followup_reminder_once_the_meeting_is_held() -> None:
    s = stay(date(2026, 11, 16), followup_held_on=date(2026, 11, 19))

    for day in range(17, 28):
        assert followup_nudges(s, facts(s), local(date(2026, 11, day), 9)) == []


def test_followup_over_easter_and_the_clock_change() -> None:
    s = stay(date(2027, 3, 22))  # day 7 is Easter Monday: deadline Thursday 25 March
    assert s.followup_deadline == date(2027, 3, 25)
    f = facts(s)

    assert who(followup_nudges(s, f, local(date(2027, 3, 23), 7))) == [
        (NudgeKind.FOLLOWUP_DUE, HANDLAGGARE)
    ]
    assert who(followup_nudges(s, f, local(date(2027, 3, 25), 7))) == [
        (NudgeKind.FOLLOWUP_TODAY, HANDLAGGARE)
    ]
    # Good Friday, the weekend and Easter Monday pass; Tuesday 07:00 summer time is 05:00 UTC.
    assert followup_nudges(s, f, datetime(2027, 3, 30, 4, 59, tzinfo=UTC))[0].kind == (
        NudgeKind.FOLLOWUP_TODAY
    )
    overdue = followup_nudges(s, f, datetime(2027, 3, 30, 5, 0, tzinfo=UTC))
    assert {n.kind for n in overdue} == {NudgeKind.FOLLOWUP_OVERDUE}
    assert overdue[0].due_at == datetime(2027, 3, 30, 5, 0, tzinfo=UTC)


def test_without_a_named_handlaggare_the_units_handlaggare_are_told() -> None:
    s = stay(date(2026, 11, 16), handlaggare_id=None)

    nudges = followup_nudges(s, facts(s), local(date(2026, 11, 19), 8))

    assert who(nudges) == [
        (NudgeKind.FOLLOWUP_DUE, HANDLAGGARE),
        (NudgeKind.FOLLOWUP_DUE, OTHER_HANDLAGGARE),
    ]


# --- row 4: the coordinator's reminder -------------------------------------------------------
def test_coordinator_is_reminded_the_working_day_before_home_going() -> None:
    monday = date(2026, 11, 30)
    s = stay(date(2026, 11, 20), home_going_date=monday, home_going_time=time(9, 30))

    assert home_going_reminder_nudges(s, facts(s), local(date(2026, 11, 26), 9)) == []
    friday = home_going_reminder_nudges(s, facts(s), local(date(2026, 11, 27), 7))
    assert who(friday) == [(NudgeKind.HOME_GOING_REMINDER, COORDINATOR)]
    assert friday[0].payload["tomorrow"] is False  # Friday before a Monday: not "tomorrow"
    assert home_going_reminder_nudges(s, facts(s), local(monday, 7)) == []

    tuesday = replace(s, home_going_date=date(2026, 12, 1))
    reminder = home_going_reminder_nudges(tuesday, facts(tuesday), local(monday, 7))
    assert reminder[0].payload["tomorrow"] is True


# --- rows 5-6: readiness -----------------------------------------------------------------------
def readiness_stay(home_going: date) -> StayFacts:
    return stay(
        date(2026, 11, 20),
        home_going_date=home_going,
        home_going_time=time(9, 30),
        items=items(
            ("assistive_devices", "not_ready", "rehab"),
            ("medication", "not_ready", "sjukskoterska"),
            ("care_plan", "ready", "sjukskoterska"),
            ("keys", "not_ready", "handlaggare"),
            ("alarm", "not_applicable", "handlaggare"),
        ),
    )


def test_readiness_reminders_two_and_one_working_days_before_then_escalation() -> None:
    s = readiness_stay(date(2026, 12, 1))  # Tuesday
    f = facts(s)

    assert readiness_nudges(s, f, local(date(2026, 11, 26), 17)) == []
    friday = readiness_nudges(s, f, local(date(2026, 11, 27), 7))
    assert who(friday) == [
        (NudgeKind.READINESS, HANDLAGGARE),
        (NudgeKind.READINESS, NURSE),
        (NudgeKind.READINESS, REHAB),
    ]
    cards = {n.recipient_staff_id: [i["kind"] for i in n.payload["items"]] for n in friday}
    assert cards == {HANDLAGGARE: ["keys"], NURSE: ["medication"], REHAB: ["assistive_devices"]}

    monday = readiness_nudges(s, f, local(date(2026, 11, 30), 7))
    assert {n.due_on for n in monday} == {date(2026, 11, 30)}
    owner = next(n for n in monday if n.recipient_staff_id == HANDLAGGARE)
    # On the last day the handläggare sees everything missing, but acts only on their own.
    assert [(i["kind"], i["own"]) for i in owner.payload["items"]] == [
        ("assistive_devices", False),
        ("medication", False),
        ("keys", True),
    ]

    escalation = readiness_nudges(s, f, local(date(2026, 12, 1), 7))
    assert who(escalation) == [(NudgeKind.READINESS_ESCALATION, CHEF)]
    assert len(escalation[0].payload["items"]) == 3
    assert readiness_nudges(s, f, local(date(2026, 12, 2), 7)) == []


def test_readiness_is_quiet_when_everything_is_ready() -> None:
    s = replace(
        readiness_stay(date(2026, 12, 1)),
        items=items(("medication", "ready", "sjukskoterska"), ("keys", "not_applicable", "x")),
    )

    assert readiness_nudges(s, facts(s), local(date(2026, 11, 30), 9)) == []


def test_saturday_home_going_escalates_on_friday_afternoon() -> None:
    s = readiness_stay(date(2026, 11, 28))  # Saturday

    before = readiness_nudges(s, facts(s), local(date(2026, 11, 27), 13, 59))
    after = readiness_nudges(s, facts(s), local(date(2026, 11, 27), 14))

    assert {n.kind for n in before} == {NudgeKind.READINESS}
    assert who(after) == [(NudgeKind.READINESS_ESCALATION, CHEF)]


# --- row 7: long stay ---------------------------------------------------------------------------
def test_day_fourteen_without_a_decision_tells_handlaggare_and_chef() -> None:
    s = stay(date(2026, 11, 10), followup_held_on=date(2026, 11, 17))  # day 14: Monday 23rd

    assert long_stay_nudges(s, facts(s), local(date(2026, 11, 23), 6, 59)) == []
    nudges = long_stay_nudges(s, facts(s), local(date(2026, 11, 23), 7))
    assert who(nudges) == [(NudgeKind.LONG_STAY, HANDLAGGARE), (NudgeKind.LONG_STAY, CHEF)]
    assert nudges[0].payload["day_number"] == 14
    decided = replace(s, decision_kind="extension")
    assert long_stay_nudges(decided, facts(decided), local(date(2026, 11, 23), 9)) == []


def test_day_fourteen_on_a_saturday_waits_for_monday() -> None:
    s = stay(date(2026, 11, 8))  # day 14 is Saturday 21 November

    assert long_stay_nudges(s, facts(s), local(date(2026, 11, 21), 10)) == []
    assert long_stay_nudges(s, facts(s), local(date(2026, 11, 23), 7))[0].due_on == date(
        2026, 11, 23
    )


# --- row 8: afternoon home-going --------------------------------------------------------------
def test_afternoon_home_going_is_pointed_out_once() -> None:
    s = stay(date(2026, 11, 20), home_going_date=date(2026, 11, 26), home_going_time=time(13))

    monday = afternoon_nudges(s, facts(s), local(date(2026, 11, 23), 9))
    tuesday = afternoon_nudges(s, facts(s), local(date(2026, 11, 24), 9))

    assert who(monday) == [(NudgeKind.AFTERNOON_HOME_GOING, HANDLAGGARE)]
    assert monday[0].key == tuesday[0].key  # one key per stay: "once"
    noon = replace(s, home_going_time=time(12, 0))
    assert afternoon_nudges(noon, facts(noon), local(date(2026, 11, 23), 9)) == []


def test_afternoon_home_going_set_in_the_evening_is_due_next_morning() -> None:
    s = stay(date(2026, 11, 20), home_going_date=date(2026, 11, 26), home_going_time=time(15))

    nudges = afternoon_nudges(s, facts(s), local(date(2026, 11, 23), 20))

    assert nudges[0].due_at == local(date(2026, 11, 24), 7)


# --- row 9: SIP ----------------------------------------------------------------------------------
def test_sip_wish_three_working_days_before_home_going() -> None:
    s = stay(
        date(2026, 11, 20),
        home_going_date=date(2026, 12, 1),
        sip_wanted=True,
        items=items(("sip_called", "not_ready", "handlaggare")),
    )

    assert sip_nudges(s, facts(s), local(date(2026, 11, 25), 17)) == []
    nudges = sip_nudges(s, facts(s), local(date(2026, 11, 26), 7))
    assert who(nudges) == [(NudgeKind.CALL_SIP, HANDLAGGARE)]
    called = replace(s, items=items(("sip_called", "ready", "handlaggare")))
    assert sip_nudges(called, facts(called), local(date(2026, 11, 26), 9)) == []
    no_wish = replace(s, sip_wanted=False)
    assert sip_nudges(no_wish, facts(no_wish), local(date(2026, 11, 26), 9)) == []


# --- the whole table together --------------------------------------------------------------------
def test_every_card_renders_valid_and_says_which_stay_also_to_the_manager() -> None:
    """Staff are told which stay. An escalation to the unit's own enhetschef names the case code,
    the room and the responsible handläggare (issue 17, item 14), with no button that opens the
    stay."""
    renderer = Renderer()
    named = {"unit_name": "Ängsgården", "handlaggare_name": "Hanna Handläggare"}
    s = readiness_stay(date(2026, 12, 1))
    s = replace(s, sip_wanted=True, home_going_time=time(13, 15), transport="fardtjanst", **named)
    ending = replace(stay(date(2026, 11, 16)), id=8, decision_end_date=date(2026, 11, 26), **named)
    acute = replace(stay(date(2026, 11, 23)), id=9, acute=True, **named)  # issue 17, item 11
    instants = [local(date(2026, 11, d), 9) for d in (19, 23, 24, 26, 27, 30)]
    instants.append(local(date(2026, 12, 1), 9))
    seen, to_manager = set(), set()
    for now in instants:
        stays = (s, replace(stay(date(2026, 11, 9)), **named), ending, acute)
        for nudge in due_nudges(facts(*stays), now):
            card = renderer.card(nudge.template, **nudge.payload)
            assert_valid_card(card)
            texts = card_texts(card)
            assert "ÄNG-042" in texts
            if nudge.recipient_staff_id == CHEF:
                assert "rum 5" in texts
                assert "Ängsgården" in texts and "Hanna Handläggare" in texts
                assert "actions" not in card and "stay_id" not in nudge.payload
                to_manager.add(nudge.kind)
            seen.add(nudge.kind)
    assert seen == set(NudgeKind)
    assert to_manager == {
        NudgeKind.FOLLOWUP_OVERDUE,
        NudgeKind.READINESS_ESCALATION,
        NudgeKind.LONG_STAY,
        NudgeKind.DECISION_ENDED,
    }


@pytest.mark.parametrize("start", [date(2026, 10, 12), date(2026, 12, 14), date(2027, 3, 15)])
def test_query_windows_hold_every_stay_a_rule_can_use(start: date) -> None:
    """The tick loads stays through date windows; a stay outside them must have nothing due,
    or the tick would withdraw its undelivered nudges."""
    for offset in range(0, 21):
        today = start + timedelta(days=offset)
        now = local(today, 10)
        windows = fact_windows(now)
        for back in range(0, 40):
            arrival = today - timedelta(days=back)
            s = stay(arrival)
            if followup_nudges(s, facts(s), now):
                assert windows.deadline_from <= s.followup_deadline <= windows.deadline_to
            if long_stay_nudges(s, facts(s), now):
                assert windows.long_stay_arrival_from <= arrival <= windows.long_stay_arrival_to
                assert (
                    windows.long_stay_deadline_from
                    <= s.followup_deadline
                    <= windows.long_stay_deadline_to
                )
        for ahead in range(-3, 40):
            home_going = today + timedelta(days=ahead)
            s = replace(readiness_stay(home_going), sip_wanted=True, home_going_time=time(14))
            near = [
                *readiness_nudges(s, facts(s), now),
                *sip_nudges(s, facts(s), now),
                *home_going_reminder_nudges(s, facts(s), now),
            ]
            if near:
                assert windows.home_going_from <= home_going <= windows.home_going_to
            if afternoon_nudges(s, facts(s), now):
                assert windows.home_going_from <= home_going <= windows.afternoon_to


def _region_sample(today: date) -> Facts:
    """Stays at every stage around ``today``: arrivals back 30 days, home-goings 0-10 days on,
    morning and afternoon, items open and done, SIP wanted or not."""
    sample: list[StayFacts] = []
    for back in range(0, 30):
        sample.append(replace(stay(today - timedelta(days=back)), id=len(sample) + 1))
    for ahead in range(0, 11):
        home_going = today + timedelta(days=ahead)
        for at, sip in ((time(10), False), (time(15), True)):
            s = replace(readiness_stay(home_going), home_going_time=at, sip_wanted=sip)
            sample.append(replace(s, id=len(sample) + 1))
    return facts(*sample)


@pytest.mark.parametrize("start", [date(2026, 10, 19), date(2026, 12, 21), date(2027, 3, 22)])
def test_nudges_change_only_at_the_rule_instants(start: date) -> None:
    """The tick re-evaluates unchanged stays only when ``rule_epoch`` changes (00:00, 07:00 and
    14:00 local): between those instants the same facts must give the same nudges, over a
    clock change, Christmas and Easter alike."""
    for offset in range(0, 14):
        today = start + timedelta(days=offset)
        sample = _region_sample(start)
        seen: dict[str, list[tuple[str, object]]] = {}
        for minutes in range(0, 24 * 60, 20):
            now = local(today, 0) + timedelta(minutes=minutes)
            found = [(n.key, n.payload) for n in due_nudges(sample, now)]
            epoch = rule_epoch(now)
            assert seen.setdefault(epoch, found) == found, f"nudges changed within {epoch}"
        assert len(seen) >= 3, "a day has three stretches between rule instants"


def test_rule_epoch_names_the_stretch_in_local_time() -> None:
    monday = date(2026, 11, 23)
    assert rule_epoch(local(monday, 6, 59)) == "2026-11-23T00:00"
    assert rule_epoch(local(monday, 7)) == "2026-11-23T07:00"
    assert rule_epoch(local(monday, 13, 59)) == "2026-11-23T07:00"
    assert rule_epoch(local(monday, 14)) == "2026-11-23T14:00"
    # 23:30 local on a winter evening is 22:30 UTC the same day, already past 14:00 local.
    assert rule_epoch(local(monday, 23, 30)) == "2026-11-23T14:00"
