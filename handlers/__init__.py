"""aiogram routers, one module per feature; ``build_router`` assembles them.

Private-chat features sit under one parent router filtered to private chats, so a
command meant for a private chat can never act inside a group.
"""

from __future__ import annotations

from aiogram import F, Router


def build_router() -> Router:
    # Imported here so that importing ``handlers`` does not pull in every feature.
    from handlers import (
        chats,
        households,
        links,
        menu,
        notices,
        oversight,
        profile,
        registration,
        reports,
        roles,
        tickets,
        votes,
    )

    root = Router(name="root")

    private = Router(name="private")
    private.message.filter(F.chat.type == "private")
    private.callback_query.filter(F.message.chat.type == "private")
    # Order matters: the invitation deep link before the plain /start, /cancel before
    # the steps of any form, and the menu's catch-all last.
    private.include_routers(
        menu.router,
        roles.router,
        registration.router,
        links.router,
        households.router,
        profile.router,
        notices.router,
        tickets.router,
        votes.router,
        reports.router,
        oversight.router,
        menu.fallback,
    )

    groups = Router(name="groups")
    groups.message.filter(F.chat.type.in_({"group", "supergroup"}))
    groups.callback_query.filter(F.message.chat.type.in_({"group", "supergroup"}))
    # Features that act in group chats (e.g. ticket cards in an office's chat) go here.
    groups.include_routers(tickets.group_router)

    # Chat membership (the bot added to a group, blocked in private) and /link.
    root.include_routers(private, groups, chats.router, menu.stale)
    return root
