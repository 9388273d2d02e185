"""The operator's side: refusals at start, the staff registry from CSV, the database commands."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.cli import main
from bot.settings import Settings, StartupRefused, check_startup
from storage.domain.clock import FixedClock, SystemClock


@pytest.fixture(autouse=True)
def _drop_cli_log_handler() -> Iterator[None]:
    """main() installs a log handler on the (captured) stderr; remove it with the capture."""
    yield
    root = logging.getLogger()
    root.handlers[:] = [h for h in root.handlers if h.get_name() != "korttid"]


def _dev(**overrides: str) -> Settings:
    return Settings(**{"env": "dev", "app_id": "", **overrides})  # type: ignore[arg-type]


def test_dev_without_app_id_on_loopback_starts_with_a_warning() -> None:
    warnings = check_startup(_dev(), "127.0.0.1")
    assert any("authentication is OFF" in w for w in warnings)


@pytest.mark.parametrize("host", ["0.0.0.0", "10.1.2.3", "example.org"])
def test_dev_without_app_id_refuses_non_loopback(host: str) -> None:
    with pytest.raises(StartupRefused, match="loopback"):
        check_startup(_dev(), host)


def test_a_dev_clock_start_runs_on_from_that_instant(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KORTTID_CLOCK_START", "2026-12-04T10:00:00+01:00")
    settings = _dev()
    clock = settings.make_clock()
    first, second = clock.now(), clock.now()

    assert datetime(2026, 12, 4, 9, 0, tzinfo=UTC) <= first <= second
    assert second - datetime(2026, 12, 4, 9, 0, tzinfo=UTC) < timedelta(seconds=5)
    assert any(
        "clock started at 2026-12-04T10:00:00+01:00" in w for w in check_startup(settings, "::1")
    )


@pytest.mark.parametrize(
    "settings",
    [
        Settings(env="prod", app_id="a", app_password="s3cr3t-value", app_tenant_id="t"),  # type: ignore[arg-type]
        Settings(env="dev", app_id="a", app_password="s3cr3t-value", app_tenant_id="t"),  # type: ignore[arg-type]
    ],
)
def test_a_clock_start_is_refused_outside_a_local_demo(settings: Settings) -> None:
    started = settings.model_copy(update={"clock_start": datetime(2026, 12, 4, 9, 0, tzinfo=UTC)})
    with pytest.raises(StartupRefused, match="KORTTID_CLOCK_START"):
        check_startup(started, "0.0.0.0")
    assert isinstance(started.make_clock(), SystemClock)  # and never used there


def test_production_without_credentials_refuses() -> None:
    with pytest.raises(StartupRefused, match="MicrosoftAppId"):
        check_startup(Settings(env="prod", app_id=""), "127.0.0.1")


@pytest.mark.parametrize("secret", ["changeme", "SECRET", " password "])
def test_placeholder_secret_refuses(secret: str) -> None:
    settings = Settings(env="prod", app_id="a", app_password=secret, app_tenant_id="t")  # type: ignore[arg-type]
    with pytest.raises(StartupRefused, match="placeholder"):
        check_startup(settings, "0.0.0.0")


def test_single_tenant_needs_tenant_id() -> None:
    settings = Settings(env="prod", app_id="a", app_password="s3cr3t-value")  # type: ignore[arg-type]
    with pytest.raises(StartupRefused, match="TenantId"):
        check_startup(settings, "0.0.0.0")


def test_bot_framework_variable_names_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MicrosoftAppId", "11111111-2222-3333-4444-555555555555")
    monkeypatch.setenv("MicrosoftAppPassword", "real-secret-value")
    monkeypatch.setenv("MicrosoftAppType", "SingleTenant")
    monkeypatch.setenv("MicrosoftAppTenantId", "tenant-guid")
    monkeypatch.setenv("KORTTID_ENV", "prod")
    settings = Settings()
    assert settings.app_id.startswith("1111")
    assert settings.app_password.get_secret_value() == "real-secret-value"
    assert check_startup(settings, "0.0.0.0") == []
    assert "real-secret-value" not in repr(settings)


def test_serve_refuses_in_one_line_as_a_process(tmp_path: Path) -> None:
    env = {**os.environ, "KORTTID_ENV": "prod", "MicrosoftAppId": "", "DATABASE_URL": ""}
    env["DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "serve", "--port", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1
    assert lines[0].startswith("korttid: refusing to start:")


@pytest.fixture
def db_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("KORTTID_ENV", "dev")
    return tmp_path


def _csv(folder: Path, text: str) -> Path:
    path = folder / "staff.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_staff_import_list_reimport_and_remove(
    db_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = _csv(
        db_env,
        "email,name,roles,units\n"
        "Anna@Kommun.se,Anna Andersson,handlaggare,ÄNG;BJÖ\n"
        "nils@kommun.se,Nils Nilsson,sjukskoterska;rehab,ÄNG\n",
    )
    assert main(["staff", "import", str(first)]) == 0
    assert "2 created, 0 updated" in capsys.readouterr().out

    second = _csv(db_env, "email,name,roles,units\nanna@kommun.se,Anna A,enhetschef,ÄNG\n")
    assert main(["staff", "import", str(second)]) == 0
    assert "0 created, 1 updated" in capsys.readouterr().out

    assert main(["staff", "list"]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert listing == [
        "anna@kommun.se\tAnna A\tenhetschef\tÄNG",
        "nils@kommun.se\tNils Nilsson\trehab;sjukskoterska\tÄNG",
    ]

    assert main(["staff", "remove", "nils@kommun.se"]) == 0
    capsys.readouterr()
    assert main(["staff", "list"]) == 0
    assert "nils@" not in capsys.readouterr().out
    assert main(["staff", "remove", "nobody@kommun.se"]) == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("email,name\nx@y.se,X\n", "missing columns: roles, units"),
        ("email,name,roles,units\nx@y.se,X,handlaggare,ÄNG\nbad,Y,rehab,ÄNG\n", "line 3"),
        ("email,name,roles,units\nx@y.se,X,doctor,ÄNG\n", "unknown role"),
        ("email,name,roles,units\nx@y.se,,rehab,ÄNG\n", "name is empty"),
    ],
)
def test_bad_staff_file_imports_nothing(
    db_env: Path, capsys: pytest.CaptureFixture[str], content: str, message: str
) -> None:
    assert main(["staff", "import", str(_csv(db_env, content))]) == 2
    assert message in capsys.readouterr().err
    assert main(["staff", "list"]) == 0
    assert capsys.readouterr().out == ""


def test_db_upgrade_and_status(db_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "status"]) == 1
    assert "korttid db upgrade" in capsys.readouterr().out
    assert main(["db", "upgrade"]) == 0
    assert main(["db", "status"]) == 0


@pytest.mark.parametrize(
    ("now", "start"),
    [
        ("2026-12-03T14:00:00+01:00", ""),  # a Thursday afternoon: the real clock
        ("2026-12-03T19:30:00+01:00", "2026-12-04T09:00:00+00:00"),  # evening: Friday 10:00
        ("2026-12-04T18:00:00+01:00", "2026-12-07T09:00:00+00:00"),  # Friday 18:00: Monday
        ("2026-12-07T06:15:00+01:00", "2026-12-07T09:00:00+00:00"),  # early: that morning
        ("2026-12-24T12:00:00+01:00", "2026-12-28T09:00:00+00:00"),  # julafton to after Christmas
    ],
)
def test_make_demo_starts_its_clock_in_sending_hours(
    now: str, start: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.cli.SystemClock", lambda: FixedClock(datetime.fromisoformat(now)))
    assert main(["demo", "clock-start"]) == 0
    assert capsys.readouterr().out.strip() == start
