"""wardbot invite / roles / revoke."""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum

import httpx
import typer
from rich.table import Table

from bot.cli.app import app, console, fail, run_async, settings
from bot.config import Settings
from bot.db import create_engine, migrate, session_factory, transaction
from bot.i18n import format_datetime
from bot.models import Role
from bot.services import roles as roles_service
from bot.services import wards


class RoleChoice(StrEnum):
    admin = "admin"
    leader = "leader"
    officer = "officer"
    office_head = "office-head"
    inspector = "inspector"


def bot_username(cfg: Settings) -> str:
    """From WARDBOT_BOT_USERNAME, or asked of the Bot API with the token."""
    if cfg.bot_username:
        return cfg.bot_username.lstrip("@")
    token = cfg.require_token()
    try:
        reply = httpx.get(f"{cfg.telegram_api_url}/bot{token}/getMe", timeout=10).json()
    except (httpx.HTTPError, ValueError):
        fail(
            "cannot reach the Bot API to learn the bot's username; "
            "set WARDBOT_BOT_USERNAME and try again.",
            code=2,
        )
    if not reply.get("ok"):
        fail(f"the Bot API refused the token: {reply.get('description')}", code=2)
    return str(reply["result"]["username"])


@app.command()
def invite(
    role: RoleChoice = typer.Option(..., "--role", help="The role the link grants."),
    unit: str | None = typer.Option(None, "--unit", help="Group code (for --role leader)."),
    office: str | None = typer.Option(None, "--office", help="Office code (officer, office-head)."),
    ward: str | None = typer.Option(
        None, "--ward", help="Ward code (admin, inspector; or to tell apart equal codes)."
    ),
    days: int = typer.Option(7, "--days", min=1, max=90, help="Days before the link expires."),
) -> None:
    """Print a one-time invitation link that grants a role."""
    cfg = settings()
    if role == RoleChoice.leader and not unit:
        fail("--role leader needs --unit GROUP_CODE.", code=2)
    if role in (RoleChoice.officer, RoleChoice.office_head) and not office:
        fail(f"--role {role.value} needs --office OFFICE_CODE.", code=2)
    if role in (RoleChoice.admin, RoleChoice.inspector) and not ward:
        fail(f"--role {role.value} needs --ward WARD_CODE.", code=2)
    username = bot_username(cfg)

    async def go():  # type: ignore[no-untyped-def]
        await migrate(cfg.database_url)
        engine = create_engine(cfg.database_url)
        try:
            async with transaction(session_factory(engine)) as session:
                group = await wards.find_group(session, unit, ward) if unit else None
                office_row = await wards.find_office(session, office, ward) if office else None
                ward_id = group.ward_id if group else office_row.ward_id if office_row else None
                ward_row = (
                    await wards.get_ward(session, ward_id)
                    if ward_id
                    else await wards.get_ward_by_code(session, ward or "")
                )
                return await roles_service.create_invite(
                    session,
                    role=Role(role.value),
                    ward=ward_row,
                    group=group,
                    office=office_row,
                    ttl=timedelta(days=days),
                ), ward_row
        finally:
            await engine.dispose()

    created, ward_row = run_async(go)
    console.print(
        f"Invitation for {role.value} in {ward_row.name}, valid until "
        f"{format_datetime(created.invite.expires_at, 'en')} (one use):"
    )
    # Printed alone on its line so that scripts can take it with `tail -n 1`.
    print(f"https://t.me/{username}?start={created.start_payload}")


@app.command("roles")
def list_roles(ward: str | None = typer.Option(None, "--ward", help="Only this ward.")) -> None:
    """List who holds which role."""
    cfg = settings()

    async def go():  # type: ignore[no-untyped-def]
        await migrate(cfg.database_url)
        engine = create_engine(cfg.database_url)
        try:
            async with transaction(session_factory(engine)) as session:
                return await roles_service.list_roles(session, ward)
        finally:
            await engine.dispose()

    rows = run_async(go)
    if not rows:
        console.print("Nobody holds a role yet. Create an invitation with `wardbot invite`.")
        return
    table = Table("#", "Role", "Person", "Telegram", "Ward", "Scope", "Since")
    for row in rows:
        account = row.account
        table.add_row(
            str(row.grant.id),
            row.grant.role,
            row.person.full_name or "—",
            f"@{account.username}"
            if account and account.username
            else (account.external_id if account else "—"),
            row.ward.code,
            row.scope,
            format_datetime(row.grant.granted_at, "en"),
        )
    console.print(table)


@app.command()
def revoke(
    grant_id: int | None = typer.Argument(None, help="The role's number from `wardbot roles`."),
    invite_id: int | None = typer.Option(None, "--invite", help="Cancel an unused invitation."),
) -> None:
    """Remove a role, or cancel an unused invitation."""
    cfg = settings()
    if (grant_id is None) == (invite_id is None):
        fail("give either a role number or --invite NUMBER.", code=2)

    async def go():  # type: ignore[no-untyped-def]
        engine = create_engine(cfg.database_url)
        try:
            async with transaction(session_factory(engine)) as session:
                if invite_id is not None:
                    await roles_service.cancel_invite(session, invite_id)
                    return f"Invitation {invite_id} cancelled."
                grant = await roles_service.revoke(session, grant_id)  # type: ignore[arg-type]
                return f"Role {grant.id} ({grant.role}) revoked."
        finally:
            await engine.dispose()

    console.print(run_async(go))
