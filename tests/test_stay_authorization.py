"""The authorization matrix, end to end: who may see a stay, tick which item, decide, register.

People see and change only their units' stays; only a handläggare records decisions; nurses and
rehab staff change only their own items; an administrator keeps the registry, not the cases;
an enhetschef sees figures, not people.
"""

from __future__ import annotations

import pytest

from tests.channel import TeamsChannel
from tests.helpers import card_texts
from tests.stay_helpers import (
    EVERYONE,
    items_of,
    plan_home_going,
    seed_people,
    seed_stay,
    stay_by_code,
)

ACTIONS = ("see", "medication", "assistive", "home_help", "home_going", "waits", "register")
MATRIX = {
    # role (email)                 see  medic assist help  home  waits register
    "hanna@kommun.se":            (1,   0,    0,     1,    1,    1,    1),
    "sara@kommun.se":             (1,   1,    0,     0,    0,    0,    0),
    "rami@kommun.se":             (1,   0,    1,     0,    0,    0,    0),
    "olle@kommun.se":             (1,   0,    0,     0,    0,    0,    0),
    "karin@kommun.se":            (1,   0,    0,     0,    0,    0,    0),
    "bo@kommun.se":               (1,   0,    0,     0,    0,    1,    0),
    "cecilia@kommun.se":          (0,   0,    0,     0,    0,    0,    0),
    "ali@kommun.se":              (0,   0,    0,     0,    0,    0,    0),
    "henrik@kommun.se":           (0,   0,    0,     0,    0,    1,    1),  # another unit
}  # fmt: skip


@pytest.mark.parametrize("email", list(MATRIX))
async def test_authorization_matrix(channel: TeamsChannel, sessions, clock, email: str) -> None:
    await seed_people(sessions, *EVERYONE)
    stay_id = await seed_stay(sessions, clock, "ÄNG-042")
    person = channel.user(email.split("@")[0], email)
    allowed: dict[str, bool] = {}

    seen = await channel.say(person, "vistelse ÄNG-042")
    allowed["see"] = any("Tidslinje" in card_texts(c) for c in _cards(seen))
    for word in ("läkemedel", "hjälpmedel", "hemtjänst"):
        await channel.say(person, f"klar {word} ÄNG-042")
    items = await items_of(sessions, stay_id)
    allowed["medication"] = items.get("medication") == "ready"
    allowed["assistive"] = items.get("assistive_devices") == "ready"
    allowed["home_help"] = items.get("home_help") == "ready"
    await plan_home_going(channel, person, "ÄNG-042", "26/11 10")
    stay = await stay_by_code(sessions, "ÄNG-042")
    allowed["home_going"] = stay is not None and stay.home_going_date is not None
    waits = await channel.say(person, "utskrivningsklar")
    allowed["waits"] = any("Utskrivningsklara som väntar" in card_texts(c) for c in _cards(waits))
    register = await channel.say(person, "ny vistelse")
    allowed["register"] = any("Ny vistelse" in card_texts(c) for c in _cards(register))

    expected = dict(zip(ACTIONS, (bool(flag) for flag in MATRIX[email]), strict=True))
    assert allowed == expected


def _cards(sent):  # type: ignore[no-untyped-def]
    return [
        attachment["content"]
        for item in sent
        for attachment in item.activity.get("attachments") or []
    ]
