"""The ward/groups picker shared by notices and votes (handlers/scope.py): it refuses a
forged ward or group id on the server and keeps the ticks in the form data."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from aiogram import Router
from aiogram.fsm.context import FSMContext
from aiogram.fsm.storage.base import StorageKey
from aiogram.fsm.storage.memory import MemoryStorage

from bot.services.errors import NotAllowed
from bot.services.notices import PublishScope
from bot.services.people import Actor
from handlers.notices import SCOPE as NOTICE_SCOPE
from handlers.notices import Compose, Writing
from handlers.scope import ScopePicker
from handlers.votes import SCOPE as VOTE_SCOPE
from handlers.votes import NewVote

WARD = SimpleNamespace(id=7, name="Phường Một")
GROUPS = [SimpleNamespace(id=1, name="Tổ 1"), SimpleNamespace(id=2, name="Tổ 2")]


class FakeMessage:
    def __init__(self) -> None:
        self.markups: list[Any] = []

    async def edit_reply_markup(self, reply_markup: Any = None) -> None:
        self.markups.append(reply_markup)


class FakeQuery:
    def __init__(self) -> None:
        self.message = FakeMessage()
        self.answers: list[tuple[Any, ...]] = []

    async def answer(self, *args: Any, **kwargs: Any) -> None:
        self.answers.append(args)


async def _scopes(session: Any, actor: Actor) -> list[PublishScope]:
    # A group leader of two groups in one ward.
    return [PublishScope(ward=WARD, whole_ward=False, groups=GROUPS)]  # type: ignore[arg-type]


async def _then(message: Any, session: Any, state: FSMContext) -> None:
    raise AssertionError("the picker went on before the groups were chosen")


PICKER = ScopePicker(
    data=Compose,
    ward_state=Writing.ward,
    scope_state=Writing.scope,
    groups_state=Writing.groups,
    scopes=_scopes,
    then=_then,
    ask_own_groups="own",
    ask_groups="groups",
    ask_scope="scope",
)


def _state() -> FSMContext:
    return FSMContext(MemoryStorage(), StorageKey(bot_id=1, chat_id=2, user_id=3))


async def test_forged_ward_is_refused() -> None:
    query = FakeQuery()
    with pytest.raises(NotAllowed):
        await PICKER.chose_ward(
            query,
            Compose(action="ward", value=99),
            None,
            Actor(person=None),
            _state(),  # type: ignore[arg-type]
        )
    assert query.answers == []


async def test_forged_group_is_refused_and_ticks_toggle() -> None:
    state = _state()
    await state.update_data(ward_id=WARD.id, group_ids=[])
    actor = Actor(person=None)
    with pytest.raises(NotAllowed):
        await PICKER.toggle_group(
            FakeQuery(),
            Compose(action="toggle", value=99),
            None,
            actor,
            state,  # type: ignore[arg-type]
        )
    assert (await state.get_data())["group_ids"] == []
    query = FakeQuery()
    await PICKER.toggle_group(query, Compose(action="toggle", value=2), None, actor, state)  # type: ignore[arg-type]
    assert (await state.get_data())["group_ids"] == [2]
    buttons = [b.text for row in query.message.markups[-1].inline_keyboard for b in row]
    assert "☑️ Tổ 2" in buttons and "⬜ Tổ 1" in buttons
    await PICKER.toggle_group(FakeQuery(), Compose(action="toggle", value=2), None, actor, state)  # type: ignore[arg-type]
    assert (await state.get_data())["group_ids"] == []
    # Continue with nothing ticked is refused with an alert, and the form stays.
    empty = FakeQuery()
    await PICKER.groups_chosen(empty, None, state)  # type: ignore[arg-type]
    assert empty.message.markups == []


async def test_a_ward_moved_away_under_the_form_is_refused() -> None:
    state = _state()
    await state.update_data(ward_id=99, group_ids=[1])
    with pytest.raises(NotAllowed):
        await PICKER.toggle_group(
            FakeQuery(),
            Compose(action="toggle", value=1),
            None,
            Actor(person=None),
            state,  # type: ignore[arg-type]
        )


def test_notices_and_votes_keep_their_callback_data() -> None:
    assert NOTICE_SCOPE.data is Compose and VOTE_SCOPE.data is NewVote
    assert Compose(action="toggle", value=3).pack() == "nc:toggle:3"
    assert NewVote(action="groups-ok").pack() == "vn:groups-ok:0"
    router = Router()
    PICKER.register(router)
    assert len(router.callback_query.handlers) == 4
