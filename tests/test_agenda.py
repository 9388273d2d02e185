"""The meeting agenda as data, the typed words of the meeting, and checking decision values."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from dialogs.meeting.agenda import AgendaError, StepKind, default_agenda, load_agenda
from dialogs.meeting.decision import (
    FIELDS,
    DecisionContext,
    is_afternoon,
    next_missing,
    parse_field,
    parse_kind,
)
from dialogs.meeting.inputs import Move, read_participants, read_typed
from dialogs.meeting.views import MeetingView, decision_form, step_card
from dialogs.parsing import InvalidInput
from notifications.render import Renderer
from storage.models import DecisionKind, FollowUpMeeting, Stay
from tests.cards import assert_valid_card

TODAY = date(2026, 11, 23)


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer()


def context(renderer: Renderer, end: date | None = date(2026, 12, 8)) -> DecisionContext:
    return DecisionContext(TODAY, end, renderer.catalogue["meeting_fields"])


def test_agenda_follows_seed_001(renderer: Renderer) -> None:
    agenda = load_agenda(renderer.catalogue)
    assert agenda.total == 10
    assert [s.number for s in agenda.steps] == list(range(1, 11))
    assert agenda.step(1).kind is StepKind.PARTICIPANTS
    assert agenda.step(3).leads == ("sjukskoterska",) and agenda.step(3).with_person
    assert agenda.step(4).leads == ("rehab",)
    assert agenda.step(5).leads == ("omsorgspersonal",)
    assert agenda.step(8).kind is StepKind.DECISION
    assert agenda.step(10).kind is StepKind.COORDINATOR and agenda.step(10).leads == ("bot",)
    assert "Egenvårdsförmåga" in [t.text for t in agenda.step(3).topics]
    assert "Fallriskbedömning" in [t.text for t in agenda.step(4).topics]
    assert agenda.step(99) == agenda.step(10)  # a stored step past the end stays on the last
    assert agenda.participant_ids()[:2] == ["person", "relatives"]
    assert default_agenda() == agenda


@pytest.mark.parametrize(
    "breakage",
    [
        lambda steps: steps.pop(7),  # no decision step
        lambda steps: steps[1].update(id=steps[0]["id"]),  # duplicate step ids
        lambda steps: steps[2].update(leads=["lakare"]),  # a role Korttid does not know
        lambda steps: steps[2]["topics"].append(dict(steps[2]["topics"][0])),  # duplicate topic
        lambda steps: steps.append(dict(steps[0])),  # the coordinator step is not last
        lambda steps: steps[0].pop("title"),
    ],
)
def test_malformed_agenda_is_refused_at_load(
    renderer: Renderer, breakage: Callable[[list[Any]], object]
) -> None:
    catalogue = copy.deepcopy(renderer.catalogue)
    breakage(catalogue["meeting_agenda"])
    with pytest.raises(AgendaError):
        load_agenda(catalogue)


@pytest.mark.parametrize(
    ("text", "move", "numbers"),
    [
        ("nästa", Move.NEXT, None),
        ("Nästa 1, 3", Move.NEXT, (1, 3)),
        ("nästa 2 och 4", Move.NEXT, (2, 4)),
        ("tillbaka", Move.BACK, None),
        ("Hoppa över", Move.SKIP, None),
        ("pausa", Move.PAUSE, None),
        ("avbryt", Move.CANCEL, None),
        ("hjälp", Move.HELP, None),
        ("nästa vecka kommer dottern", Move.NOTE, None),
        ("deltar ssk och närstående", Move.PARTICIPANTS, None),
    ],
)
def test_typed_moves(text: str, move: Move, numbers: tuple[int, ...] | None) -> None:
    typed = read_typed(text)
    assert (typed.move, typed.topic_numbers) == (move, numbers)


def test_participants_by_typing() -> None:
    assert read_participants("den enskilde, närstående och SSK") == (
        ["person", "relatives", "sjukskoterska"],
        [],
    )
    assert read_participants("rehab + läkare") == (["rehab"], ["läkare"])


def test_decision_kinds_by_typing() -> None:
    assert parse_kind("Hemgång") == DecisionKind.HOME_GOING
    assert parse_kind("väntplats") == DecisionKind.CARE_HOME_WAIT
    assert parse_kind("förlängning.") == DecisionKind.EXTENSION
    assert parse_kind("kanske") is None


@pytest.mark.parametrize(
    ("field", "text", "key"),
    [
        ("date", "igår kväll", "date_invalid"),
        ("date", "2026-11-22", "date_in_past"),
        ("date", "2026-12-09", "meeting_home_going_after_end"),
        ("end_date", "2026-11-01", "date_in_past"),
        ("end_date", "8/12", "meeting_end_date_not_later"),
        ("time", "kvart över", "time_invalid"),
        ("time", "24:00", "time_invalid"),
        ("transport", "buss", "meeting_transport_invalid"),
        ("sip_wanted", "kanske", "meeting_yes_no_invalid"),
        ("reason", "", "meeting_field_missing"),
        ("reason", "r" * 501, "meeting_text_too_long"),
        ("text", "gäller 121212-1212", "personal_number_refused"),
        ("provider_contact", "p" * 121, "meeting_text_too_long"),
    ],
)
def test_wrong_decision_values_name_the_problem(
    renderer: Renderer, field: str, text: str, key: str
) -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_field(field, text, context(renderer))
    assert raised.value.key == key
    assert renderer.text(raised.value.key, **raised.value.values)  # renders in Swedish


def test_decision_values_are_kept_json_ready(renderer: Renderer) -> None:
    ctx = context(renderer)
    assert parse_field("date", "på fredag", ctx) == "2026-11-27"
    assert parse_field("date", "8 dec", ctx) == "2026-12-08"  # the decided end date itself is fine
    assert parse_field("time", "9.30", ctx) == "09:30"
    assert parse_field("transport", "Färdtjänst", ctx) == "fardtjanst"
    assert parse_field("home_help_meets", "Ja", ctx) is True
    assert parse_field("provider_name", "-", ctx) is None
    assert parse_field("end_date", "9/12", context(renderer, end=None)) == "2026-12-09"
    assert is_afternoon("12:01") and not is_afternoon("12:00")
    assert next_missing(DecisionKind.EXTENSION, {"end_date": "2026-12-20"}) == "reason"
    assert (
        next_missing(DecisionKind.CARE_HOME_WAIT, dict.fromkeys(FIELDS["care_home_wait"])) is None
    )


def test_every_step_and_decision_card_is_valid(renderer: Renderer) -> None:
    agenda = default_agenda()
    stay = Stay(
        id=1,
        unit_id=1,
        case_code="ÄNG-042",
        room="7",
        arrival_date=date(2026, 11, 17),
        decision_end_date=date(2026, 12, 8),
        goal="Träna förflyttning",
        followup_deadline=date(2026, 11, 24),
    )
    meeting = FollowUpMeeting(id=5, stay_id=1, started_by_id=1, owner_id=1, participants=[])
    meeting.decision = {"final": {"kind": "other", "values": {"text": "Utreds"}}, "draft": None}
    for step in agenda.steps:
        meeting.current_step = step.number
        view = MeetingView(renderer, agenda, meeting, stay, TODAY)
        card = renderer.card("meeting_step", **step_card(view))
        assert_valid_card(card)
        assert card["body"][1]["text"] == step.title
        assert f"steg {step.number} av 10" in card["body"][0]["text"]
    for kind in DecisionKind:
        card = renderer.card("meeting_decision", **decision_form(view, kind))
        assert_valid_card(card)
