"""End to end over HTTP: who may talk to Korttid, and what they first see."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func
from sqlmodel import select

from bot.app import NOTIFIER
from storage.db import transaction
from storage.models import ConversationRef, InboundActivity, Staff
from tests.channel import TeamsChannel
from tests.helpers import card_texts, seed_staff


async def test_registered_handlaggare_gets_help_card(channel: TeamsChannel, sessions) -> None:
    await seed_staff(sessions, ("anna@kommun.se", "Anna Handläggare", "handlaggare", "ÄNG"))
    anna = channel.user("anna", "anna@kommun.se", "Anna Handläggare")

    replies = await channel.say(anna, "hjälp")

    assert len(replies) == 1
    cards = channel.connector.cards()
    assert len(cards) == 1
    text = card_texts(cards[0])
    assert "Hej Anna Handläggare!" in text
    assert "Biståndshandläggare" in text
    assert "hjälp" in text
    assert replies[0].reply_to is not None


async def test_unregistered_person_is_refused_and_nothing_else(
    channel: TeamsChannel, sessions
) -> None:
    stranger = channel.user("x", "okand@annan.se")

    replies = await channel.say(stranger, "hjälp")

    assert len(replies) == 1
    assert "finns inte i Korttids personalregister" in replies[0].activity["text"]
    assert channel.connector.cards() == []
    async with transaction(sessions) as session:
        refs = (await session.exec(select(func.count()).select_from(ConversationRef))).one()
    assert refs == 0


async def test_identity_is_linked_by_email_then_by_aad_object_id(
    channel: TeamsChannel, sessions
) -> None:
    await seed_staff(sessions, ("nils@kommun.se", "Nils Sjuksköterska", "sjukskoterska", "ÄNG"))
    nils = channel.user("nils", "nils@kommun.se")

    await channel.say(nils, "hjälp")
    channel.connector.members.clear()  # the second turn must not need the look-up
    await channel.say(nils, "hjälp")

    assert len(channel.connector.cards()) == 2
    async with transaction(sessions) as session:
        staff = (await session.exec(select(Staff).where(Staff.email == "nils@kommun.se"))).one()
        ref = (await session.exec(select(ConversationRef))).one()
    assert staff.aad_object_id == "aad-nils"
    assert ref.staff_id == staff.id
    assert ref.tenant_id is not None
    assert ref.service_url == channel.connector.url


async def test_unknown_text_gets_a_helpful_answer(channel: TeamsChannel, sessions) -> None:
    await seed_staff(sessions, ("anna@kommun.se", "Anna", "handlaggare", "ÄNG"))
    anna = channel.user("anna", "anna@kommun.se")

    replies = await channel.say(anna, "vad gör du?")

    assert len(replies) == 1
    assert "hjälp" in replies[0].activity["text"]


async def test_same_activity_twice_is_answered_once(channel: TeamsChannel, sessions) -> None:
    await seed_staff(sessions, ("anna@kommun.se", "Anna", "handlaggare", "ÄNG"))
    anna = channel.user("anna", "anna@kommun.se")
    activity = channel.activity(anna, text="hjälp")

    await channel.post(activity)
    await channel.post(activity)

    assert len(channel.connector.sent) == 1


async def test_the_tick_forgets_activity_ids_after_a_day_but_never_a_greeting(
    channel: TeamsChannel, sessions, app_server
) -> None:
    await seed_staff(sessions, ("anna@kommun.se", "Anna", "handlaggare", "ÄNG"))
    anna = channel.user("anna", "anna@kommun.se")
    await channel.post(channel.activity(anna, type_="installationUpdate", action="add"))
    activity = channel.activity(anna, text="hjälp")
    await channel.post(activity)
    received = datetime.now(UTC)
    notifier = app_server.app[NOTIFIER]

    await notifier.evaluate(received + timedelta(hours=23))
    await channel.post(activity)  # re-sent within the day: still recognised
    assert len(channel.connector.sent) == 2  # the greeting and the help card
    await notifier.evaluate(received + timedelta(hours=25))

    async with transaction(sessions) as session:
        kept = (await session.exec(select(InboundActivity.activity_id))).all()
    assert len(kept) == 1 and kept[0].startswith("greeting|")


async def test_database_error_gets_apology_and_writes_nothing(
    channel: TeamsChannel, sessions, caplog
) -> None:
    from sqlalchemy import text

    await seed_staff(sessions, ("anna@kommun.se", "Anna", "handlaggare", "ÄNG"))
    anna = channel.user("anna", "anna@kommun.se")
    async with transaction(sessions) as session:
        await session.exec(text("DROP TABLE staff_role"))  # type: ignore[call-overload]

    replies = await channel.say(anna, "hjälp")

    assert len(replies) == 1
    assert "Förlåt, något gick fel" in replies[0].activity["text"]
    assert "felkod" in replies[0].activity["text"]
    correlation = replies[0].activity["text"].rsplit(" ", 1)[-1].rstrip(".")
    assert any(correlation in record.getMessage() for record in caplog.records)
    async with transaction(sessions) as session:
        refs = (await session.exec(select(func.count()).select_from(ConversationRef))).one()
    assert refs == 0  # the turn's writes were rolled back together


async def test_conversation_reference_captured_for_channel(channel: TeamsChannel, sessions) -> None:
    await seed_staff(sessions, ("chef@kommun.se", "Cecilia", "enhetschef", "ÄNG"))
    chef = channel.user("chef", "chef@kommun.se")

    await channel.say(
        chef,
        "<at>Korttid</at> koppla kanal äng",
        conversation_id="19:channel@thread.tacv2",
        conversation_type="channel",
        team_id="19:team@thread.tacv2",
        entities=[
            {
                "type": "mention",
                "text": "<at>Korttid</at>",
                "mentioned": {"id": "28:korttid-bot", "name": "Korttid"},
            }
        ],
    )

    assert "Ängens" in channel.connector.texts()[-1] or "ÄNG" in channel.connector.texts()[-1]
    async with transaction(sessions) as session:
        ref = (
            await session.exec(
                select(ConversationRef).where(
                    ConversationRef.conversation_id == "19:channel@thread.tacv2"
                )
            )
        ).one()
    assert ref.kind == "channel"
    assert ref.unit_id is not None
    assert ref.team_id == "19:team@thread.tacv2"


async def test_only_a_manager_may_link_a_channel(channel: TeamsChannel, sessions) -> None:
    await seed_staff(sessions, ("nils@kommun.se", "Nils", "sjukskoterska", "ÄNG"))
    nils = channel.user("nils", "nils@kommun.se")

    replies = await channel.say(
        nils,
        "koppla kanal ÄNG",
        conversation_id="19:c2@thread.tacv2",
        conversation_type="channel",
        team_id="19:t2@thread.tacv2",
    )

    assert "enhetschef" in replies[0].activity["text"]
    async with transaction(sessions) as session:
        ref = (await session.exec(select(ConversationRef))).one()
    assert ref.unit_id is None


async def test_personal_number_in_text_is_refused_and_not_echoed(
    channel: TeamsChannel, sessions
) -> None:
    await seed_staff(sessions, ("anna@kommun.se", "Anna", "handlaggare", "ÄNG"))
    anna = channel.user("anna", "anna@kommun.se")

    replies = await channel.say(anna, "hur går det för 19121212-1212?")

    assert "personnummer" in replies[0].activity["text"]
    assert "1212" not in replies[0].activity["text"]
