"""Accepting a role through a one-time invitation link (/start inv_<token>)."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import CommandObject, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.i18n import N_, _
from bot.models import Role
from bot.services import roles
from bot.services.people import Actor, ensure_person, fill_name, profile_name
from bot.telegram.middlewares import CHANNEL
from handlers.keyboards import esc
from handlers.menu import main_menu

router = Router(name="roles")

ROLE_NAMES = {
    Role.ADMIN: N_("ward administrator"),
    Role.LEADER: N_("residential group leader"),
    Role.OFFICER: N_("officer"),
    Role.OFFICE_HEAD: N_("head of office"),
    Role.INSPECTOR: N_("inspector (People's Inspection Board / Fatherland Front)"),
}


def role_name(role: str) -> str:
    return _(ROLE_NAMES[Role(role)])


@router.message(CommandStart(deep_link=True, magic=F.args.startswith(roles.INVITE_PREFIX)))
async def accept(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    actor: Actor,
    state: FSMContext,
) -> None:
    assert message.from_user is not None and command.args is not None
    if actor.person is None:
        actor = await ensure_person(
            session,
            channel=CHANNEL,
            external_id=str(message.from_user.id),
            chat_id=str(message.chat.id),
            username=message.from_user.username,
            language=None,
        )
    granted = await roles.accept_invite(
        session, actor, command.args.removeprefix(roles.INVITE_PREFIX)
    )
    user = message.from_user
    await fill_name(session, actor, profile_name(user.first_name, user.last_name))
    await state.clear()
    scope = granted.group or granted.office or granted.ward
    text = _("✅ You are now {role} of {scope}, {ward}.").format(
        role=role_name(granted.grant.role), scope=esc(scope.name), ward=esc(granted.ward.name)
    )
    if granted.group is None and granted.office is None:
        text = _("✅ You are now {role} of {ward}.").format(
            role=role_name(granted.grant.role), ward=esc(granted.ward.name)
        )
    if actor.resident is None:
        text += "\n\n" + _("If you also live in the ward, send /start to register as a resident.")
    await message.answer(text, reply_markup=main_menu(actor))
