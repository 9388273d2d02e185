"""Personal identity numbers: refused on every free-text path, never stored, never logged.

Each test writes identity numbers (personnummer in its forms, a samordningsnummer) through the
bot's free-text paths over HTTP, as Teams would send them, then searches every value of every
table, every reply the bot sent, and the log: both the raw records (code must never log what
people type) and the output of the production log handler with its tracebacks, at DEBUG.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from bot.logs import setup_logging
from tests.channel import TeamsChannel, TeamsUser
from tests.db_snapshot import all_values
from tests.meeting_helpers import press, seed_meeting_world, step_of
from tests.stay_helpers import (
    BO,
    HANNA,
    HOME_GOING_ANSWERS,
    KARIN,
    SARA,
    last_card,
    seed_people,
    seed_stay,
    texts,
)

# Valid by the Luhn rule: the forms staff write, and a samordningsnummer (day + 60).
NUMBERS = ("19121212-1212", "121212-1212", "1212121212", "121212+1212", "121272-1219")
NEEDLES = (*NUMBERS, "121212 1212", "191212121212", "1212721219")
REFUSED = "personnummer eller samordningsnummer"


@pytest.fixture
def log_output(caplog: pytest.LogCaptureFixture) -> Iterator[io.StringIO]:
    """The production log handler (``setup_logging``) at DEBUG, writing to a buffer."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    setup_logging("DEBUG", secrets=("a-client-secret-value",))
    ours = next(h for h in root.handlers if h.get_name() == "korttid")
    buffer = io.StringIO()
    assert isinstance(ours, logging.StreamHandler)
    ours.setStream(buffer)
    caplog.set_level(logging.DEBUG)
    yield buffer
    root.handlers[:], root.level = handlers, level


def _numbers() -> Iterator[str]:
    while True:
        yield from NUMBERS


async def _assert_nowhere(channel: TeamsChannel, sessions: Any, caplog: Any, log: io.StringIO):  # type: ignore[no-untyped-def]
    stored = await all_values(sessions)
    replies = "\n".join(str(sent.activity) for sent in channel.connector.sent)
    raw_messages = "\n".join(record.getMessage() for record in caplog.records)
    for needle in NEEDLES:
        assert needle not in stored, f"{needle} stored"
        assert needle not in replies, _echoes(channel, needle)
        assert needle not in raw_messages, f"{needle} in a log message"
        assert needle not in log.getvalue(), f"{needle} in the log output"


async def _refused(channel: TeamsChannel, user: TeamsUser, text: str) -> str:
    said = texts(await channel.say(user, text))
    assert REFUSED in said, (text, said)
    return said


async def _card_refused(channel: TeamsChannel, user: TeamsUser, value: dict[str, Any]) -> None:
    said = texts(await channel.submit(user, value))
    assert REFUSED in said, (value, said)


async def test_commands_and_card_payloads(
    channel: TeamsChannel, sessions: Any, clock: Any, caplog: Any, log_output: io.StringIO
) -> None:
    await seed_people(sessions, HANNA, SARA, KARIN, BO)
    stay_id = await seed_stay(sessions, clock, "ÄNG-042")
    hanna = channel.user("hanna", HANNA[0], HANNA[1])
    number = _numbers()

    for command in (
        "{}",
        "vistelse {}",
        "hur går det för {}?",
        "hemgång ÄNG-042 {}",
        "klar läkemedel {}",
        "checklista {}",
        "avsluta {}",
        "uppföljning {}",
        "rapport {}",
        "utskrivningsklar {} annat",
    ):
        await _refused(channel, hanna, command.format(next(number)))

    # Card payloads come from the client and can be altered: nothing of them is kept or echoed.
    for value in (
        {"action": next(number)},
        {"action": "open_stay", "stay_id": next(number)},
        {"action": "open_stay", "stay_id": "191212121212"},
        {"action": "close_stay", "stay_id": next(number)},
        {"action": "meeting_start", "stay_id": next(number)},
        {"action": "meeting", "meeting_id": next(number), "note": next(number)},
        {"action": "open_checklist", "stay_id": stay_id, "note": next(number)},
        {"step": "register_stay.goal", "answer": next(number)},
    ):
        response = await channel.post(channel.activity(hanna, value=value))
        assert response.status == 200
    invoke = channel.activity(
        hanna,
        type_="invoke",
        name="adaptiveCard/action",
        value={"action": {"type": "Action.Execute", "verb": next(number), "data": {}}},
    )
    assert (await channel.post(invoke)).status == 200

    await _assert_nowhere(channel, sessions, caplog, log_output)


