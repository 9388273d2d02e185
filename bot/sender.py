"""The ``Sender`` the dispatcher uses: a proactive message through the Bot Framework adapter."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import aiohttp
import requests
from botbuilder.core import CardFactory, MessageFactory, TurnContext
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import ConversationReference
from msrest.exceptions import ClientException, HttpOperationError

from notifications.dispatcher import SendFailed

DEFAULT_TIMEOUT_SECONDS = 20.0


class BotSender:
    """Sends an Adaptive Card to a stored conversation reference with
    ``adapter.continue_conversation``; failures become ``SendFailed`` with the HTTP status."""

    def __init__(
        self, adapter: CloudAdapter, app_id: str, timeout: float = DEFAULT_TIMEOUT_SECONDS
    ) -> None:
        self.adapter = adapter
        # Must equal the configured MicrosoftAppId; in dev mode both are "" (anonymous).
        self.app_id = app_id
        self.timeout = timeout

    async def send(
        self, reference: Mapping[str, Any], card: Mapping[str, Any], *, tenant_id: str | None
    ) -> str | None:
        activity = MessageFactory.attachment(CardFactory.adaptive_card(dict(card)))
        if tenant_id:
            # The SDK drops conversation.tenantId from references; Teams reads it from here.
            activity.channel_data = {"tenant": {"id": tenant_id}}
        outcome: dict[str, Any] = {}

        async def callback(context: TurnContext) -> None:
            # The adapter's on_turn_error would swallow an exception raised here: carry it out.
            try:
                response = await context.send_activity(activity)
                outcome["id"] = response.id if response is not None else None
            except Exception as error:
                outcome["error"] = error

        try:
            async with asyncio.timeout(self.timeout):
                await self.adapter.continue_conversation(
                    ConversationReference().deserialize(dict(reference)), callback, self.app_id
                )
        except TimeoutError as error:
            raise SendFailed(None, reason="timeout") from error
        except Exception as error:
            raise as_send_failed(error) from error
        if "error" in outcome:
            raise as_send_failed(outcome["error"]) from outcome["error"]
        sent_id = outcome.get("id")
        return str(sent_id) if sent_id else None


def as_send_failed(error: BaseException) -> SendFailed:
    """A connector failure as the dispatcher reads it: the HTTP status, or why there was none."""
    response = getattr(error, "response", None)
    status = getattr(response, "status_code", None) or getattr(response, "status", None)
    if isinstance(error, HttpOperationError) or isinstance(status, int):
        headers = getattr(response, "headers", None) or {}
        return SendFailed(
            int(status) if isinstance(status, int) else None,
            retry_after=headers.get("Retry-After"),
            reason=type(error).__name__,
        )
    if isinstance(
        error, ClientException | requests.RequestException | aiohttp.ClientError | OSError
    ):
        return SendFailed(None, reason=f"network: {type(error).__name__}")
    return SendFailed(None, reason=f"unexpected: {type(error).__name__}")
