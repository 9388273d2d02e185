"""The Teams app package: ``korttid manifest build`` renders ``manifest/manifest.json.j2`` and zips
it with the two icons, ready to upload in the Teams admin center.

The bot's ``commandLists`` are generated from ``dialogs.commands.COMMANDS`` and the catalogue, so
the command menu in Teams always matches what the bot understands.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
import zipfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from bot.settings import Settings
from dialogs.commands import COMMANDS, GROUP, PERSONAL, TEAM, Command
from notifications.render import Renderer

log = logging.getLogger(__name__)

MANIFEST_VERSION = "1.22"
SCHEMA_URL = (
    f"https://developer.microsoft.com/json-schemas/teams/v{MANIFEST_VERSION}"
    "/MicrosoftTeams.schema.json"
)
TEMPLATE = "manifest.json.j2"
ICONS = ("color.png", "outline.png")
ACCENT_COLOR = "#0E7C86"
DEFAULT_OUTPUT = Path("build") / "korttid-teams.zip"
SCOPES = (PERSONAL, TEAM, GROUP)  # issue 16: group and Teams meeting chats
# Teams shows at most 10 commands per scope; titles and descriptions longer than this are cut.
MAX_COMMANDS = 10
MAX_TITLE = 32
MAX_DESCRIPTION = 128
# Single-sign-on (OAuth card) flows open pages on this domain.
SSO_DOMAIN = "token.botframework.com"
# Zip entries get a fixed timestamp so the same input always builds the same package.
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)

_GUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
_SEMVER = re.compile(r"(?:0|[1-9][0-9]*)\.(?:0|[1-9][0-9]*)\.(?:0|[1-9][0-9]*)")
_HOST = re.compile(r"(?:\*\.)?(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}")
_COMMAND_WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")


class ManifestError(ValueError):
    """Input the package cannot be built from; the message names the option and what to give."""


@dataclass(frozen=True, slots=True)
class PackageOptions:
    bot_id: str
    app_id: str | None = None
    version: str | None = None
    domain: str | None = None
    developer_name: str = "Korttid"
    website_url: str | None = None
    privacy_url: str | None = None
    terms_url: str | None = None
    sso_resource: str | None = None


# --- validation -------------------------------------------------------------------------------


def check_guid(value: str, option: str) -> str:
    if not _GUID.fullmatch(value.strip()):
        raise ManifestError(
            f"{option} must be a GUID like 0f8fad5b-d9cb-469f-a165-70867728950e, not {value!r}"
        )
    return value.strip().lower()


def check_version(value: str) -> str:
    if not _SEMVER.fullmatch(value.strip()):
        raise ManifestError(
            f"--version must be a semantic version MAJOR.MINOR.PATCH such as 1.4.0, not {value!r}"
        )
    return value.strip()


def check_domain(value: str) -> str:
    host = value.strip().lower().rstrip(".")
    if not _HOST.fullmatch(host):
        raise ManifestError(
            f"--domain must be the bot's public host name only, such as korttid.kommun.se "
            f"(no https://, port or path), not {value!r}"
        )
    return host


def check_https_url(value: str, option: str) -> str:
    if not re.fullmatch(r"https://[^\s/]+\.[^\s/]+(?:/\S*)?", value.strip()):
        raise ManifestError(f"{option} must be an https:// address, not {value!r}")
    return value.strip()


def default_version() -> str:
    """The installed Korttid version, so each release gets a new package version."""
    try:
        return metadata.version("korttid")
    except metadata.PackageNotFoundError:
        return "1.0.0"


# --- command lists ----------------------------------------------------------------------------


def command_title(usage: str) -> str:
    """The command word(s) of a usage line: ``koppla kanal ENHET`` gives ``koppla kanal``.

    Placeholders are written in capitals or brackets, so the title stops at the first word that is
    not a lowercase word.
    """
    words: list[str] = []
    for word in usage.split():
        if word != word.lower() or not _COMMAND_WORD.fullmatch(word):
            break
        words.append(word)
    return _fit(" ".join(words) or usage, MAX_TITLE)


def command_description(usage: str, description: str) -> str:
    """The menu hint; it shows the full usage when the command takes more than its title."""
    if command_title(usage) == usage:
        return _fit(description, MAX_DESCRIPTION)
    suffix = f" Skriv: {usage}"
    return _fit(description, MAX_DESCRIPTION - len(suffix)) + suffix


def commands_in_scope(scope: str) -> list[Command]:
    """The menu's commands in ``scope``, in the command table's order (``Command.menu``)."""
    return [command for command in COMMANDS if scope in command.scopes and command.menu]


def command_lists(renderer: Renderer) -> list[dict[str, Any]]:
    lists: list[dict[str, Any]] = []
    for scope in SCOPES:
        commands = commands_in_scope(scope)
        if len(commands) > MAX_COMMANDS:
            log.warning(
                "Teams lists at most %d commands per scope; %s has %d, the last %d are left out",
                MAX_COMMANDS,
                scope,
                len(commands),
                len(commands) - MAX_COMMANDS,
            )
        entries = []
        for command in commands[:MAX_COMMANDS]:
            text = renderer.command_text(command.id)
            entries.append(
                {
                    "title": command_title(text["usage"]),
                    "description": command_description(text["usage"], text["description"]),
                }
            )
        if entries:
            lists.append({"scopes": [scope], "commands": entries})
    return lists


def _fit(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# --- rendering and packaging ------------------------------------------------------------------


def manifest_dir() -> Path:
    """``manifest/`` beside the source tree, or in the working directory for an installed copy."""
    for candidate in (Path(__file__).resolve().parents[1] / "manifest", Path.cwd() / "manifest"):
        if (candidate / TEMPLATE).is_file():
            return candidate
    raise ManifestError("the manifest/ folder was not found: run this in the Korttid folder")


def render_manifest(
    options: PackageOptions, *, source: Path | None = None, renderer: Renderer | None = None
) -> dict[str, Any]:
    """Validate the options and render the manifest as a dict; raises ``ManifestError``."""
    bot_id = check_guid(options.bot_id, "--bot-id")
    app_id = check_guid(options.app_id, "--app-id") if options.app_id else bot_id
    version = check_version(options.version or default_version())
    domain = check_domain(options.domain) if options.domain else None
    website = _website(options, domain)
    developer_name = options.developer_name.strip()
    if not developer_name or len(developer_name) > 32:
        raise ManifestError("--developer must be 1 to 32 characters, such as Exempelby kommun")
    valid_domains = [domain] if domain else []
    web_application_info = None
    if options.sso_resource:
        if not re.fullmatch(r"api://\S+", options.sso_resource.strip()):
            raise ManifestError(
                f"--sso-resource must be the Application ID URI (api://...) of the bot's "
                f"Entra app, not {options.sso_resource!r}"
            )
        web_application_info = {"id": bot_id, "resource": options.sso_resource.strip()}
        valid_domains.append(SSO_DOMAIN)
    environment = Environment(
        loader=FileSystemLoader(source or manifest_dir()),
        undefined=StrictUndefined,
        autoescape=False,
    )
    environment.policies["json.dumps_kwargs"] = {"ensure_ascii": False, "sort_keys": False}
    rendered = environment.get_template(TEMPLATE).render(
        schema_url=SCHEMA_URL,
        manifest_version=MANIFEST_VERSION,
        version=version,
        app_id=app_id,
        bot_id=bot_id,
        developer_name=developer_name,
        website_url=website,
        privacy_url=check_https_url(options.privacy_url, "--privacy-url")
        if options.privacy_url
        else website,
        terms_url=check_https_url(options.terms_url, "--terms-url")
        if options.terms_url
        else website,
        accent_color=ACCENT_COLOR,
        command_lists=command_lists(renderer or Renderer()),
        valid_domains=valid_domains,
        web_application_info=web_application_info,
    )
    manifest: dict[str, Any] = json.loads(rendered)
    return manifest


def _website(options: PackageOptions, domain: str | None) -> str:
    """Teams requires https links for the About page; the municipality's own page is best."""
    if options.website_url:
        return check_https_url(options.website_url, "--website-url")
    if domain:
        return f"https://{domain}/"
    raise ManifestError(
        "Teams needs a web page about the app: give --domain (the bot's public host name) "
        "or --website-url (for example your municipality's page about Korttid)"
    )


