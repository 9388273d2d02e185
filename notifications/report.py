"""Reports for the steering group: the indicators of a period as CSV, XLSX or printable HTML.

One row for the whole period, one per unit, and one per ISO week (seed 000: the steering group
follows the figures weekly, quarterly and half-yearly; seed 002 wants the home-going plannings
per week). Aggregates only: unit names and numbers, never a case code or a person.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlmodel.ext.asyncio.session import AsyncSession

from notifications.chart import png_data_uri, render_trend_png
from notifications.digest import chart_weeks
from notifications.formatting import format_clock
from notifications.indicator_text import (
    compare_label,
    count_rows,
    headline_rows,
    measure_text,
    period_dates,
    period_title,
    sv_number,
    undelivered_note,
    unit_cells,
)
from notifications.indicators import (
    Figures,
    IndicatorReport,
    Measure,
    TrendPoint,
    compute_indicators,
    compute_trend,
    counts_now,
)
from notifications.render import TEMPLATES, Renderer
from storage.domain.clock import STOCKHOLM
from storage.domain.payment import PaymentPolicy
from storage.domain.periods import Period
from storage.models import Unit

if TYPE_CHECKING:
    from openpyxl.worksheet.worksheet import Worksheet

PRINT_SCALE = 2.0  # the chart drawn at twice the screen resolution, sharp on paper


class ReportFormat(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"
    HTML = "html"


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    measure: Measure
    value: Callable[[Figures], float | None]
    right_now: bool = False  # a figure of today, not of the period: left empty on week rows


def _count(name: str, *, right_now: bool = False) -> Column:
    return Column(name, Measure.COUNT, lambda f: float(getattr(f, name)), right_now)


# Every column of the tables, in reading order; headers come from the catalogue.
COLUMNS: tuple[Column, ...] = (
    _count("followup_due"),
    _count("followup_on_time"),
    Column("followup_within_7", Measure.SHARE, lambda f: f.followup_within_7_share),
    Column("followup_delayed", Measure.SHARE, lambda f: f.followup_delayed_share),
    _count("overdue_now", right_now=True),
    Column("average_stay", Measure.DAYS, lambda f: f.average_stay_days),
    _count("long_stays"),
    Column("payment", Measure.KRONOR, lambda f: None if f.payment is None else float(f.payment)),
    _count("payment_days"),
    _count("arrivals"),
    _count("departures"),
    _count("active"),
    _count("home_goings_next_7", right_now=True),
    _count("readiness_gaps", right_now=True),
    _count("extensions"),
    _count("waiting_care_home"),
    _count("home_going_plannings"),
    _count("hospital_planning"),
    Column("average_wait_days", Measure.DAYS, lambda f: f.average_wait_days),
    _count("back_to_hospital"),
    _count("sip_called"),
    _count("undeliverable"),
    _count("awaiting_recipient"),
)


@dataclass(frozen=True, slots=True)
class Row:
    period: str
    unit: str
    figures: Figures
    is_week: bool = False

    def shows(self, column: Column) -> bool:
        return not (self.is_week and column.right_now)


@dataclass(frozen=True, slots=True)
class ReportData:
    report: IndicatorReport
    previous: IndicatorReport
    weeks: list[IndicatorReport]
    trend: list[TrendPoint]
    scope: str
    generated_at: datetime

    def summary_rows(self) -> list[Row]:
        code = self.report.period.code
        rows = [Row(code, self.scope, self.report.total)]
        if len(self.report.units) > 1:
            rows += [Row(code, u.name, self.report.by_unit[u.id or 0]) for u in self.report.units]
        return rows

    def week_rows(self) -> list[Row]:
        return [Row(w.period.code, self.scope, w.total, is_week=True) for w in self.weeks]


async def build_report(
    session: AsyncSession,
    period: Period,
    today: date,
    renderer: Renderer,
    *,
    unit: Unit | None = None,
    payment: PaymentPolicy | None = None,
    generated_at: datetime,
) -> ReportData:
    """The period, the one before it, each week of it that has begun, and the 12-week trend."""
    ids: Collection[int] | None = None if unit is None or unit.id is None else [unit.id]
    now = await counts_now(session, today, unit_ids=ids)

    async def figures(of: Period) -> IndicatorReport:
        return await compute_indicators(session, of, today, unit_ids=ids, payment=payment, now=now)

    report = await figures(period)
    previous = await figures(period.previous())
    weeks = [await figures(week) for week in period.weeks() if week.start <= today]
    trend = await compute_trend(
        session, chart_weeks(period, today), today, unit_ids=ids, payment=payment
    )
    scope = unit.name if unit is not None else str(renderer.catalogue["digest"]["all_units"])
    return ReportData(report, previous, weeks, trend, scope, generated_at)


def _header(column: Column, renderer: Renderer) -> str:
    labels = renderer.catalogue["digest"]
    return str(labels["indicators"].get(column.key) or labels["counts"][column.key])


def _headers(renderer: Renderer) -> list[str]:
    labels = renderer.catalogue["digest"]
    return [labels["report_period"], labels["column_unit"]] + [
        _header(c, renderer) for c in COLUMNS
    ]


def _missing(column: Column, renderer: Renderer) -> str:
    labels = renderer.catalogue["digest"]
    return str(labels["not_configured" if column.measure is Measure.KRONOR else "no_data"])


# --- CSV: semicolons and decimal commas, as Swedish Excel opens it ---------------------------


def write_csv(data: ReportData, renderer: Renderer) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(_headers(renderer))
    for row in data.summary_rows() + data.week_rows():
        writer.writerow(
            [row.period, row.unit]
            + [_csv_value(c, row.figures, renderer) if row.shows(c) else "" for c in COLUMNS]
        )
    return ("\ufeff" + out.getvalue()).encode("utf-8")  # the BOM makes Excel read UTF-8


def _csv_value(column: Column, figures: Figures, renderer: Renderer) -> str:
    value = column.value(figures)
    if value is None:
        return _missing(column, renderer)
    if column.measure is Measure.SHARE:
        return sv_number(value * 100, 1).replace("\u00a0", "")
    if column.measure is Measure.DAYS:
        return sv_number(value, 1).replace("\u00a0", "")
    return str(round(value))


# --- XLSX: real numbers with number formats, so the figures can be charted further ------------


_FORMATS = {
    Measure.SHARE: "0%",
    Measure.DAYS: "0.0",
    Measure.KRONOR: '#,##0 "kr"',
    Measure.COUNT: "0",
}


def write_xlsx(data: ReportData, renderer: Renderer) -> bytes:
    from openpyxl import Workbook  # a few MB a serving process needs only when asked for xlsx

    labels = renderer.catalogue["digest"]
    book = Workbook()
    summary = book.active
    assert summary is not None
    summary.title = str(labels["headline_title"])
    _sheet(summary, data.summary_rows(), renderer)
    _sheet(book.create_sheet(str(labels["report_weeks_title"])), data.week_rows(), renderer)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _sheet(sheet: Worksheet, rows: Sequence[Row], renderer: Renderer) -> None:
    from openpyxl.styles import Font

    sheet.append(_headers(renderer))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        values: list[Any] = [row.period, row.unit]
        for column in COLUMNS:
            value = column.value(row.figures) if row.shows(column) else None
            if value is None and row.shows(column):
                values.append(_missing(column, renderer))
            else:
                values.append(value)
        sheet.append(values)
        for column, cell in zip(COLUMNS, sheet[sheet.max_row][2:], strict=True):
            if isinstance(cell.value, float):
                cell.number_format = _FORMATS[column.measure]
    sheet.freeze_panes = "C2"
    sheet.column_dimensions["A"].width = 11
    sheet.column_dimensions["B"].width = 28


# --- HTML: one page that reads well on screen and on paper -----------------------------------


def _html_environment() -> Environment:
    """Its own environment: HTML needs autoescaping, which the card environment must not have."""
    return Environment(
        loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined, autoescape=True
    )


async def write_html(data: ReportData, renderer: Renderer) -> bytes:
    labels = renderer.catalogue["digest"]
    chart = png_data_uri(
        await asyncio.to_thread(render_trend_png, data.trend, labels["chart"], scale=PRINT_SCALE)
    )
    report = data.report
    context = {
        "d": labels,
        "title": period_title(report.period, renderer),
        "scope": data.scope,
        "dates": period_dates(report.period, report.today, renderer),
        "generated": _generated_text(data.generated_at),
        "compare_label": compare_label(report.period, renderer),
        "headline": headline_rows(report.total, data.previous.total, renderer),
        "units": [
            {"name": u.name, "cells": unit_cells(report.by_unit[u.id or 0], renderer)}
            for u in report.units
        ]
        if len(report.units) > 1
        else [],
        "counts": count_rows(report.total, renderer),
        "undelivered": undelivered_note(report.total, renderer),
        "notes": [renderer.text("report_note_readmissions"), renderer.text("report_note_waits")],
        "week_columns": [_header(c, renderer) for c in _WEEK_COLUMNS],
        "weeks": [
            {
                "code": week.period.code,
                "cells": [_html_value(c, week.total, renderer) for c in _WEEK_COLUMNS],
            }
            for week in data.weeks
        ],
        "chart": chart,
    }
    html = _html_environment().get_template("report.html.j2").render(**context)
    return html.encode("utf-8")


# The per-week table on paper: the columns that change week by week.
_WEEK_COLUMNS = tuple(
    c
    for c in COLUMNS
    if c.key
    in {
        "followup_within_7",
        "average_stay",
        "payment",
        "arrivals",
        "departures",
        "home_going_plannings",
        "back_to_hospital",
    }
)


def _html_value(column: Column, figures: Figures, renderer: Renderer) -> str:
    value = column.value(figures)
    if column.measure is Measure.COUNT:
        return "" if value is None else sv_number(value)
    return measure_text(column.measure, value, renderer)


async def render_report(data: ReportData, form: ReportFormat, renderer: Renderer) -> bytes:
    if form is ReportFormat.CSV:
        return write_csv(data, renderer)
    if form is ReportFormat.XLSX:
        return write_xlsx(data, renderer)
    return await write_html(data, renderer)


def _generated_text(at: datetime) -> str:
    """When the report was made, as its header says it: "2026-11-23 kl. 09.00"."""
    local = at.astimezone(STOCKHOLM)
    return f"{local.date().isoformat()} kl. {format_clock(local.time())}"
