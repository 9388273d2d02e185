"""``korttid report``: the steering group's CSV, XLSX and printable HTML."""

from __future__ import annotations

import csv
import io
import re
import shutil
import subprocess
from pathlib import Path

import numpy
import pytest
from openpyxl import load_workbook
from PIL import Image
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.cli import build_parser
from bot.settings import Settings
from tests.indicator_data import seed_indicator_data

CASE_CODE = re.compile(r"\b[A-ZÅÄÖ]{2,4}-\d{2,4}\b")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


async def _report(settings: Settings, out: Path, *args: str) -> tuple[int, Path]:
    parsed = build_parser().parse_args(
        ["report", "--today", "2026-11-23", "--out", str(out), *args]
    )
    code = await parsed.run(parsed, settings)
    return code, out


async def test_csv_has_the_period_each_unit_and_each_week(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, tmp_path: Path
) -> None:
    await seed_indicator_data(sessions)

    code, out = await _report(
        settings, tmp_path / "r1.csv", "--period", "2026Q4", "--format", "csv"
    )

    assert code == 0
    raw = out.read_bytes()
    assert raw.startswith("\ufeff".encode())  # Excel reads it as UTF-8
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    by = {(row["Period"], row["Enhet"]): row for row in rows}
    total = by[("2026Q4", "Alla enheter")]
    assert total["Uppföljningar att hålla"] == "6"
    assert total["Uppföljning inom 7 dagar"] == "66,7"
    assert total["Medelvårdtid"] == "13,3"
    assert (
        total["Betalningsansvar för personer registrerade som väntande i Korttid"]
        == "inte konfigurerat"
    )  # no amount in the test settings
    assert total["Dagar med betalningsansvar"] == "7"  # the law's 3 grace days, no amount
    assert by[("2026Q4", "Almens korttidsenhet")]["Avslutade genom inskrivning på sjukhus"] == "1"
    assert by[("2026Q4", "Björkens korttidsenhet")]["Hemgångsbeslut"] == "1"
    weeks = [row for row in rows if "-W" in row["Period"]]
    periods = [row["Period"] for row in weeks]
    assert (periods[0], periods[-1]) == ("2026-W40", "2026-W48")  # up to this week, not beyond
    w47 = by[("2026-W47", "Alla enheter")]
    assert w47["Uppföljning inom 7 dagar"] == "0,0"
    assert w47["Medelvårdtid"] == "inga data"
    assert w47["Försenade uppföljningar just nu"] == ""  # a figure of today, not of week 47
    assert not CASE_CODE.search(raw.decode("utf-8-sig"))


async def test_one_unit_only(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, tmp_path: Path
) -> None:
    await seed_indicator_data(sessions)

    code, out = await _report(
        settings, tmp_path / "r2.csv", "--period", "2026-W47", "--unit", "aaa", "--format", "csv"
    )

    assert code == 0
    text = out.read_text("utf-8-sig")
    assert "Björkens" not in text
    rows = list(csv.DictReader(io.StringIO(text), delimiter=";"))
    assert [(row["Period"], row["Enhet"]) for row in rows] == [
        ("2026-W47", "Almens korttidsenhet"),
        ("2026-W47", "Almens korttidsenhet"),
    ]


async def test_xlsx_holds_numbers_with_formats(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, tmp_path: Path
) -> None:
    await seed_indicator_data(sessions)

    code, out = await _report(
        settings, tmp_path / "r3.xlsx", "--period", "2026H2", "--format", "xlsx"
    )

    assert code == 0
    book = load_workbook(out)
    assert book.sheetnames == ["Nyckeltal", "Per vecka"]
    summary = book["Nyckeltal"]
    headers = [cell.value for cell in summary[1]]
    total = dict(zip(headers, summary[2], strict=True))
    assert total["Enhet"].value == "Alla enheter"
    assert total["Uppföljningar att hålla"].value == 7
    assert total["Uppföljning inom 7 dagar"].value == pytest.approx(4 / 7)
    assert total["Uppföljning inom 7 dagar"].number_format == "0%"
    assert (
        total["Betalningsansvar för personer registrerade som väntande i Korttid"].value
        == "inte konfigurerat"
    )
    assert book["Per vecka"].max_row == 1 + 22  # weeks 27 to 48 have begun
    assert summary.max_row == 1 + 3  # the period, then each unit


async def test_a_bad_period_or_unit_is_refused(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, tmp_path: Path
) -> None:
    await seed_indicator_data(sessions)
    code, out = await _report(
        settings, tmp_path / "r4.csv", "--period", "2026Q7", "--format", "csv"
    )
    assert code == 2
    assert not out.exists()
    code, out = await _report(
        settings, tmp_path / "r5.csv", "--period", "2026Q4", "--unit", "ZZZ", "--format", "csv"
    )
    assert code == 2
    assert not out.exists()


@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed")
async def test_the_html_report_renders_in_a_browser(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, tmp_path: Path
) -> None:
    await seed_indicator_data(sessions)

    code, out = await _report(
        settings, tmp_path / "r6.html", "--period", "2026Q4", "--format", "html"
    )

    assert code == 0
    html = out.read_text("utf-8")
    assert '<html lang="sv">' in html
    assert "Kvartalsrapport kvartal 4 2026" in html
    assert "data:image/png;base64," in html
    assert "Per vecka" in html and "Almens korttidsenhet" in html
    assert not CASE_CODE.search(html)
    page = out
    shot = tmp_path / "rapport.png"
    result = subprocess.run(  # noqa: ASYNC221 (a one-off browser run in a test)
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'chromium'}",
            f"--screenshot={shot}",
            "--window-size=1000,2400",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    image = Image.open(shot)
    assert image.size == (1000, 2400)
    pixels = numpy.asarray(image.convert("RGB")).reshape(-1, 3)
    assert (pixels != 255).any(axis=1).mean() > 0.03  # a page with content, not a blank one
    console_errors = [line for line in result.stderr.splitlines() if "CONSOLE" in line]
    assert console_errors == []
