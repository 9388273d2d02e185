"""Outgoing activities are serialized in one pass (bot/adapter.py): the body must be msrest's."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

import pytest
from botbuilder.core import CardFactory, MessageFactory, TurnContext
from botbuilder.schema import (
    Activity,
    ActivityTypes,
    Attachment,
    CardAction,
    ChannelAccount,
    ConversationAccount,
    Entity,
    SuggestedActions,
)
from botframework.connector.aio import ConnectorClient
from botframework.connector.auth import MicrosoftAppCredentials
from msrest.serialization import Model

from bot.adapter import send_cards_as_they_are
from notifications.render import Card

INBOUND = Activity(
    type="message",
    id="1f2e",
    text="nästa",
    from_property=ChannelAccount(id="29:user", name="Anna", aad_object_id="aad-1"),
    recipient=ChannelAccount(id="28:bot", name="Korttid"),
    conversation=ConversationAccount(id="a:conv", conversation_type="personal", tenant_id="t1"),
    service_url="https://smba.example/emea/",
    channel_id="msteams",
    channel_data={"tenant": {"id": "t1"}},
    locale="sv-SE",
)

CARD = Card(
    {
        "type": "AdaptiveCard",
        "version": "1.5",
        "body": [{"type": "TextBlock", "text": "Steg 2 av 10 – Mål", "wrap": True}],
        "actions": [{"type": "Action.Submit", "title": "Nästa", "data": {"a": "next", "n": 2}}],
    }
)


def _reply(activity: Activity) -> Activity:
    return TurnContext.apply_conversation_reference(
        activity, TurnContext.get_conversation_reference(INBOUND)
    )


def _activities(card: dict[str, Any] = CARD) -> list[Activity]:
    """What Korttid sends; ``card`` as a plain dict gives what msrest is shown for comparison."""
    text = _reply(MessageFactory.text("Hej! Skriv **hjälp** för att se vad jag kan."))
    with_card = _reply(MessageFactory.attachment(CardFactory.adaptive_card(card)))
    with_card.reply_to_id = INBOUND.id
    decorated = _reply(MessageFactory.text("Välj"))
    decorated.suggested_actions = SuggestedActions(
        actions=[CardAction(type="imBack", title="Ja", value="ja")]
    )
    decorated.entities = [Entity(type="mention")]
    decorated.channel_data = {"notification": {"alert": True}}
    decorated.timestamp = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    typing = _reply(Activity(type=ActivityTypes.typing))
    two_cards = _reply(
        MessageFactory.list(
            [CardFactory.adaptive_card(card), CardFactory.adaptive_card(dict(CARD))]
        )
    )
    return [text, with_card, decorated, typing, two_cards]


def _client() -> ConnectorClient:
    return ConnectorClient(MicrosoftAppCredentials("", ""), base_url=INBOUND.service_url)


@pytest.mark.parametrize("index", range(len(_activities())))
def test_body_sent_is_the_one_msrest_would_send(index: int) -> None:
    reference_client, fast_client = _client(), _client()
    send_cards_as_they_are(fast_client)
    expected = reference_client._serialize.body(_activities(dict(CARD))[index], "Activity")
    sent = fast_client._serialize.body(_activities()[index], "Activity")
    assert sent == expected


def test_the_card_sent_is_the_card_rendered_and_the_activity_keeps_it() -> None:
    client = _client()
    send_cards_as_they_are(client)
    activity = _activities()[1]
    sent = client._serialize.body(activity, "Activity")
    assert sent["attachments"][0]["content"] == CARD
    assert sent["attachments"][0]["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert activity.attachments[0].content is CARD  # put back after serializing


class _CardModel(Model):  # type: ignore[misc]
    _attribute_map: ClassVar[dict[str, dict[str, str]]] = {"title": {"key": "title", "type": "str"}}

    def __init__(self, title: str) -> None:
        super().__init__()
        self.title = title


def test_content_that_is_not_plain_json_still_goes_the_msrest_way() -> None:
    reference_client, fast_client = _client(), _client()
    send_cards_as_they_are(fast_client)

    def build(card: dict[str, Any]) -> Activity:
        content: Any = _CardModel("Hej")
        return _reply(
            MessageFactory.list(
                [
                    Attachment(content_type="x", content=content),
                    CardFactory.adaptive_card(card),
                ]
            )
        )

    expected = reference_client._serialize.body(build(dict(CARD)), "Activity")
    sent = fast_client._serialize.body(build(CARD), "Activity")
    assert sent == expected
    assert sent["attachments"][0]["content"] == {"title": "Hej"}
    assert sent["attachments"][1]["content"] == CARD  # a JSON object, not the repr of one