def build_package(
    options: PackageOptions, output: Path = DEFAULT_OUTPUT, *, source: Path | None = None
) -> Path:
    """Write the zip (manifest.json and the icons at its root) and return its path."""
    source = source or manifest_dir()
    manifest = render_manifest(options, source=source)
    missing = [icon for icon in ICONS if not (source / icon).is_file()]
    if missing:
        raise ManifestError(f"icons missing in {source}: {', '.join(missing)}")
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as package:
        _add(package, "manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2).encode())
        for icon in ICONS:
            _add(package, icon, (source / icon).read_bytes())
    partial.replace(output)  # an interrupted build never leaves a half-written package behind
    return output


def _add(package: zipfile.ZipFile, name: str, data: bytes) -> None:
    entry = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
    entry.compress_type = zipfile.ZIP_DEFLATED
    entry.external_attr = 0o644 << 16
    package.writestr(entry, data)


# --- the CLI command --------------------------------------------------------------------------


def add_build_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--bot-id", help="the bot's Microsoft App ID, a GUID (default: MicrosoftAppId)"
    )
    parser.add_argument("--app-id", help="the Teams app's id, a GUID (default: the bot id)")
    parser.add_argument("--version", help="the package version X.Y.Z (default: Korttid's)")
    parser.add_argument("--domain", help="the bot's public host name, such as korttid.kommun.se")
    parser.add_argument("--developer", default="Korttid", help="publisher shown in Teams")
    parser.add_argument("--website-url", help="https page about Korttid (default: the domain)")
    parser.add_argument("--privacy-url", help="https privacy page (default: the website)")
    parser.add_argument("--terms-url", help="https terms of use page (default: the website)")
    parser.add_argument("--sso-resource", help="api://... URI; adds webApplicationInfo for SSO")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="the zip to write")


def cmd_manifest_build(args: argparse.Namespace, settings: Settings) -> int:
    bot_id = args.bot_id or settings.app_id
    if not bot_id:
        print("korttid: manifest: give --bot-id (or set MicrosoftAppId)", file=sys.stderr)
        return 2
    options = PackageOptions(
        bot_id=bot_id,
        app_id=args.app_id,
        version=args.version,
        domain=args.domain,
        developer_name=args.developer,
        website_url=args.website_url,
        privacy_url=args.privacy_url,
        terms_url=args.terms_url,
        sso_resource=args.sso_resource,
    )
    try:
        path = build_package(options, args.output)
    except ManifestError as error:
        print(f"korttid: manifest: {error}", file=sys.stderr)
        return 2
    print(f"wrote {path}: upload it in the Teams admin center (Teams apps > Manage apps)")
    return 0
