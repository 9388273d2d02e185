"""A figure that cannot be computed is never judged against its target, in any unit's row."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from notifications.indicator_text import headline_rows
from notifications.render import Renderer
from storage.domain.payment import PaymentPolicy
from tests.indicator_data import seed_indicator_data
from tests.test_indicators import _report


async def test_unconfigured_payment_is_not_judged(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    ids = await seed_indicator_data(sessions)
    renderer = Renderer()
    for period in ("2026Q4", "2026-W30"):  # with payable days, and with none
        report = await _report(sessions, period, policy=PaymentPolicy(daily_amounts={}))
        for figures in (report.total, *(report.by_unit[ids[code]] for code in ("AAA", "BBB"))):
            payment = {r["key"]: r for r in headline_rows(figures, None, renderer)}["payment"]
            assert payment["value"] == "inte konfigurerat"
            assert payment["status"] == "– kan inte bedömas", (period, payment)
            assert payment["colour"] == "Default"
