"""Installing and removing the app, end to end over HTTP, as Teams announces it.

Teams tells the bot twice about one installation: a ``conversationUpdate`` whose ``membersAdded``
holds the bot (in a team with ``channelData.eventType`` ``teamMemberAdded``) and an
``installationUpdate`` with ``action`` ``add``. The greeting must still come once.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import select

from storage.db import transaction
from storage.models import ConversationKind, ConversationRef
from tests.channel import BOT, TeamsChannel, TeamsUser
from tests.helpers import card_texts, seed_staff

TEAM_ID = "19:team-general@thread.tacv2"
GENERAL = TEAM_ID  # Teams uses the team's id as its General channel's conversation id


def team_event(
    channel: TeamsChannel, user: TeamsUser, type_: str, event_type: str | None = None, **extra: Any
) -> dict[str, Any]:
    activity = channel.activity(
        user,
        type_=type_,
        conversation_id=GENERAL,
        conversation_type="channel",
        team_id=TEAM_ID,
        **extra,
    )
    activity["conversation"]["isGroup"] = True
    activity["channelData"]["team"]["name"] = "Korttid Ängen"
    if event_type:
        activity["channelData"]["eventType"] = event_type
    return activity


def personal_event(
    channel: TeamsChannel, user: TeamsUser, type_: str, **extra: Any
) -> dict[str, Any]:
    return channel.activity(user, type_=type_, **extra)


async def post_all(channel: TeamsChannel, *activities: dict[str, Any]) -> None:
    for activity in activities:
        response = await channel.post(activity)
        assert response.status == 200, response.status


async def references(sessions) -> list[ConversationRef]:  # type: ignore[no-untyped-def]
    async with transaction(sessions) as session:
        return list((await session.exec(select(ConversationRef))).all())


async def install_in_team(channel: TeamsChannel, user: TeamsUser) -> None:
    await post_all(
        channel,
        team_event(
            channel, user, "conversationUpdate", "teamMemberAdded", membersAdded=[dict(BOT)]
        ),
        team_event(channel, user, "installationUpdate", action="add"),
    )


async def install_personally(channel: TeamsChannel, user: TeamsUser) -> None:
    await post_all(
        channel,
        personal_event(channel, user, "installationUpdate", action="add"),
        personal_event(channel, user, "conversationUpdate", membersAdded=[dict(BOT)]),
    )


# --- a team ------------------------------------------------------------------------------------


async def test_added_to_a_team_greets_the_channel_once_and_explains_linking(
    channel: TeamsChannel, sessions
) -> None:
    await seed_staff(sessions, ("eva@kommun.se", "Eva Chef", "enhetschef", "ÄNG"))
    eva = channel.user("eva", "eva@kommun.se", "Eva Chef")

    await install_in_team(channel, eva)

    assert len(channel.connector.sent) == 1
    greeting = channel.connector.sent[0]
    assert greeting.conversation_id == GENERAL
    text = greeting.activity["text"]
    assert "Korttid" in text
    assert "koppla kanal ÄNG" in text
    [ref] = await references(sessions)
    assert (ref.kind, ref.team_id, ref.active, ref.staff_id) == (
        ConversationKind.CHANNEL,
        TEAM_ID,
        True,
        None,
    )


async def test_a_linked_team_channel_works_after_the_greeting(
    channel: TeamsChannel, sessions
) -> None:
    await seed_staff(sessions, ("eva@kommun.se", "Eva Chef", "enhetschef", "ÄNG"))
    eva = channel.user("eva", "eva@kommun.se", "Eva Chef")
    await install_in_team(channel, eva)

    replies = await channel.say(
        eva,
        "<at>Korttid</at> koppla kanal äng",
        conversation_id=GENERAL,
        conversation_type="channel",
        team_id=TEAM_ID,
        entities=[
            {
                "type": "mention",
                "text": "<at>Korttid</at>",
                "mentioned": {"id": BOT["id"], "name": BOT["name"]},
            }
        ],
    )

    assert ["Klart!" in r.activity["text"] for r in replies] == [True]
    [ref] = await references(sessions)
    assert ref.unit_id is not None


async def test_someone_else_joining_the_team_is_not_greeted(
    channel: TeamsChannel, sessions
) -> None:
    eva = channel.user("eva", "eva@kommun.se")
    await install_in_team(channel, eva)
    channel.connector.clear()
    newcomer = {"id": "29:new", "name": "Ny Kollega", "aadObjectId": "aad-new"}

    await post_all(
        channel,
        team_event(channel, eva, "conversationUpdate", "teamMemberAdded", membersAdded=[newcomer]),
    )

    assert channel.connector.sent == []


async def test_removed_from_a_team_retires_every_channel_of_that_team(
    channel: TeamsChannel, sessions
) -> None:
    await seed_staff(sessions, ("eva@kommun.se", "Eva Chef", "enhetschef", "ÄNG"))
    eva = channel.user("eva", "eva@kommun.se")
    await install_in_team(channel, eva)
    # A second channel of the same team that the bot has already talked in.
    await channel.say(
        eva,
        "hjälp",
        conversation_id="19:team-natt@thread.tacv2",
        conversation_type="channel",
        team_id=TEAM_ID,
    )
    channel.connector.clear()

    await post_all(
        channel,
        team_event(
            channel, eva, "conversationUpdate", "teamMemberRemoved", membersRemoved=[dict(BOT)]
        ),
        team_event(channel, eva, "installationUpdate", action="remove"),
    )

    refs = await references(sessions)
    assert len(refs) == 2
    assert [ref.active for ref in refs] == [False, False]
    assert channel.connector.sent == []  # the bot can no longer post there, and does not try


async def test_added_again_after_removal_greets_again(channel: TeamsChannel, sessions) -> None:
    eva = channel.user("eva", "eva@kommun.se")
    await install_in_team(channel, eva)
    await post_all(channel, team_event(channel, eva, "installationUpdate", action="remove"))
    channel.connector.clear()

    await install_in_team(channel, eva)

    assert len(channel.connector.sent) == 1
    assert "koppla kanal" in channel.connector.sent[0].activity["text"]
    [ref] = await references(sessions)
    assert ref.active


async def test_an_app_upgrade_neither_greets_nor_retires(channel: TeamsChannel, sessions) -> None:
    eva = channel.user("eva", "eva@kommun.se")
    await install_in_team(channel, eva)
    channel.connector.clear()

    await post_all(channel, team_event(channel, eva, "installationUpdate", action="add-upgrade"))

    assert channel.connector.sent == []
    [ref] = await references(sessions)
    assert ref.active


# --- personal ----------------------------------------------------------------------------------


async def test_added_personally_by_staff_greets_with_their_roles_and_commands(
    channel: TeamsChannel, sessions
) -> None:
    await seed_staff(
        sessions, ("anna@kommun.se", "Anna Handläggare", "handlaggare;koordinator", "ÄNG")
    )
    anna = channel.user("anna", "anna@kommun.se", "Anna Handläggare")

    await install_personally(channel, anna)

    assert len(channel.connector.sent) == 1
    [card] = channel.connector.cards(anna.conversation_id)
    text = card_texts(card)
    assert "Hej Anna Handläggare!" in text
    assert "Biståndshandläggare" in text and "Korttidskoordinator" in text
    assert "hjälp" in text
    [ref] = await references(sessions)
    assert (ref.kind, ref.active) == (ConversationKind.PERSONAL, True)
    assert ref.staff_id is not None


async def test_added_personally_by_someone_unknown_says_who_to_ask(
    channel: TeamsChannel, sessions
) -> None:
    stranger = channel.user("x", "okand@annan.se")

    await install_personally(channel, stranger)

    assert channel.connector.cards() == []
    assert len(channel.connector.sent) == 1
    text = channel.connector.sent[0].activity["text"]
    assert "finns inte i personalregistret" in text
    assert "Korttids administratör" in text  # the configured contact


async def test_removed_personally_retires_the_chat_and_a_new_message_revives_it(
    channel: TeamsChannel, sessions
) -> None:
    await seed_staff(sessions, ("anna@kommun.se", "Anna", "handlaggare", "ÄNG"))
    anna = channel.user("anna", "anna@kommun.se")
    await install_personally(channel, anna)
    channel.connector.clear()

    await post_all(channel, personal_event(channel, anna, "installationUpdate", action="remove"))

    [ref] = await references(sessions)
    assert not ref.active
    assert channel.connector.sent == []

    await channel.say(anna, "hjälp")

    [ref] = await references(sessions)
    assert ref.active


async def test_reinstalled_personally_greets_again(channel: TeamsChannel, sessions) -> None:
    await seed_staff(sessions, ("anna@kommun.se", "Anna", "handlaggare", "ÄNG"))
    anna = channel.user("anna", "anna@kommun.se")
    await install_personally(channel, anna)
    await post_all(
        channel, personal_event(channel, anna, "installationUpdate", action="remove-upgrade")
    )
    channel.connector.clear()

    await install_personally(channel, anna)

    assert len(channel.connector.cards()) == 1


# --- a group chat (issue 16) -------------------------------------------------------------------


async def test_added_to_a_group_chat_greets_the_chat_without_telling_it_who_is_unknown(
    channel: TeamsChannel, sessions
) -> None:
    await seed_staff(sessions, ("anna@kommun.se", "Anna Handläggare", "handlaggare", "ÄNG"))
    anna = channel.user("anna", "anna@kommun.se", "Anna Handläggare")
    group = {"conversation_id": "19:group@thread.v2", "conversation_type": "groupChat"}

    await post_all(
        channel,
        channel.activity(anna, type_="installationUpdate", action="add", **group),
        channel.activity(anna, type_="conversationUpdate", membersAdded=[dict(BOT)], **group),
    )

    assert len(channel.connector.sent) == 1
    text = channel.connector.sent[0].activity["text"]
    assert "@Korttid uppföljning" in text
    assert "alla i chatten är personal på enheten" in text
    assert "personalregistret" not in text
