"""``korttid serve`` refuses configurations that must not serve: one line, exit 2, no secret shown.

``tests/test_cli_and_settings.py`` checks the rules one by one; here each refusal is seen as an
operator sees it, from the process.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SECRET = "changeme"
CASES = {
    "production without credentials": ({"KORTTID_ENV": "prod"}, "127.0.0.1", "MicrosoftAppId"),
    "dev mode on a public address": ({"KORTTID_ENV": "dev"}, "0.0.0.0", "loopback"),
    "placeholder secret": (
        {
            "KORTTID_ENV": "prod",
            "MicrosoftAppId": "6f1c1c5e-0000-4000-8000-00000000b07a",
            "MicrosoftAppPassword": SECRET,
            "MicrosoftAppTenantId": "00000000-0000-0000-0000-00000000cafe",
        },
        "0.0.0.0",
        "placeholder",
    ),
    "app id without a secret": (
        {"KORTTID_ENV": "prod", "MicrosoftAppId": "6f1c1c5e-0000-4000-8000-00000000b07a"},
        "0.0.0.0",
        "MicrosoftAppPassword is empty",
    ),
    "single tenant without a tenant": (
        {
            "KORTTID_ENV": "prod",
            "MicrosoftAppId": "6f1c1c5e-0000-4000-8000-00000000b07a",
            "MicrosoftAppPassword": "a-real-looking-secret-value",
        },
        "0.0.0.0",
        "MicrosoftAppTenantId",
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", list(CASES))
def test_serve_refuses_with_one_line(tmp_path: Path, case: str) -> None:
    variables, host, reason = CASES[case]
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("Microsoft", "KORTTID_"))
    }
    env |= {"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'k.db'}", **variables}
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "serve", "--host", host, "--port", "0"],
        env=env,
        cwd=tmp_path,  # no .env file is read from the checkout
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1 and lines[0].startswith("korttid: refusing to start:"), lines
    assert reason in lines[0]
    assert result.stdout == ""
    assert "a-real-looking-secret-value" not in result.stderr
    assert not (tmp_path / "k.db").exists()  # refused before anything was touched
