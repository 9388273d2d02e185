"""``korttid tick`` sends the chat posts a press left unsent, as the serving app's ticks do.

A press in a shared chat is answered first and its card update saved as a ``chat_post`` row; when
the connector refuses it, the row stays due. An operator who runs the tick by hand (or from cron)
gets it sent too, through the recording connector: the chat's one card, updated in place.
"""

from __future__ import annotations

import argparse
from typing import Any

from bot.notify_commands import cmd_tick
from bot.settings import Settings
from tests.channel import TeamsChannel
from tests.test_meeting_shared import GROUP, answered_card, cards, press, topic_ids
from tests.test_meeting_shared_after_answer import at_step_three, puts_refused, saved_posts


async def test_korttid_tick_sends_a_card_update_left_due(
    channel: TeamsChannel, sessions: Any, settings: Settings, capsys: Any
) -> None:
    _anna, sara, card = await at_step_three(channel, sessions)
    connector = channel.connector
    [posted] = [s for s in connector.posts(GROUP) if cards([s])]

    unavailable = puts_refused()
    connector.failures.append(unavailable)
    before = len(connector.updates(GROUP))
    first = topic_ids(card)[0]
    body, _sent = await press(channel, sara, card, "Spara", **{first: "true"})
    ticked = answered_card(body)
    [kept] = await saved_posts(sessions)  # the chat's card update, left for a tick
    assert kept.kind == "update" and kept.attempts == 1
    connector.failures.remove(unavailable)
    assert len(connector.updates(GROUP)) == before

    # The clock says 09:00 in Stockholm; by 09:30 the row is due again.
    assert await cmd_tick(argparse.Namespace(now="2026-11-23T09:30"), settings) == 0
    [update] = connector.updates(GROUP)[before:]
    assert update.activity_id == posted.activity_id  # the chat's one card, in place
    assert cards([update]) == [ticked]
    assert await saved_posts(sessions) == []
    assert "chat posts due: 1" in capsys.readouterr().out

    # Sent once: the next tick has nothing left to send.
    assert await cmd_tick(argparse.Namespace(now="2026-11-23T09:45"), settings) == 0
    assert connector.updates(GROUP)[before:] == [update]
