"""Bot Framework ``Storage`` over SQL, with eTag optimistic concurrency.

Values are Python objects (the dialog stack holds ``DialogState`` instances), so they are
stored in jsonpickle's format (botbuilder-core itself depends on jsonpickle), see
``bot/state_codec.py``. Only Korttid writes these rows.
"""

from __future__ import annotations

from typing import Any

from botbuilder.core import ConversationState, Storage, StoreItem, TurnContext
from botbuilder.core.bot_state import CachedBotState
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.state_codec import decode_state, encode_state
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
            value = decode_state(data)
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
                data = encode_state(_without_etag(value))
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


class _Unhashed(CachedBotState):  # type: ignore[misc]
    """Cached state that never computes the SDK's change hash: it always counts as changed."""

    def compute_hash(self, obj: object) -> str:
        return ""

    @property
    def is_changed(self) -> bool:
        return True


class TurnConversationState(ConversationState):  # type: ignore[misc]
    """The conversation state, without the SDK's change detection.

    Korttid saves the state of every turn that read it, changed or not (the eTag then puts the
    turns of one conversation in order, see ``KorttidBot._save_state``). The SDK still flattens the
    whole state with jsonpickle when it loads and again after each save, to tell whether it
    changed: twice a turn, for an answer nobody asks.
    """

    async def load(self, turn_context: TurnContext, force: bool = False) -> None:
        cached = self.get_cached_state(turn_context)
        if force or not cached or not cached.state:
            key = self.get_storage_key(turn_context)
            items = await self._storage.read([key])
            turn_context.turn_state[self._context_service_key] = _Unhashed(items.get(key))
