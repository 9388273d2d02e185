"""The one settings class. Read once in ``main()`` and passed to ``create_app``."""

from __future__ import annotations

import ipaddress
from datetime import time
from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, AwareDatetime, Field, PositiveInt, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from storage.domain.clock import Clock, StartedClock, SystemClock
from storage.domain.payment import DEFAULT_GRACE_DAYS, PaymentPolicy

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
    deliver_at_once: bool = Field(
        default=True,
        validation_alias=AliasChoices("KORTTID_DELIVER_AT_ONCE", "deliver_at_once"),
        description="a turn that queued messages delivers them at once, not at the next tick",
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
    # Dev only (refused otherwise): the bot's clock starts at this instant and runs on, so a
    # local demo or an end-to-end test is at 10:00 on a working day whenever it runs.
    clock_start: AwareDatetime | None = Field(
        default=None, validation_alias=AliasChoices("KORTTID_CLOCK_START", "clock_start")
    )
    # issue 4: payment responsibility (betalningsansvar). The daily amount is set per year, as
    # JSON {"2026": 9800}; a year without an amount is shown as "not configured", never as 0.
    payment_policy_version: str = Field(
        default="lag-2017:612",
        validation_alias=AliasChoices("KORTTID_PAYMENT_POLICY_VERSION", "payment_policy_version"),
    )
    payment_grace_days: int = Field(
        default=DEFAULT_GRACE_DAYS,
        ge=0,
        le=30,
        validation_alias=AliasChoices("KORTTID_PAYMENT_GRACE_DAYS", "payment_grace_days"),
    )
    payment_noon_cutoff: bool = Field(
        default=False,
        validation_alias=AliasChoices("KORTTID_PAYMENT_NOON_CUTOFF", "payment_noon_cutoff"),
    )
    payment_amounts: dict[int, PositiveInt] = Field(
        default_factory=dict,
        validation_alias=AliasChoices("KORTTID_PAYMENT_AMOUNTS", "payment_amounts"),
    )
    # issue 6: the weekly digest. ISO weekday (1 = Monday) and local time it goes out.
    digest_weekday: int = Field(
        default=1,
        ge=1,
        le=7,
        validation_alias=AliasChoices("KORTTID_DIGEST_WEEKDAY", "digest_weekday"),
    )
    digest_time: time = Field(
        default=time(7, 30), validation_alias=AliasChoices("KORTTID_DIGEST_TIME", "digest_time")
    )
    # The steering group's channel: its Teams conversation id (or our conversation_ref id).
    steering_conversation: str = Field(
        default="",
        validation_alias=AliasChoices("KORTTID_STEERING_CONVERSATION", "steering_conversation"),
    )

    # issue 9: how long free-text notes of closed stays are kept (``korttid purge``), in months.
    retention_months: int = Field(
        default=24,
        ge=1,
        le=240,
        validation_alias=AliasChoices("KORTTID_RETENTION_MONTHS", "retention_months"),
    )

    # issue 18: Korttid installs itself (Microsoft Graph) for staff it must reach. Needs the
    # application permission TeamsAppInstallation.ReadWriteSelfForUser.All with admin consent.
    graph_proactive_install: bool = Field(
        default=False,
        validation_alias=AliasChoices("KORTTID_GRAPH_PROACTIVE_INSTALL", "graph_proactive_install"),
    )
    # The app's id in the tenant's app catalog (Teams admin center: Manage apps, "App ID").
    graph_catalog_app_id: str = Field(
        default="",
        validation_alias=AliasChoices("KORTTID_GRAPH_CATALOG_APP_ID", "graph_catalog_app_id"),
    )
    graph_url: str = Field(
        default="https://graph.microsoft.com/v1.0",
        validation_alias=AliasChoices("KORTTID_GRAPH_URL", "graph_url"),
    )
    graph_authority_host: str = Field(
        default="https://login.microsoftonline.com",
        validation_alias=AliasChoices("KORTTID_GRAPH_AUTHORITY_HOST", "graph_authority_host"),
    )

    @property
    def graph_install_ready(self) -> bool:
        """Proactive install is on and has what it needs: a catalog id and app credentials."""
        return bool(
            self.graph_proactive_install
            and self.graph_catalog_app_id
            and self.app_id
            and self.app_password.get_secret_value()
            and self.app_tenant_id
        )

    def payment_policy(self) -> PaymentPolicy:
        return PaymentPolicy(
            version=self.payment_policy_version,
            grace_days=self.payment_grace_days,
            noon_cutoff=self.payment_noon_cutoff,
            daily_amounts=dict(self.payment_amounts),
        )

    @property
    def is_dev(self) -> bool:
        return self.env is Environment.DEV

    def make_clock(self) -> Clock:
        """The bot's time: the system's, or in dev mode the time begun at ``clock_start``."""
        if self.clock_start is not None and self.demo_switch_allowed:
            return StartedClock(self.clock_start)
        return SystemClock()

    @property
    def demo_switch_allowed(self) -> bool:
        """``demo som …``: only in dev mode without credentials, which serves loopback only."""
        return self.is_dev and not self.app_id

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
    if settings.clock_start is not None and not settings.demo_switch_allowed:
        raise StartupRefused("KORTTID_CLOCK_START is for a local demo or test (dev mode) only")
    if secret and secret.strip().lower() in _PLACEHOLDER_SECRETS:
        raise StartupRefused("MicrosoftAppPassword is a placeholder; set the real client secret")
    if settings.app_id:
        if not secret and settings.app_type != "UserAssignedMSI":
            raise StartupRefused("MicrosoftAppId is set but MicrosoftAppPassword is empty")
        if settings.app_type == "SingleTenant" and not settings.app_tenant_id:
            raise StartupRefused("MicrosoftAppType=SingleTenant needs MicrosoftAppTenantId")
        warnings.extend(_graph_install_warnings(settings))
        return warnings
    if not settings.is_dev:
        raise StartupRefused(
            "no MicrosoftAppId configured; set the bot credentials, or KORTTID_ENV=dev locally"
        )
    if settings.clock_start is not None:
        warnings.append(f"dev mode: the bot's clock started at {settings.clock_start.isoformat()}")
    if not _is_loopback(host):
        raise StartupRefused(
            f"dev mode without credentials may only listen on loopback, not {host!r}"
        )
    warnings.append("dev mode: no MicrosoftAppId, inbound authentication is OFF (loopback only)")
    return warnings


def _graph_install_warnings(settings: Settings) -> list[str]:
    if not settings.graph_proactive_install or settings.graph_install_ready:
        return []
    return [
        "KORTTID_GRAPH_PROACTIVE_INSTALL is on but KORTTID_GRAPH_CATALOG_APP_ID, MicrosoftAppId,"
        " MicrosoftAppPassword or MicrosoftAppTenantId is missing: Korttid will not install"
        " itself; messages wait until each person opens it"
    ]


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
