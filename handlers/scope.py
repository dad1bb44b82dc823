"""The first steps of a creation form (a notice, a vote): the ward, when the creator has
several, then for whom — the whole ward or some groups, ticked on a keyboard.

Notices and votes differ only in their callback data, FSM states, texts and the step that
follows, so both build a ``ScopePicker`` and ``register`` it on their router. Every press
re-reads the creator's scopes on the server: a forged ward or group id is refused.

The form data it leaves: ``ward_id``, ``whole`` and ``group_ids`` (``None`` for the whole
ward).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from aiogram import F, Router
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.i18n import _
from bot.services.errors import NotAllowed
from bot.services.notices import PublishScope
from bot.services.people import Actor
from handlers.forms import cancel_button

Scopes = Callable[[AsyncSession, Actor], Awaitable[list[PublishScope]]]
Next = Callable[[Message, AsyncSession, FSMContext], Awaitable[None]]


@dataclass(frozen=True)
class ScopePicker:
    """``data`` is the form's callback data (fields ``action`` and ``value``); the texts are
    msgids (``N_``) translated when shown; ``then`` asks the form's next step."""

    data: type[CallbackData]
    ward_state: State
    scope_state: State
    groups_state: State
    scopes: Scopes
    then: Next
    # Asked of a group leader, who picks among their own groups.
    ask_own_groups: str
    # Asked of an admin who chose "Chosen groups".
    ask_groups: str
    # Asked of an admin: the whole ward or chosen groups?
    ask_scope: str

    def register(self, router: Router) -> None:
        data = self.data
        on = router.callback_query.register
        on(self.chose_ward, self.ward_state, data.filter(F.action == "ward"))
        on(self.chose_scope, self.scope_state, data.filter(F.action.in_({"whole", "choose"})))
        on(self.toggle_group, self.groups_state, data.filter(F.action == "toggle"))
        on(self.groups_chosen, self.groups_state, data.filter(F.action == "groups-ok"))

    async def begin(
        self,
        message: Message,
        session: AsyncSession,
        actor: Actor,
        state: FSMContext,
        scopes: Sequence[PublishScope],
    ) -> None:
        """Ask for the ward when there are several ``scopes`` (not empty), else for whom."""
        if len(scopes) > 1:
            await state.set_state(self.ward_state)
            builder = InlineKeyboardBuilder()
            for scope in scopes:
                builder.button(
                    text=scope.ward.name,
                    callback_data=self.data(action="ward", value=scope.ward.id),
                )
            builder.adjust(1)
            builder.row(cancel_button(self.data))
            await message.answer(_("In which ward?"), reply_markup=builder.as_markup())
            return
        await self._ask_scope(message, session, actor, state, scopes[0])

    async def chose_ward(
        self,
        query: CallbackQuery,
        callback_data: CallbackData,
        session: AsyncSession,
        actor: Actor,
        state: FSMContext,
    ) -> None:
        ward_id = callback_data.value  # type: ignore[attr-defined]
        scope = next((s for s in await self.scopes(session, actor) if s.ward.id == ward_id), None)
        if scope is None:
            raise NotAllowed()
        await query.answer()
        await self._ask_scope(query.message, session, actor, state, scope)  # type: ignore[arg-type]

    async def _ask_scope(
        self,
        message: Message,
        session: AsyncSession,
        actor: Actor,
        state: FSMContext,
        scope: PublishScope,
    ) -> None:
        await state.update_data(ward_id=scope.ward.id, group_ids=[], whole=False)
        if not scope.whole_ward and len(scope.groups) == 1:
            await state.update_data(group_ids=[scope.groups[0].id])
            await self.then(message, session, state)
            return
        if not scope.whole_ward:
            await state.set_state(self.groups_state)
            await message.answer(
                _(self.ask_own_groups),
                reply_markup=await self._groups_keyboard(session, actor, state),
            )
            return
        await state.set_state(self.scope_state)
        builder = InlineKeyboardBuilder()
        builder.button(text=_("🏛 The whole ward"), callback_data=self.data(action="whole"))
        builder.button(text=_("👥 Chosen groups"), callback_data=self.data(action="choose"))
        builder.adjust(1)
        builder.row(cancel_button(self.data))
        await message.answer(_(self.ask_scope), reply_markup=builder.as_markup())

    async def _allowed_groups(
        self, session: AsyncSession, actor: Actor, state: FSMContext
    ) -> list[Any]:
        ward_id = (await state.get_data()).get("ward_id")
        for scope in await self.scopes(session, actor):
            if scope.ward.id == ward_id:
                return scope.groups
        raise NotAllowed()

    async def _groups_keyboard(
        self, session: AsyncSession, actor: Actor, state: FSMContext
    ) -> InlineKeyboardMarkup:
        chosen = set((await state.get_data()).get("group_ids") or [])
        builder = InlineKeyboardBuilder()
        for group in await self._allowed_groups(session, actor, state):
            mark = "☑️" if group.id in chosen else "⬜"
            builder.button(
                text=f"{mark} {group.name}",
                callback_data=self.data(action="toggle", value=group.id),
            )
        builder.adjust(2)
        builder.row(
            InlineKeyboardButton(
                text=_("Continue ▶️"), callback_data=self.data(action="groups-ok").pack()
            ),
            cancel_button(self.data),
        )
        return builder.as_markup()

    async def chose_scope(
        self,
        query: CallbackQuery,
        callback_data: CallbackData,
        session: AsyncSession,
        actor: Actor,
        state: FSMContext,
    ) -> None:
        message = query.message
        assert isinstance(message, Message)
        await query.answer()
        await message.edit_reply_markup(reply_markup=None)
        if callback_data.action == "whole":  # type: ignore[attr-defined]
            await state.update_data(whole=True, group_ids=None)
            await self.then(message, session, state)
            return
        await state.set_state(self.groups_state)
        await message.answer(
            _(self.ask_groups), reply_markup=await self._groups_keyboard(session, actor, state)
        )

    async def toggle_group(
        self,
        query: CallbackQuery,
        callback_data: CallbackData,
        session: AsyncSession,
        actor: Actor,
        state: FSMContext,
    ) -> None:
        group_id = callback_data.value  # type: ignore[attr-defined]
        if group_id not in {g.id for g in await self._allowed_groups(session, actor, state)}:
            raise NotAllowed()
        chosen = set((await state.get_data()).get("group_ids") or []) ^ {group_id}
        await state.update_data(group_ids=sorted(chosen))
        await query.answer()
        await query.message.edit_reply_markup(  # type: ignore[union-attr]
            reply_markup=await self._groups_keyboard(session, actor, state)
        )

    async def groups_chosen(
        self, query: CallbackQuery, session: AsyncSession, state: FSMContext
    ) -> None:
        if not (await state.get_data()).get("group_ids"):
            await query.answer(_("Tick at least one group."), show_alert=True)
            return
        await query.answer()
        await query.message.edit_reply_markup(reply_markup=None)  # type: ignore[union-attr]
        await self.then(query.message, session, state)  # type: ignore[arg-type]
