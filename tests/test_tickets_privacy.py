"""A denouncer's identity reaches only the assigned officer and the office head; an
anonymous ticket's reaches nobody. Checked on what is actually rendered: office-chat
cards, private cards, lists, digests, escalations, notes, exports."""

from __future__ import annotations

from datetime import date

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.cli.tickets import rows_to_csv
from bot.delivery.render import Outgoing, get_renderer
from bot.i18n import get_i18n
from bot.models import Delivery, Role, Ticket, Ward
from bot.services import tickets
from bot.services.people import Actor
from bot.services.wards import find_office
from handlers import tickets as ui
from tests import factories
from tests.test_tickets import at_local, category, officer, set_now

NAME = "Lê Văn Kín"
PHONE_TAIL = "77777"
ADDRESS = "Số 99, ngõ Bí Mật"
SECRETS = (NAME, PHONE_TAIL, ADDRESS, "Khu phố 3")


def shown(text: str) -> bool:
    return any(secret in text for secret in SECRETS)


def outgoing_text(out: Outgoing | None) -> str:
    assert out is not None
    markup = out.markup.model_dump_json() if out.markup is not None else ""
    return out.text + markup + "".join(a.filename for a in out.attachments)


async def _denouncer(session: AsyncSession, ward: Ward) -> Actor:
    return await factories.resident(
        session, "KP03", name=NAME, number=int(PHONE_TAIL), address=ADDRESS
    )


async def _render_all(session: AsyncSession, ticket_id: int) -> list[tuple[str, str]]:
    """Every queued message about the ticket, rendered: (kind, text)."""
    rows = (
        await session.exec(
            select(Delivery).where(Delivery.ref_type == "ticket", Delivery.ref_id == ticket_id)
        )
    ).all()
    result = []
    for row in rows:
        render = get_renderer(row.kind)
        assert render is not None
        with get_i18n().use_locale(row.language):
            out = await render(session, row)
        if out is not None:
            result.append((row.kind, outgoing_text(out)))
    return result


async def test_a_denouncer_is_seen_only_by_the_assigned_officer_and_the_head(
    session: AsyncSession, ward: Ward
) -> None:
    set_now(at_local(date(2025, 3, 3)))
    police = await find_office(session, "CA")
    police.chat_id = -100777
    assigned = await officer(session, ward, "CA")
    colleague = await officer(session, ward, "CA")
    head = await officer(session, ward, "CA", head=True)
    admin = await factories.with_role(session, Role.ADMIN, ward_id=ward.id)  # type: ignore[arg-type]
    other_office = await officer(session, ward, "DCXD")
    denouncer = await _denouncer(session, ward)
    cat = await category(session, "an-ninh")
    filed = await tickets.file_ticket(
        session,
        denouncer,
        ticket_type="to_cao",
        category_id=cat.id,  # type: ignore[arg-type]
        description="Cán bộ X nhận tiền để bỏ qua vi phạm xây dựng.",
    )
    ticket = filed.ticket
    await tickets.claim(session, assigned, ticket.id)  # type: ignore[arg-type]
    await tickets.request_info(session, assigned, ticket.id, question="Thời gian cụ thể?")  # type: ignore[arg-type]
    await tickets.add_info(session, denouncer, ticket.id, text="Chiều thứ Sáu tuần trước.")  # type: ignore[arg-type]
    # Late, so the head and the admin are told.
    set_now(at_local(date(2025, 3, 20)))
    for item in await tickets.due_escalations(session, at_local(date(2025, 3, 20))):
        await tickets.escalate(session, item)
    await tickets.send_digest(session, police.id, date(2025, 3, 20))  # type: ignore[arg-type]

    with get_i18n().use_locale("vi"):
        # The office chat card, and every queued message about the ticket.
        assert not shown(await ui.card_text(session, ticket, None))
        rendered = await _render_all(session, ticket.id)  # type: ignore[arg-type]
        kinds = {kind for kind, _text in rendered}
        assert {"ticket.card", "ticket.escalation", "ticket.note", "ticket.update"} <= kinds
        for kind, text in rendered:
            if kind != "ticket.update":  # the resident's own messages
                assert not shown(text), kind
        digest_rows = (
            await session.exec(select(Delivery).where(Delivery.kind == "ticket.digest"))
        ).all()
        assert digest_rows
        for row in digest_rows:
            text = outgoing_text(await ui.render_digest(session, row))
            assert ticket.code in text and not shown(text)

        # Views and lists, person by person.
        for viewer in (colleague, admin):
            assert not shown(await ui.card_text(session, ticket, viewer))
            text, markup = await ui._office_list(session, viewer, "all", 0)
            assert ticket.code in markup.model_dump_json()
            assert not shown(text + markup.model_dump_json())
        for viewer in (assigned, head):
            text = await ui.card_text(session, ticket, viewer)
            assert NAME in text and PHONE_TAIL in text and ADDRESS in text
    assert tickets.may_see_identity(other_office, ticket) is False
    assert tickets.may_see_identity(None, ticket) is False
    # The export carries no identity at all.
    csv_text = rows_to_csv(await tickets.export_rows(session, ward.id))  # type: ignore[arg-type]
    assert ticket.code in csv_text and "confidential" in csv_text and not shown(csv_text)
    # Nor does the audit trail name the denouncer.
    from bot.models import AuditEntry

    filing = (
        await session.exec(select(AuditEntry).where(AuditEntry.action == "ticket.file"))
    ).one()
    assert filing.actor == "confidential"


async def test_an_anonymous_report_shows_no_identity_to_anyone(
    session: AsyncSession, ward: Ward
) -> None:
    office = await find_office(session, "DCXD")
    office.chat_id = -100888
    staff = await officer(session, ward)
    head = await officer(session, ward, head=True)
    admin = await factories.with_role(session, Role.ADMIN, ward_id=ward.id)  # type: ignore[arg-type]
    sender = await _denouncer(session, ward)
    cat = await category(session)
    filed = await tickets.file_ticket(
        session,
        sender,
        ticket_type="phan_anh",
        category_id=cat.id,  # type: ignore[arg-type]
        description="Bãi rác tự phát ở cuối ngõ 9.",
        anonymous=True,
    )
    ticket: Ticket = filed.ticket
    await tickets.claim(session, staff, ticket.id)  # type: ignore[arg-type]
    with get_i18n().use_locale("vi"):
        for viewer in (None, staff, head, admin):
            text = await ui.card_text(session, ticket, viewer)
            assert NAME not in text and PHONE_TAIL not in text and ADDRESS not in text
        for kind, text in await _render_all(session, ticket.id):  # type: ignore[arg-type]
            if kind != "ticket.update":
                assert NAME not in text and PHONE_TAIL not in text, kind


async def test_a_named_report_shows_the_name_to_its_office_only(
    session: AsyncSession, ward: Ward
) -> None:
    staff = await officer(session, ward)
    police = await officer(session, ward, "CA")
    sender = await _denouncer(session, ward)
    cat = await category(session)
    filed = await tickets.file_ticket(
        session,
        sender,
        ticket_type="phan_anh",
        category_id=cat.id,  # type: ignore[arg-type]
        description="Nắp cống bị vỡ trước nhà văn hóa.",
    )
    with get_i18n().use_locale("vi"):
        chat_card = await ui.card_text(session, filed.ticket, None)
        assert NAME in chat_card and PHONE_TAIL not in chat_card  # the chat gets the name only
        assert PHONE_TAIL in await ui.card_text(session, filed.ticket, staff)
    assert tickets.may_see_identity(police, filed.ticket) is False
