"""``korttid stays import FILE.csv``: ongoing stays for a unit that starts using Korttid."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlmodel import select

from bot.cli import main
from bot.settings import Settings
from dialogs.stays_import import StayImportError, import_stays, read_stays_csv
from storage.db import transaction
from storage.domain.clock import FixedClock, SystemClock, local_today
from storage.models import AuditEvent, Stay
from tests.stay_helpers import HANNA, HENRIK, SARA, seed_people

HEADER = (
    "unit,case_code,room,arrival_date,decision_end_date,goal,handlaggare_email,nurse_email,acute"
)
GOOD = [
    "ÄNG,ÄNG-031,3,2026-11-20,2026-12-11,Träna gång,hanna@kommun.se,sara@kommun.se,nej",
    'äng,äng-032,,2026-11-16,2026-12-04,"Stabilisera läkemedel, nutrition",HANNA@kommun.se,,ja',
]


def _csv(tmp_path: Path, *rows: str, header: str = HEADER) -> Path:
    path = tmp_path / "stays.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


async def _import(sessions, path: Path, clock: FixedClock) -> int:  # type: ignore[no-untyped-def]
    """Read and import in one transaction, as the CLI does."""
    rows = read_stays_csv(path)
    async with transaction(sessions) as session:
        return await import_stays(session, rows, clock.now())


async def _count(sessions) -> int:  # type: ignore[no-untyped-def]
    async with transaction(sessions) as session:
        return int((await session.exec(select(func.count()).select_from(Stay))).one())


async def test_a_good_file_imports_every_stay(sessions, clock: FixedClock, tmp_path: Path) -> None:
    await seed_people(sessions, HANNA, SARA)
    rows = read_stays_csv(_csv(tmp_path, *GOOD))

    async with transaction(sessions) as session:
        assert await import_stays(session, rows, clock.now()) == 2

    async with transaction(sessions) as session:
        stays = {s.case_code: s for s in (await session.exec(select(Stay))).all()}
        audit = (await session.exec(select(AuditEvent))).all()
    first, second = stays["ÄNG-031"], stays["ÄNG-032"]
    assert (first.room, first.arrival_date, first.followup_deadline) == (
        "3",
        date(2026, 11, 20),
        date(2026, 11, 27),
    )
    assert first.nurse_id is not None and first.acute is False
    assert second.room is None and second.nurse_id is None and second.acute is True
    assert second.goal == "Stabilisera läkemedel, nutrition"
    assert second.followup_deadline == date(2026, 11, 23)
    assert [e.detail["source"] for e in audit if e.action == "stay.register"] == ["import"] * 2


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        (
            GOOD[0].replace("sara@", "okand@"),
            "line 3: okand@kommun.se is not an active sjukskoterska",
        ),
        (GOOD[0].replace("hanna@", "sara@"), "line 3: sara@kommun.se is not an active handlaggare"),
        (GOOD[0].replace("ÄNG,", "XYZ,", 1), "line 3: unit 'XYZ' does not exist"),
        (GOOD[0].replace("ÄNG-031", "ÄNG-032"), "line 3: case code ÄNG-032 repeats line 2"),
        (GOOD[0].replace("2026-11-20", "20/11"), "line 3: arrival_date '20/11' is not a date"),
        (GOOD[0].replace("2026-12-11", "2026-11-01"), "line 3: decision_end_date is before"),
        (GOOD[0].replace("2026-11-20", "2026-11-30"), "line 3: arrival_date is in the future"),
        (GOOD[0].replace(",nej", ",kanske"), "line 3: acute 'kanske' must be ja or nej"),
        (GOOD[0].replace("Träna", "Träna 19121212-1212"), "line 3: contains a personal identity"),
        (GOOD[0].replace("ÄNG-031", "ÄNG 031"), "line 3: case code 'ÄNG 031' must be letters"),
        (GOOD[0].replace(",3,", ",Svensson,"), "line 3: room 'Svensson' must be a number"),
    ],
)
async def test_a_bad_row_names_its_line_and_nothing_is_imported(
    sessions, clock: FixedClock, tmp_path: Path, row: str, problem: str
) -> None:
    await seed_people(sessions, HANNA, SARA)
    path = _csv(tmp_path, GOOD[1], row)

    with pytest.raises(StayImportError) as raised:
        await _import(sessions, path, clock)

    assert problem in str(raised.value)
    assert "1212" not in str(raised.value)
    assert await _count(sessions) == 0  # line 2 was fine, but the file is all or nothing


async def test_an_existing_case_code_is_refused(
    sessions, clock: FixedClock, tmp_path: Path
) -> None:
    await seed_people(sessions, HANNA, SARA)
    async with transaction(sessions) as session:
        await import_stays(session, read_stays_csv(_csv(tmp_path, GOOD[0])), clock.now())

    with pytest.raises(StayImportError, match="line 3: case code ÄNG-031 already exists"):
        await _import(sessions, _csv(tmp_path, *GOOD[::-1]), clock)

    assert await _count(sessions) == 1


def test_missing_columns_are_named(tmp_path: Path) -> None:
    with pytest.raises(StayImportError, match="missing columns: nurse_email, acute"):
        read_stays_csv(_csv(tmp_path, header=HEADER.rsplit(",", 2)[0]))


async def test_cli_imports_all_or_nothing(
    sessions, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    await seed_people(sessions, HANNA, SARA, HENRIK)
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    today = local_today(SystemClock())  # the CLI runs on the wall clock, in Stockholm
    arrival, end = (today - timedelta(days=2)).isoformat(), (today + timedelta(days=12)).isoformat()
    good = f"ÄNG,ÄNG-031,3,{arrival},{end},Träna gång,hanna@kommun.se,sara@kommun.se,nej"
    bad = f"BJÖ,BJÖ-001,1,{arrival},{end},Vila,henrik@kommun.se,sara@kommun.se,nej"

    failed = await _run_cli(_csv(tmp_path, good, bad))
    refused = capsys.readouterr().err
    assert failed == 2
    assert "line 3: sara@kommun.se is not an active sjukskoterska of unit BJÖ" in refused
    assert "nothing imported" in refused
    assert await _count(sessions) == 0

    assert await _run_cli(_csv(tmp_path, good)) == 0
    assert "stays import: 1 stays imported" in capsys.readouterr().out
    assert await _count(sessions) == 1


async def _run_cli(path: Path) -> int:
    import asyncio

    # main() runs its own event loop, so it goes to a thread beside the test's loop.
    return await asyncio.to_thread(main, ["stays", "import", str(path)])
