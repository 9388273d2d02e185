"""The Teams app package: it validates against Microsoft's schema, its icons follow Teams' rules,
and its command menu lists exactly what the bot understands."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft4Validator, Draft6Validator, validators
from PIL import Image

from bot.cli import main
from bot.manifest import (
    MANIFEST_VERSION,
    MAX_COMMANDS,
    PackageOptions,
    build_package,
    command_title,
    commands_in_scope,
)
from dialogs.commands import GROUP, PERSONAL, TEAM, match_command
from notifications.render import Renderer

ROOT = Path(__file__).resolve().parents[1]
SCHEMA_DIR = ROOT / "node_modules/@microsoft/app-manifest/build/json-schemas/teams"
BOT_ID = "0f8fad5b-d9cb-469f-a165-70867728950e"
APP_ID = "7d444840-9dc0-11d1-b245-5ffdce74fad2"

# The schema is draft-04, but uses draft-06's ``const`` (for manifestVersion), as Microsoft's own
# validator (ajv) accepts; teach the draft-04 validator that one keyword.
ManifestValidator = validators.extend(
    Draft4Validator, {"const": Draft6Validator.VALIDATORS["const"]}
)


def official_schema() -> dict[str, Any]:
    path = SCHEMA_DIR / f"v{MANIFEST_VERSION}" / "MicrosoftTeams.schema.json"
    if not path.is_file():
        pytest.fail(
            f"The official Teams manifest schema is missing ({path}). "
            "Install the pinned npm package first: make node_modules/.installed (or npm ci)."
        )
    schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return schema


def schema_errors(manifest: dict[str, Any]) -> list[str]:
    validator = ManifestValidator(official_schema())
    return [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in validator.iter_errors(manifest)
    ]


def ajv_errors(manifest: dict[str, Any], folder: Path) -> list[str]:
    """Validate as Microsoft's package does (ajv, draft-04, uri/email/regex formats), with node."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is missing: install Node.js 20+ and run npm ci to validate the manifest")
    official_schema()  # fails clearly when the npm package is not installed
    manifest_path = folder / "manifest-under-test.json"
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    schema_path = SCHEMA_DIR / f"v{MANIFEST_VERSION}" / "MicrosoftTeams.schema.json"
    # @microsoft/app-manifest 1.1.2's own entry point needs fs-extra, which it does not declare,
    # so this calls the ajv it depends on the way its validateManifestAgainstSchema does.
    script = """
        const Ajv = require('ajv-draft-04');
        const addFormats = require('ajv-formats');
        const fs = require('fs');
        const [manifest, schema] = process.argv.slice(1).map(p => JSON.parse(fs.readFileSync(p)));
        const ajv = new Ajv({allErrors: true, strictTypes: false});
        addFormats(ajv, ['uri', 'email', 'regex']);
        const validate = ajv.compile(schema);
        const ok = validate(manifest);
        const errors = ok ? [] : validate.errors.map(e => `${e.instancePath} ${e.message}`);
        process.stdout.write(JSON.stringify(errors));
    """
    result = subprocess.run(
        [node, "-e", script, str(manifest_path), str(schema_path)],
        capture_output=True,
        cwd=ROOT,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr.decode()
    errors: list[str] = json.loads(result.stdout)
    return errors


def read_package(path: Path) -> tuple[dict[str, Any], dict[str, bytes]]:
    with zipfile.ZipFile(path) as package:
        files = {name: package.read(name) for name in package.namelist()}
    return json.loads(files["manifest.json"]), files


def build(tmp_path: Path, **options: Any) -> tuple[dict[str, Any], dict[str, bytes]]:
    options.setdefault("bot_id", BOT_ID)
    options.setdefault("domain", "korttid.exempelby.se")
    path = build_package(PackageOptions(**options), tmp_path / "build" / "korttid-teams.zip")
    return read_package(path)


def assert_valid(manifest: dict[str, Any], folder: Path) -> None:
    assert schema_errors(manifest) == []
    assert ajv_errors(manifest, folder) == []


# --- the package -------------------------------------------------------------------------------


def test_cli_builds_a_package_that_validates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # the default output is build/ under the working directory
    monkeypatch.delenv("MicrosoftAppId", raising=False)

    code = main(["manifest", "build", "--bot-id", BOT_ID, "--domain", "korttid.exempelby.se"])

    assert code == 0
    package = tmp_path / "build" / "korttid-teams.zip"
    assert str(package.relative_to(tmp_path)) in capsys.readouterr().out
    manifest, files = read_package(package)
    assert sorted(files) == ["color.png", "manifest.json", "outline.png"]
    assert_valid(manifest, tmp_path)
    assert manifest["manifestVersion"] == MANIFEST_VERSION
    assert manifest["id"] == BOT_ID  # the app id defaults to the bot id: stable across rebuilds
    assert manifest["bots"][0]["botId"] == BOT_ID
    assert manifest["bots"][0]["scopes"] == ["personal", "team", "groupChat"]
    assert manifest["validDomains"] == ["korttid.exempelby.se"]
    assert manifest["name"]["short"] == "Korttid"
    assert "korttidsvistelse" in manifest["name"]["full"]
    assert "personnummer" in manifest["description"]["full"]
    assert manifest["localizationInfo"]["defaultLanguageTag"] == "sv-se"
    assert "webApplicationInfo" not in manifest


def test_every_option_lands_in_a_valid_manifest(tmp_path: Path) -> None:
    manifest, _files = build(
        tmp_path,
        app_id=APP_ID.upper(),
        version="2.3.14",
        developer_name="Exempelby kommun",
        website_url="https://www.exempelby.se/korttid",
        privacy_url="https://www.exempelby.se/personuppgifter",
        terms_url="https://www.exempelby.se/villkor",
        sso_resource=f"api://korttid.exempelby.se/botid-{BOT_ID}",
    )

    assert_valid(manifest, tmp_path)
    assert manifest["id"] == APP_ID
    assert manifest["version"] == "2.3.14"
    assert manifest["developer"] == {
        "name": "Exempelby kommun",
        "websiteUrl": "https://www.exempelby.se/korttid",
        "privacyUrl": "https://www.exempelby.se/personuppgifter",
        "termsOfUseUrl": "https://www.exempelby.se/villkor",
    }
    assert manifest["webApplicationInfo"] == {
        "id": BOT_ID,
        "resource": f"api://korttid.exempelby.se/botid-{BOT_ID}",
    }
    assert manifest["validDomains"] == ["korttid.exempelby.se", "token.botframework.com"]


def test_the_same_input_builds_the_same_bytes(tmp_path: Path) -> None:
    options = PackageOptions(bot_id=BOT_ID, version="1.0.0", domain="korttid.exempelby.se")

    first = build_package(options, tmp_path / "a.zip").read_bytes()
    second = build_package(options, tmp_path / "b.zip").read_bytes()

    assert first == second


@pytest.mark.parametrize(
    ("arguments", "complaint"),
    [
        (["--bot-id", "korttid-bot"], "--bot-id must be a GUID"),
        (["--bot-id", BOT_ID + "0"], "--bot-id must be a GUID"),
        (["--bot-id", BOT_ID, "--app-id", "{" + APP_ID + "}"], "--app-id must be a GUID"),
        (["--bot-id", BOT_ID, "--version", "1.2"], "--version must be a semantic version"),
        (["--bot-id", BOT_ID, "--version", "v1.2.3"], "--version must be a semantic version"),
        (["--bot-id", BOT_ID, "--version", "1.02.3"], "--version must be a semantic version"),
        (["--bot-id", BOT_ID, "--version", "1.2.3-beta"], "--version must be a semantic version"),
        (["--bot-id", BOT_ID, "--domain", "https://korttid.se/"], "--domain must be"),
        (["--bot-id", BOT_ID, "--domain", "korttid.se:443"], "--domain must be"),
        (["--bot-id", BOT_ID], "give --domain"),
        (
            ["--bot-id", BOT_ID, "--domain", "korttid.se", "--privacy-url", "http://x.se/p"],
            "--privacy-url must be an https:// address",
        ),
        (
            ["--bot-id", BOT_ID, "--domain", "korttid.se", "--sso-resource", "korttid"],
            "--sso-resource must be",
        ),
        ([], "give --bot-id"),
    ],
)
def test_bad_input_is_refused_clearly_with_exit_code_2(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    arguments: list[str],
    complaint: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MicrosoftAppId", raising=False)

    code = main(["manifest", "build", *arguments])

    assert code == 2
    assert complaint in capsys.readouterr().err
    assert not (tmp_path / "build").exists()


def test_the_bot_id_defaults_to_the_configured_app_id(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MicrosoftAppId", BOT_ID)

    code = main(["manifest", "build", "--domain", "korttid.exempelby.se", "--output", "k.zip"])

    assert code == 0
    manifest, _files = read_package(tmp_path / "k.zip")
    assert manifest["bots"][0]["botId"] == BOT_ID


# --- the icons ---------------------------------------------------------------------------------


def test_icons_have_teams_sizes_and_the_outline_is_white_on_transparent(
    tmp_path: Path,
) -> None:
    _manifest, files = build(tmp_path)

    color = Image.open(io.BytesIO(files["color.png"]))
    outline = Image.open(io.BytesIO(files["outline.png"])).convert("RGBA")

    assert color.format == "PNG" and color.size == (192, 192)
    assert Image.open(io.BytesIO(files["outline.png"])).format == "PNG"
    assert outline.size == (32, 32)
    pixels = [outline.getpixel((x, y)) for y in range(32) for x in range(32)]
    visible = [pixel for pixel in pixels if pixel[3] > 0]
    assert all(pixel[:3] == (255, 255, 255) for pixel in visible), "outline must be white only"
    assert 0.1 < len(visible) / len(pixels) < 0.8, "outline must show a symbol on transparency"
    corners = [(0, 0), (31, 0), (0, 31), (31, 31)]
    assert all(outline.getpixel(corner)[3] == 0 for corner in corners)
    # The colour icon is a full-colour square: opaque, and more than one colour.
    rgba = color.convert("RGBA")
    assert all(rgba.getpixel((x, y))[3] == 255 for x in (0, 96, 191) for y in (0, 96, 191))
    assert len(rgba.getcolors(192 * 192) or []) > 2


# --- the command menu --------------------------------------------------------------------------


def _listed(manifest: dict[str, Any], scope: str) -> list[dict[str, str]]:
    lists = [entry for entry in manifest["bots"][0]["commandLists"] if scope in entry["scopes"]]
    assert len(lists) <= 1, f"one command list per scope, {scope} has {len(lists)}"
    return lists[0]["commands"] if lists else []


@pytest.mark.parametrize("scope", [PERSONAL, TEAM, GROUP])
def test_command_menu_lists_exactly_what_the_bot_understands(tmp_path: Path, scope: str) -> None:
    manifest, _files = build(tmp_path)
    catalogue = Renderer().catalogue["commands"]
    understood = commands_in_scope(scope)
    by_title = {command_title(catalogue[c.id]["usage"]): c for c in understood}
    listed = _listed(manifest, scope)
    titles = [entry["title"] for entry in listed]

    assert len(understood) <= MAX_COMMANDS, (
        f"Teams shows at most {MAX_COMMANDS} commands in the {scope} menu, and the bot "
        f"understands {len(understood)} there: decide which to leave out of the menu"
    )
    assert len(by_title) == len(understood), "two commands share a menu title"
    assert sorted(titles) == sorted(by_title), "the menu must list every command, and only those"
    for entry in listed:
        command = by_title[entry["title"]]
        usage = catalogue[command.id]["usage"]
        # Picking the title from the menu, or typing the usage shown, reaches that very command
        # (a usage with placeholders such as DATUM need not parse, but then the title must).
        reached = [match_command(text) for text in (entry["title"], usage)]
        assert any(found is not None for found in reached), f"{usage!r} is not understood"
        assert all(found is None or found[0].id == command.id for found in reached), usage
        assert scope in command.scopes
        assert len(entry["title"]) <= 32
        assert len(entry["description"]) <= 128


def test_menu_titles_are_the_command_words_of_the_usage() -> None:
    assert command_title("hjälp") == "hjälp"
    assert command_title("koppla kanal ENHET") == "koppla kanal"
    assert command_title("hemgång ÄNG-042 3/12 09:00") == "hemgång"
    assert command_title("möte [ärendekod]") == "möte"
