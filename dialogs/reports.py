"""``rapport``: the digest on demand for an enhetschef's units (aggregates only, no people).

``rapport`` (or ``rapport vecka``) shows last week, as Monday's digest does; ``rapport kvartal``
and ``rapport halvår`` the quarter and half-year so far; ``rapport vecka 47``, ``rapport 2026Q3``,
``rapport 2026-W48`` or ``rapport 2026H2`` any period that has begun.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from dialogs.turn import Turn
from dialogs.waits import payment_policy
from notifications.digest import DIGEST, digest_payload
from storage.domain.clock import local_today
from storage.domain.periods import (
    InvalidPeriod,
    Period,
    PeriodKind,
    iso_week_of,
    parse_period,
    period_containing,
)

_KINDS = {
    "vecka": PeriodKind.WEEK,
    "månad": PeriodKind.MONTH,
    "manad": PeriodKind.MONTH,
    "år": PeriodKind.YEAR,
    "året": PeriodKind.YEAR,
    "ar": PeriodKind.YEAR,
    "kvartal": PeriodKind.QUARTER,
    "halvår": PeriodKind.HALF_YEAR,
    "halvar": PeriodKind.HALF_YEAR,
    "halvåret": PeriodKind.HALF_YEAR,
}
_WEEK_NUMBER = re.compile(r"^(?:vecka|v\.?)\s*(\d{1,2})$")


def period_from_text(text: str | None, today: date) -> Period:
    """The period a manager asked for; raises InvalidPeriod with the text when unclear."""
    cleaned = " ".join((text or "").lower().split())
    if not cleaned or cleaned == "vecka":
        return iso_week_of(today - timedelta(days=7))
    if cleaned in _KINDS:
        return period_containing(_KINDS[cleaned], today)
    if match := _WEEK_NUMBER.match(cleaned):
        return _week_number(int(match[1]), today)
    return parse_period(cleaned)


def _week_number(week: int, today: date) -> Period:
    """Week N of this year, or of last year when this year's has not begun."""
    try:
        period = iso_week_of(date.fromisocalendar(today.isocalendar().year, week, 1))
        if period.start > today:
            period = iso_week_of(date.fromisocalendar(today.isocalendar().year - 1, week, 1))
    except ValueError as error:
        raise InvalidPeriod(str(week)) from error
    return period


async def show_report(turn: Turn, match: re.Match[str]) -> None:
    today = local_today(turn.clock)
    asked = match.group("period")
    try:
        period = period_from_text(asked, today)
    except InvalidPeriod:
        await turn.say("report_period_invalid", text=(asked or "").strip()[:40])
        return
    if period.start > today:
        example = period.previous().code if period.previous().start <= today else "kvartal"
        await turn.say("report_period_not_started", period=period.code, example=example)
        return
    if not turn.profile.unit_ids:
        await turn.say("report_no_units")
        return
    payload = await digest_payload(
        turn.session,
        period,
        today,
        turn.renderer,
        unit_ids=sorted(turn.profile.unit_ids),
        payment=payment_policy(turn),  # with no amounts: "inte konfigurerat", never invented
    )
    await turn.audit("report.view", detail={"period": period.code})
    await turn.show_card(DIGEST, **payload)