async def test_every_question_of_the_stay_forms(
    channel: TeamsChannel, sessions: Any, clock: Any, caplog: Any, log_output: io.StringIO
) -> None:
    """Before each answer of each form, an identity number: refused, and the question stays."""
    await seed_people(sessions, HANNA, SARA, KARIN, BO)
    await seed_stay(sessions, clock, "ÄNG-042", arrived_days_ago=9)
    hanna = channel.user("hanna", HANNA[0], HANNA[1])
    bo = channel.user("bo", BO[0], BO[1])
    number = _numbers()
    forms: list[tuple[TeamsUser, str, tuple[str, ...]]] = [
        (
            hanna,
            "ny vistelse",
            ("ja", "5", "idag", "2026-12-14", "Träna förflyttning", "nej", "1", "spara"),
        ),
        (bo, "utskrivningsklar ny", ("äng-050", "20/11 kl 10:15")),
        (hanna, "hemgång ÄNG-042", ("25/11 10:00", *HOME_GOING_ANSWERS)),
        (hanna, "avsluta ÄNG-042", ("sjukhus", "idag", "avsluta")),
    ]
    for user, start, answers in forms:
        await channel.say(user, start)
        for answer in answers:
            step = _open_step(channel)
            await _refused(channel, user, f"Gäller {next(number)}")
            await _card_refused(channel, user, _typed_into_card(channel, step, next(number)))
            assert _open_step(channel) == step  # the same question, still open
            await channel.say(user, answer)
    assert "Vistelsen ÄNG-042 är avslutad" in "\n".join(channel.connector.texts())

    await _assert_nowhere(channel, sessions, caplog, log_output)
    # Nor is any other typed text logged, even at DEBUG: the goal is stored, never logged.
    assert "Träna förflyttning" in await all_values(sessions)
    assert "Träna förflyttning" not in log_output.getvalue()


def _typed_into_card(channel: TeamsChannel, step: str, text: str) -> dict[str, Any]:
    """The question card sent back with the text in every input, or as a tampered choice."""
    card = channel.connector.cards()[-1]
    inputs = [n["id"] for n in _walk(card) if str(n.get("type", "")).startswith("Input.")]
    return (
        {"step": step, **dict.fromkeys(inputs, text)} if inputs else {"step": step, "choice": text}
    )


def _open_step(channel: TeamsChannel) -> str:
    """The step id of the question card last shown."""
    for sent in reversed(channel.connector.sent):
        for attachment in sent.activity.get("attachments") or []:
            for node in _walk(attachment.get("content")):
                if isinstance(node.get("data"), dict) and "step" in node["data"]:
                    return str(node["data"]["step"])
    raise AssertionError("no question card was shown")


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


async def test_every_free_text_of_the_follow_up_meeting(
    channel: TeamsChannel, sessions: Any, caplog: Any, log_output: io.StringIO
) -> None:
    await seed_meeting_world(sessions)
    anna = channel.user("anna", "anna@kommun.se", "Anna Handläggare")
    number = _numbers()

    await channel.say(anna, "uppföljning ÄNG-042")
    await _refused(channel, anna, f"Anteckning: {next(number)} bor ensam")
    card = channel.connector.cards()[-1]
    await _card_refused(channel, anna, press(card, "Nästa", note=f"Pnr {next(number)}"))
    await channel.say(anna, f"deltagare {next(number)}")
    await channel.say(anna, "avbryt")
    await channel.say(anna, next(number))  # the answer to "really cancel?" is not kept
    while step_of(channel.connector.cards()[-1]) < 8:
        await channel.say(anna, "nästa")

    # The decision asked field by field: every answer first given as an identity number.
    await channel.say(anna, "hemgång")
    for answer in ("imorgon", "9", "närstående", "nej", "Omsorg Öst AB", "031-123 45 67"):
        await channel.say(anna, f"{next(number)}")
        await channel.say(anna, answer)
    await channel.say(anna, "ja")
    await channel.say(anna, "ja")
    # The card form of another kind, with the number in its free-text field.
    await channel.say(anna, "tillbaka")
    decision_card = last_card(channel.connector.sent)
    await channel.submit(anna, _decide(decision_card, "other"))
    form = last_card(channel.connector.sent)
    await channel.submit(anna, _save(form, text=f"Annat: {next(number)}"))

    await _assert_nowhere(channel, sessions, caplog, log_output)


def _decide(card: dict[str, Any], kind: str) -> dict[str, Any]:
    for node in _walk(card):
        data = node.get("data")
        if isinstance(data, dict) and data.get("kind") == kind and data.get("move") == "decide":
            return dict(data)
    raise AssertionError(f"no button for {kind}")


def _save(card: dict[str, Any], **inputs: str) -> dict[str, Any]:
    for node in _walk(card):
        data = node.get("data")
        if isinstance(data, dict) and data.get("move") == "decision_save":
            values = {
                n["id"]: n.get("value", "")
                for n in _walk(card)
                if str(n.get("type", "")).startswith("Input.")
            }
            return {**values, **inputs, **data}
    raise AssertionError("no save button")


def _echoes(channel: TeamsChannel, needle: str) -> str:
    """Where a number went back to the chat: the texts and card values that hold it."""
    found = []
    for sent in channel.connector.sent:
        if needle in str(sent.activity):
            found.append(str(sent.activity.get("text") or ""))
            found.extend(
                str(n)
                for n in _walk(sent.activity.get("attachments"))
                if needle in str(n.get("value", "")) or needle in str(n.get("text", ""))
            )
    return "\n".join(found)[:2000]
