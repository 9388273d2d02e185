"""Over HTTP: correcting answers in ``ny vistelse`` without starting over, and dates as typed.

The clock stands at Monday 23 November 2026, 09:00 in Stockholm.
"""

from __future__ import annotations

from datetime import date

from tests.cards import assert_valid_card
from tests.channel import TeamsChannel
from tests.helpers import card_texts
from tests.stay_helpers import HANNA, KARIN, SARA, last_card, seed_people, stay_by_code, texts


def _hanna(channel: TeamsChannel):  # type: ignore[no-untyped-def]
    return channel.user("hanna", "hanna@kommun.se", "Hanna Handläggare")


async def test_a_bare_number_is_not_taken_as_the_case_code(channel: TeamsChannel, sessions) -> None:
    await seed_people(sessions, HANNA, SARA, KARIN)
    hanna = _hanna(channel)
    await channel.say(hanna, "ny vistelse")

    guessed = await channel.say(hanna, "14")

    assert "Menar du ÄNG-014?" in texts(guessed)
    room_question = await channel.say(hanna, "ÄNG-014")
    assert "Vilket rum får ÄNG-014?" in card_texts(last_card(room_question))
    assert await stay_by_code(sessions, "14") is None


async def test_tillbaka_and_change_on_the_summary_keep_the_other_answers(
    channel: TeamsChannel, sessions
) -> None:
    await seed_people(sessions, HANNA, SARA, KARIN)
    hanna = _hanna(channel)
    await channel.say(hanna, "ny vistelse")
    for answer in ("ÄNG-014", "5", "i går"):
        await channel.say(hanna, answer)

    back = last_card(await channel.say(hanna, "tillbaka"))
    assert_valid_card(back)
    assert "Vilket datum kom personen" in card_texts(back)
    for answer in ("i förrgår", "om två veckor", "ja", "Träna förflyttning", "nej", "1"):
        replies = await channel.say(hanna, answer)
    summary = last_card(replies)
    assert_valid_card(summary)
    assert "lördag 21 november 2026" in card_texts(summary)  # i förrgår, not i går
    assert "måndag 7 december 2026" in card_texts(summary)  # om två veckor

    change = {"step": "register_stay.confirm", "answer": "ändra:register_stay.room"}
    room_again = last_card(await channel.submit(hanna, change))
    assert "Vilket rum får ÄNG-014?" in card_texts(room_again)
    summary_again = last_card(await channel.say(hanna, "7"))  # straight back to the summary
    assert "Stämmer det här?" in card_texts(summary_again)
    assert "lördag 21 november 2026" in card_texts(summary_again)
    done = await channel.say(hanna, "spara")

    assert "Vistelsen ÄNG-014 är registrerad" in texts(done)
    stay = await stay_by_code(sessions, "ÄNG-014")
    assert stay is not None
    assert (stay.room, stay.arrival_date, stay.decision_end_date, stay.goal) == (
        "7",
        date(2026, 11, 21),
        date(2026, 12, 7),
        "Träna förflyttning",
    )


async def test_a_changed_arrival_checks_the_kept_end_date_again(
    channel: TeamsChannel, sessions
) -> None:
    await seed_people(sessions, HANNA, SARA, KARIN)
    hanna = _hanna(channel)
    await channel.say(hanna, "ny vistelse")
    for answer in ("ja", "-", "i dag", "om 3 dagar", "ja", "Mål", "nej", "1"):
        await channel.say(hanna, answer)

    await channel.say(hanna, "tillbaka")  # to the nurse
    await channel.say(hanna, "tillbaka")  # to acute placement
    await channel.say(hanna, "tillbaka")  # to the goal
    await channel.say(hanna, "tillbaka")  # to the SoL order
    await channel.say(hanna, "tillbaka")  # to the end date
    end_question = last_card(await channel.say(hanna, "tillbaka"))  # to the arrival
    assert "Vilket datum kom personen" in card_texts(end_question)
    replies = await channel.say(hanna, "i fredags")
    # The end date, goal and the rest are kept: the summary comes back at once.
    assert "Stämmer det här?" in card_texts(last_card(replies))
    assert "fredag 20 november 2026" in card_texts(last_card(replies))
    assert "torsdag 26 november 2026" in card_texts(last_card(replies))


async def test_tillbaka_at_the_first_question_says_so(channel: TeamsChannel, sessions) -> None:
    await seed_people(sessions, HANNA, SARA, KARIN)
    hanna = _hanna(channel)
    await channel.say(hanna, "ny vistelse")

    replies = await channel.say(hanna, "tillbaka")

    assert "första frågan" in texts(replies)
    room = await channel.say(hanna, "ja")  # the question is still open
    assert "Vilket rum" in card_texts(last_card(room))


async def test_dates_as_staff_type_them_with_clear_refusals(
    channel: TeamsChannel, sessions
) -> None:
    await seed_people(sessions, HANNA, SARA, KARIN)
    hanna = _hanna(channel)
    await channel.say(hanna, "ny vistelse")
    await channel.say(hanna, "ja")
    await channel.say(hanna, "-")

    misspelled = await channel.say(hanna, "i fredgs")
    assert "Menar du fredag?" in texts(misspelled)
    impossible = await channel.say(hanna, "31/11")
    assert "november har inte dag 31" in texts(impossible)
    end_question = await channel.say(hanna, "i fredags")
    assert "SoL-beslutet" in card_texts(last_card(end_question))
    week_day = await channel.say(hanna, "v. 50 tisdag")
    assert "SoL-beställningen" in card_texts(last_card(week_day))
    goal_question = await channel.say(hanna, "ja")
    assert "Vad är målet" in card_texts(last_card(goal_question))
    for answer in ("Mål", "nej", "1"):
        summary = await channel.say(hanna, answer)
    assert "tisdag 8 december 2026" in card_texts(last_card(summary))
    assert await stay_by_code(sessions, "ÄNG-001") is None  # nothing saved before spara
