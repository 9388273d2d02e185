"""Bot Framework ``Storage`` over SQL, with eTag optimistic concurrency.

Values are Python objects (the dialog stack holds ``DialogState`` instances), so they are
serialized with jsonpickle, which botbuilder-core itself depends on. Only Korttid writes these rows.
"""

from __future__ import annotations

from typing import Any

import jsonpickle
from botbuilder.core import Storage, StoreItem
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.turn_session import current_or_new
from storage.repos.state import ETagConflict, StateRepository

ETAG = "e_tag"


class SqlStorage(Storage):  # type: ignore[misc]
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        super().__init__()
        self._sessions = sessions

    async def read(self, keys: list[str]) -> dict[str, Any]:
        if keys is None:
            raise TypeError("keys are required when reading")
        async with current_or_new(self._sessions) as session:
            rows = await StateRepository(session).read(keys)
        items: dict[str, Any] = {}
        for key, (etag, data) in rows.items():
            value = jsonpickle.decode(data)
            _set_etag(value, etag)
            items[key] = value
        return items

    async def write(self, changes: dict[str, Any]) -> None:
        if changes is None:
            raise TypeError("changes are required when writing")
        if not changes:
            return
        async with current_or_new(self._sessions) as session:
            repo = StateRepository(session)
            for key, value in changes.items():
                expected = _get_etag(value)
                if expected == "":
                    raise ETagConflict(key)
                data = jsonpickle.encode(_without_etag(value), make_refs=False)
                new_etag = await repo.write(key, data, expected)
                _set_etag(value, new_etag)

    async def delete(self, keys: list[str]) -> None:
        async with current_or_new(self._sessions) as session:
            await StateRepository(session).delete(keys)


def _get_etag(value: Any) -> str | None:
    etag = value.get(ETAG) if isinstance(value, dict) else getattr(value, ETAG, None)
    return None if etag is None else str(etag)


def _set_etag(value: Any, etag: str) -> None:
    if isinstance(value, dict):
        value[ETAG] = etag
    elif isinstance(value, StoreItem) or hasattr(value, "__dict__"):
        value.e_tag = etag


def _without_etag(value: Any) -> Any:
    if isinstance(value, dict) and ETAG in value:
        return {k: v for k, v in value.items() if k != ETAG}
    if hasattr(value, "__dict__") and hasattr(value, ETAG):
        copy = object.__new__(type(value))
        copy.__dict__.update({k: v for k, v in value.__dict__.items() if k != ETAG})
        return copy
    return value
