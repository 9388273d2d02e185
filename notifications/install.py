"""Korttid installs itself for the staff it must reach (issue 18).

A person with a message waiting and no conversation with Korttid yet cannot be written to. When
the municipality allows it, ``bot/`` provides an ``AppInstaller`` (Microsoft Graph's proactive
installation); this step asks it to install Korttid for each such person, at most once a day
each. The installation makes Teams send the bot an installationUpdate, which delivers what
waited. An installer's failure is recorded on the person and logged, and never stops delivery.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import transaction
from storage.repos.app_install import AppInstallRepository, InstallTarget

log = logging.getLogger(__name__)

RETRY_AFTER = timedelta(days=1)
MOST_PER_TICK = 20
INSTALLED = "installed"
ALREADY_INSTALLED = "already installed"


class AppInstaller(Protocol):
    async def install(self, user: str) -> str:
        """Install Korttid for ``user`` (object id or principal name). Returns ``INSTALLED``,
        ``ALREADY_INSTALLED`` or why it failed; never raises for the service's answers."""


async def install_for_waiting(
    sessions: async_sessionmaker[AsyncSession],
    installer: AppInstaller,
    now: datetime,
    *,
    most: int = MOST_PER_TICK,
) -> int:
    """Try to install Korttid for the people whose messages wait; returns how many succeeded."""
    async with transaction(sessions) as session:
        targets = await AppInstallRepository(session).due(now - RETRY_AFTER, most)
    return await _install(sessions, installer, now, targets)


async def install_for_staff(
    sessions: async_sessionmaker[AsyncSession],
    installer: AppInstaller,
    now: datetime,
    emails: Sequence[str],
) -> tuple[int, int]:
    """At staff import: install Korttid for those of ``emails`` it cannot reach yet.
    Returns (installed or already there, tried)."""
    async with transaction(sessions) as session:
        targets = await AppInstallRepository(session).unreached(emails, now - RETRY_AFTER)
    return await _install(sessions, installer, now, targets), len(targets)


async def _install(
    sessions: async_sessionmaker[AsyncSession],
    installer: AppInstaller,
    now: datetime,
    targets: Sequence[InstallTarget],
) -> int:
    async with transaction(sessions) as session:
        repo = AppInstallRepository(session)
        for target in targets:  # recorded before the calls: a crash does not retry in a loop
            await repo.record(target.staff_id, now, "attempting")
    done = 0
    for target in targets:
        try:
            result = await installer.install(target.user)
        except Exception as error:  # a bug or the network: logged, tried again tomorrow
            log.exception("app install failed staff_id=%s", target.staff_id)
            result = f"error: {type(error).__name__}"
        if result in (INSTALLED, ALREADY_INSTALLED):
            done += 1
            log.info("app install staff_id=%s: %s", target.staff_id, result)
        else:
            log.warning("app install staff_id=%s refused: %s", target.staff_id, result)
        async with transaction(sessions) as session:
            await AppInstallRepository(session).record(target.staff_id, now, result)
    return done
