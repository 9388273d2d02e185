"""The Bot Framework Storage contract on SQL, modelled on the SDK's own storage tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from botbuilder.core import ConversationState, StoreItem, TurnContext
from botbuilder.core.adapters import TestAdapter
from botbuilder.dialogs import DialogSet, DialogTurnStatus, WaterfallDialog, WaterfallStepContext
from botbuilder.dialogs.prompts import PromptOptions, TextPrompt
from botbuilder.schema import Activity

from bot.state_storage import SqlStorage
from storage import db
from storage.repos.state import ETagConflict


@pytest.fixture
async def storage(database_url: str) -> AsyncIterator[SqlStorage]:
    engine = db.create_engine(database_url)
    await db.upgrade(engine)
    yield SqlStorage(db.session_factory(engine))
    await engine.dispose()


class Note(StoreItem):  # type: ignore[misc]
    def __init__(self, text: str = "", e_tag: str | None = None) -> None:
        super().__init__(text=text, e_tag=e_tag)


async def test_reading_unknown_key_returns_nothing(storage: SqlStorage) -> None:
    assert await storage.read(["missing"]) == {}


async def test_reading_without_keys_is_an_error(storage: SqlStorage) -> None:
    with pytest.raises(TypeError):
        await storage.read(None)  # type: ignore[arg-type]


async def test_writing_nothing_is_fine(storage: SqlStorage) -> None:
    await storage.write({})
    with pytest.raises(TypeError):
        await storage.write(None)  # type: ignore[arg-type]


async def test_create_and_read_back_dicts_and_store_items(storage: SqlStorage) -> None:
    await storage.write({"dict": {"count": 1, "list": [1, "två"]}, "item": Note("hej")})

    items = await storage.read(["dict", "item"])

    assert items["dict"]["count"] == 1
    assert items["dict"]["list"] == [1, "två"]
    assert items["dict"]["e_tag"]
    assert isinstance(items["item"], Note)
    assert items["item"].text == "hej"
    assert items["item"].e_tag


async def test_odd_keys_are_stored_as_is(storage: SqlStorage) -> None:
    key = "msteams/conversations/a:1Bx-åäö/'quotes\"/%&?#"
    await storage.write({key: {"v": 1}})
    assert (await storage.read([key]))[key]["v"] == 1


async def test_update_with_stale_etag_is_refused(storage: SqlStorage) -> None:
    await storage.write({"k": {"v": 1}})
    first = (await storage.read(["k"]))["k"]
    second = (await storage.read(["k"]))["k"]

    first["v"] = 2
    await storage.write({"k": first})
    second["v"] = 3
    with pytest.raises(ETagConflict):
        await storage.write({"k": second})

    assert (await storage.read(["k"]))["k"]["v"] == 2


async def test_wildcard_etag_overwrites(storage: SqlStorage) -> None:
    await storage.write({"k": {"v": 1}})
    await storage.write({"k": {"v": 9, "e_tag": "*"}})
    assert (await storage.read(["k"]))["k"]["v"] == 9


async def test_same_object_can_be_written_twice(storage: SqlStorage) -> None:
    await storage.write({"k": {"v": 1}})
    value = (await storage.read(["k"]))["k"]
    value["v"] = 2
    await storage.write({"k": value})
    value["v"] = 3
    await storage.write({"k": value})  # the first write refreshed the eTag it carries
    assert (await storage.read(["k"]))["k"]["v"] == 3


async def test_delete_known_and_unknown(storage: SqlStorage) -> None:
    await storage.write({"a": {"v": 1}, "b": {"v": 2}})
    await storage.delete(["a", "never-there"])
    assert set(await storage.read(["a", "b"])) == {"b"}


async def test_waterfall_survives_across_turns(storage: SqlStorage) -> None:
    """A dialog's stack round-trips through SQL between turns."""
    state = ConversationState(storage)
    dialogs = DialogSet(state.create_property("DialogState"))
    dialogs.add(TextPrompt("prompt"))

    async def ask(step: WaterfallStepContext):  # type: ignore[no-untyped-def]
        return await step.prompt(
            "prompt", PromptOptions(prompt=Activity(type="message", text="Vilken enhet?"))
        )

    async def answer(step: WaterfallStepContext):  # type: ignore[no-untyped-def]
        await step.context.send_activity(f"Du svarade {step.result}")
        return await step.end_dialog()

    dialogs.add(WaterfallDialog("flow", [ask, answer]))

    async def logic(context: TurnContext) -> None:
        dialog_context = await dialogs.create_context(context)
        result = await dialog_context.continue_dialog()
        if result.status == DialogTurnStatus.Empty:
            await dialog_context.begin_dialog("flow")
        await state.save_changes(context)

    adapter = TestAdapter(logic)
    step = await adapter.test("hej", "Vilken enhet?")
    await step.test("ÄNG", "Du svarade ÄNG")
