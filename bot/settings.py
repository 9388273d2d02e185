"""The one settings class. Read once in ``main()`` and passed to ``create_app``."""

from __future__ import annotations

import ipaddress
from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///var/korttid.db"

# Values people paste from samples instead of a real secret.
_PLACEHOLDER_SECRETS = frozenset(
    {"changeme", "change-me", "secret", "password", "your-secret", "<secret>", "xxx", "todo"}
)


class Environment(StrEnum):
    DEV = "dev"
    PROD = "prod"


class StartupRefused(Exception):
    """Raised when the configuration must not be served; the message is one line for the log."""


class Settings(BaseSettings):
    """Every setting Korttid reads. Bot Framework's own variable names are accepted."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True
    )

    app_id: str = Field(default="", validation_alias=AliasChoices("MicrosoftAppId", "app_id"))
    app_password: SecretStr = Field(
        default=SecretStr(""), validation_alias=AliasChoices("MicrosoftAppPassword", "app_password")
    )
    app_type: Literal["SingleTenant", "MultiTenant", "UserAssignedMSI"] = Field(
        default="SingleTenant", validation_alias=AliasChoices("MicrosoftAppType", "app_type")
    )
    app_tenant_id: str = Field(
        default="", validation_alias=AliasChoices("MicrosoftAppTenantId", "app_tenant_id")
    )
    database_url: str = Field(
        default=DEFAULT_DATABASE_URL, validation_alias=AliasChoices("DATABASE_URL", "database_url")
    )
    env: Environment = Field(
        default=Environment.PROD, validation_alias=AliasChoices("KORTTID_ENV", "env")
    )
    timezone: str = Field(
        default="Europe/Stockholm", validation_alias=AliasChoices("KORTTID_TIMEZONE", "timezone")
    )
    max_body_bytes: int = Field(
        default=256 * 1024,
        validation_alias=AliasChoices("KORTTID_MAX_BODY_BYTES", "max_body_bytes"),
    )
    tick_seconds: int = Field(
        default=60, ge=5, validation_alias=AliasChoices("KORTTID_TICK_SECONDS", "tick_seconds")
    )
    scheduler_enabled: bool = Field(
        default=True, validation_alias=AliasChoices("KORTTID_SCHEDULER", "scheduler_enabled")
    )
    admin_contact: str = Field(
        default="din enhetschef eller systemförvaltaren",
        validation_alias=AliasChoices("KORTTID_ADMIN_CONTACT", "admin_contact"),
    )
    log_level: str = Field(
        default="INFO", validation_alias=AliasChoices("KORTTID_LOG_LEVEL", "log_level")
    )

    @property
    def is_dev(self) -> bool:
        return self.env is Environment.DEV

    def sqlite_path(self) -> Path | None:
        """The file behind an SQLite URL, so its folder can be created before connecting."""
        prefix = "sqlite+aiosqlite:///"
        if self.database_url.startswith(prefix):
            rest = self.database_url[len(prefix) :].split("?", 1)[0]
            return Path(rest) if rest and rest != ":memory:" else None
        return None


def check_startup(settings: Settings, host: str) -> list[str]:
    """Refuse configurations that must not serve; return warnings for those that may.

    Raises ``StartupRefused`` with a one-line reason.
    """
    warnings: list[str] = []
    secret = settings.app_password.get_secret_value()
    if secret and secret.strip().lower() in _PLACEHOLDER_SECRETS:
        raise StartupRefused("MicrosoftAppPassword is a placeholder; set the real client secret")
    if settings.app_id:
        if not secret and settings.app_type != "UserAssignedMSI":
            raise StartupRefused("MicrosoftAppId is set but MicrosoftAppPassword is empty")
        if settings.app_type == "SingleTenant" and not settings.app_tenant_id:
            raise StartupRefused("MicrosoftAppType=SingleTenant needs MicrosoftAppTenantId")
        return warnings
    if not settings.is_dev:
        raise StartupRefused(
            "no MicrosoftAppId configured; set the bot credentials, or KORTTID_ENV=dev locally"
        )
    if not _is_loopback(host):
        raise StartupRefused(
            f"dev mode without credentials may only listen on loopback, not {host!r}"
        )
    warnings.append("dev mode: no MicrosoftAppId, inbound authentication is OFF (loopback only)")
    return warnings


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
