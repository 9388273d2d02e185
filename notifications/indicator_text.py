"""Indicators as people read them: Swedish numbers, targets met or missed, change since last time.

Shared by the digest card, the ``rapport`` command and the steering-group report, so a figure
reads the same everywhere. No value is ever invented: a missing share is "inga data", a missing
amount "inte konfigurerat".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from notifications.formatting import SWEDISH_MONTHS, format_date
from notifications.indicators import COUNTS, HEADLINE, Figures, Indicator, Measure
from notifications.render import Renderer
from storage.domain.periods import Period, PeriodKind

NBSP = "\u00a0"
MINUS = "\u2212"

# Adaptive Card colours; the HTML report maps the same names to CSS classes.
GOOD, BAD, NEUTRAL = "Good", "Attention", "Default"


def sv_number(value: float, decimals: int = 0) -> str:
    """1234.5 -> '1 234,5': a space between thousands, a decimal comma, a real minus sign."""
    rounded = round(value, decimals)
    text = f"{abs(rounded):,.{decimals}f}".replace(",", NBSP).replace(".", ",")
    return MINUS + text if rounded < 0 else text


def _labels(renderer: Renderer) -> dict[str, Any]:
    labels: dict[str, Any] = renderer.catalogue["digest"]
    return labels


def measure_text(measure: Measure, value: float | None, renderer: Renderer) -> str:
    labels = _labels(renderer)
    if value is None:
        return str(labels["not_configured" if measure is Measure.KRONOR else "no_data"])
    if measure is Measure.SHARE:
        return renderer.text("digest_share", value=sv_number(value * 100))
    if measure is Measure.DAYS:
        return renderer.text("digest_days", value=sv_number(value, 1))
    if measure is Measure.KRONOR:
        return renderer.text("digest_kronor", value=sv_number(value))
    return sv_number(value)


def _signed(value: float, decimals: int) -> str:
    text = sv_number(value, decimals)
    return "+" + text if round(value, decimals) > 0 else text


@dataclass(frozen=True, slots=True)
class Change:
    text: str
    colour: str


def change(
    indicator: Indicator, now: Figures, before: Figures | None, renderer: Renderer
) -> Change:
    """How the value moved since the previous period, coloured by whether that is better."""
    labels = _labels(renderer)
    current = indicator.value(now)
    previous = indicator.value(before) if before is not None else None
    if current is None or previous is None:
        return Change(str(labels["no_comparison"]), NEUTRAL)
    if indicator.measure is Measure.SHARE:
        delta, decimals, key = (current - previous) * 100, 0, "digest_change_share"
    elif indicator.measure is Measure.DAYS:
        delta, decimals, key = current - previous, 1, "digest_change_days"
    else:
        delta, decimals, key = current - previous, 0, "digest_change_kronor"
    if round(delta, decimals) == 0:
        return Change(str(labels["unchanged"]), NEUTRAL)
    better = (delta > 0) == indicator.higher_is_better
    return Change(renderer.text(key, value=_signed(delta, decimals)), GOOD if better else BAD)


def status(indicator: Indicator, figures: Figures, renderer: Renderer) -> tuple[str, str]:
    """(text, colour): met in green, missed in red, and said in words for those who cannot
    tell the colours apart."""
    labels = _labels(renderer)
    met = indicator.meets_target(figures)
    if met is None:
        return str(labels["cannot_judge"]), NEUTRAL
    return (str(labels["meets_target"]), GOOD) if met else (str(labels["misses_target"]), BAD)


def detail(indicator: Indicator, figures: Figures, renderer: Renderer) -> str:
    """The counts behind an indicator, so a share of 0 of 0 never looks like a result."""
    if indicator.key == "followup_within_7":
        return renderer.text(
            "digest_followup_detail", on_time=figures.followup_on_time, due=figures.followup_due
        )
    if indicator.key == "followup_delayed":
        late = figures.followup_due - figures.followup_on_time
        return renderer.text(
            "digest_delayed_detail",
            late=late,
            due=figures.followup_due,
            overdue=figures.overdue_now,
        )
    if indicator.key == "average_stay":
        return renderer.text(
            "digest_stay_detail", ended=figures.departures, long=figures.long_stays
        )
    key = "digest_payment_detail_unpriced" if figures.payment is None else "digest_payment_detail"
    return renderer.text(key, days=figures.payment_days)


def headline_rows(
    figures: Figures, previous: Figures | None, renderer: Renderer
) -> list[dict[str, str]]:
    """The four seed-000 indicators: label, value, target, status, change, details."""
    labels = _labels(renderer)
    rows = []
    for indicator in HEADLINE:
        status_text, colour = status(indicator, figures, renderer)
        value = indicator.value(figures)
        value_colour = NEUTRAL if value is None else colour
        moved = change(indicator, figures, previous, renderer)
        rows.append(
            {
                "key": indicator.key,
                "label": str(labels["indicators"][indicator.key]),
                "short": str(labels["short"][indicator.key]),
                "value": measure_text(indicator.measure, value, renderer),
                "value_colour": value_colour,
                "target": str(labels["targets"][indicator.key]),
                "status": status_text,
                "colour": colour,
                "change": moved.text,
                "change_colour": moved.colour,
                "detail": detail(indicator, figures, renderer),
            }
        )
    return rows


def unit_cells(figures: Figures, renderer: Renderer) -> list[dict[str, str]]:
    """The four indicators of one unit, short: value and colour."""
    cells = []
    for indicator in HEADLINE:
        _text, colour = status(indicator, figures, renderer)
        value = indicator.value(figures)
        if value is None:  # "inte konfigurerat" is no result to colour, even with zero days
            colour = NEUTRAL
        cells.append({"value": measure_text(indicator.measure, value, renderer), "colour": colour})
    return cells


def count_rows(figures: Figures, renderer: Renderer) -> list[dict[str, str]]:
    labels = _labels(renderer)["counts"]
    return [
        {"label": str(labels[name]), "value": _count_text(figures, name, renderer)}
        for name in COUNTS
    ]


def _count_text(figures: Figures, name: str, renderer: Renderer) -> str:
    if name == "average_wait_days":  # a mean, not a count: "inga data" when no wait ended
        return measure_text(Measure.DAYS, figures.average_wait_days, renderer)
    return str(getattr(figures, name))


def period_title(period: Period, renderer: Renderer) -> str:
    if period.kind is PeriodKind.WEEK:
        year, week, _ = period.start.isocalendar()
        return renderer.text("digest_title_week", week=week, year=year)
    if period.kind is PeriodKind.MONTH:
        month = SWEDISH_MONTHS[period.start.month - 1]
        return renderer.text("digest_title_month", month=month, year=period.start.year)
    if period.kind is PeriodKind.YEAR:
        return renderer.text("digest_title_year", year=period.start.year)
    if period.kind is PeriodKind.QUARTER:
        number = (period.start.month - 1) // 3 + 1
        return renderer.text("digest_title_quarter", year=period.start.year, number=number)
    number = 1 if period.start.month <= 6 else 2
    return renderer.text("digest_title_half_year", year=period.start.year, number=number)


def period_dates(period: Period, today: date, renderer: Renderer) -> str:
    start, end = _short_date(period.start), _short_date(period.end)
    if today < period.end:
        return renderer.text("digest_dates_to_date", start=start, end=end, today=_short_date(today))
    return renderer.text("digest_dates", start=start, end=end)


def _short_date(day: date) -> str:
    """'23 november 2026': the weekday adds nothing to a period's bounds."""
    return format_date(day).split(" ", 1)[1]


def compare_label(period: Period, renderer: Renderer) -> str:
    return str(_labels(renderer)["compare"][period.kind.value])


def undelivered_note(figures: Figures, renderer: Renderer) -> dict[str, Any]:
    """What did not reach its person in the period: messages that could not be delivered (the
    app removed) and messages waiting for staff who have not opened Korttid, told apart."""
    parts = []
    if figures.undeliverable:
        parts.append(renderer.text("digest_undeliverable", count=figures.undeliverable))
    if figures.awaiting_recipient:
        parts.append(renderer.text("digest_awaiting_recipient", count=figures.awaiting_recipient))
    count = figures.undeliverable + figures.awaiting_recipient
    return {"count": count, "text": " ".join(parts) or renderer.text("digest_all_delivered")}
