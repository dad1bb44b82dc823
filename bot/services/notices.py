"""Disclosure notices (dân biết; Law 10/2022/QH15 Art. 11–13).

The stable API other features call (a vote publishes its result, a consultation the
authority's response)::

    notice = await notices.publish(
        session,
        actor,                      # Actor, or None for the system (scheduler, features)
        ward_id=ward.id,
        group_ids=None,             # None: the whole ward; else the groups, e.g. [3, 4]
        category_code="khac",       # a NoticeCategory code of that ward (Art. 11 list)
        title="Kết quả biểu quyết",
        body="...",                 # plain text; any length up to BODY_MAX
        attachment_ids=[],          # StoredFile ids (bot.services.files.save): PDF, images
        posting_days=None,          # None: rule notice.min_posting_days for the ward (30)
        urgent=False,               # urgent: delivered before everything else
        source="vote",              # what published it: manual, cli, vote, consultation...
        publisher_label="Tổ bầu cử", # shown as the publisher when actor is None
    )

``publish`` runs inside the caller's transaction and only flushes: the notice, its
scope and one outbox row per recipient (registered residents of the groups in scope,
pending or verified, on every account that has not blocked the bot) commit together
with whatever the caller changed, and the sender delivers them afterwards. It raises
NotAllowed, InvalidInput or NotFound (bot.services.errors) and then changes nothing.

Who may publish: a ward admin, to the whole ward or chosen groups; a group leader, to
their own groups only; the system (``actor=None``), to any scope. Who may edit or
withdraw: the publisher while they still hold that role, or an admin of the ward.
Editing sends nothing again; it marks the notice updated. Withdrawing keeps the notice
in the archive, marked withdrawn with the reason, and drops what was still queued.

A notice is current while it is not withdrawn and ``expires_at`` is in the future —
computed on every read, never taken from a job's bookkeeping.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, exists, func, or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import defer
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import clock, rules
from bot.delivery import outbox
from bot.i18n import __
from bot.models import (
    Delivery,
    DeliveryStatus,
    Notice,
    NoticeAttachment,
    NoticeCategory,
    NoticeGroup,
    NoticeRead,
    NoticeRevision,
    Resident,
    ResidentialGroup,
    StoredFile,
    Ward,
)
from bot.services import audit, files
from bot.services.errors import Conflict, InvalidInput, NotAllowed, NotFound
from bot.services.people import Actor, clean_text
from bot.services.wards import get_ward, ward_settings

KIND = "notice"
TITLE_MAX = 200
BODY_MAX = 20_000
REASON_MAX = 500
POSTING_DAYS_MAX = 3650
FILE_TYPES = {"application/pdf", *files.PHOTO_TYPES}
# Residents who receive notices: registered and not turned down.
RECEIVING = ("pending", "verified")


# --- text helpers ---------------------------------------------------------------------


def fold(text: str) -> str:
    """Lower case without diacritics, so "thong bao" matches "Thông báo"."""
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return " ".join(stripped.casefold().split())


def parse_markdown(text: str) -> tuple[str, str]:
    """A notice file: the first Markdown heading is the title, the rest the text."""
    lines = text.replace("\r\n", "\n").split("\n")
    for index, line in enumerate(lines):
        match = re.match(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$", line)
        if match:
            body = "\n".join(lines[:index] + lines[index + 1 :]).strip()
            return match.group(1).strip(), body
    raise InvalidInput(__("The file needs a Markdown heading (# Title) for the title."))


def _like_pattern(word: str) -> str:
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


# --- views ---------------------------------------------------------------------------


@dataclass
class NoticeView:
    """A notice with what it takes to show it."""

    notice: Notice
    category: NoticeCategory
    ward: Ward
    # The groups it is for; empty for the whole ward.
    groups: list[ResidentialGroup]
    publisher_group: ResidentialGroup | None
    attachments: list[StoredFile]
    # When the person looking at it pressed "Read", if they did.
    read_at: datetime | None = None
    # Whether that person may edit, withdraw and see statistics.
    manageable: bool = False

    @property
    def id(self) -> int:
        assert self.notice.id is not None
        return self.notice.id

    @property
    def state(self) -> str:
        return state_of(self.notice)

    def is_current(self) -> bool:
        return self.state == "current"


def state_of(notice: Notice, now: datetime | None = None) -> str:
    """current | expired | withdrawn."""
    if notice.withdrawn_at is not None:
        return "withdrawn"
    if notice.expires_at <= (now or clock.now()):
        return "expired"
    return "current"


async def _view(session: AsyncSession, notice: Notice, actor: Actor | None = None) -> NoticeView:
    category = await session.get(NoticeCategory, notice.category_id)
    ward = await session.get(Ward, notice.ward_id)
    assert category is not None and ward is not None
    groups: list[ResidentialGroup] = []
    if not notice.whole_ward:
        groups = list(
            (
                await session.exec(
                    select(ResidentialGroup)
                    .join(NoticeGroup, col(NoticeGroup.group_id) == ResidentialGroup.id)
                    .where(NoticeGroup.notice_id == notice.id)
                    .order_by(col(ResidentialGroup.position), col(ResidentialGroup.id))
                )
            ).all()
        )
    publisher_group = (
        await session.get(ResidentialGroup, notice.publisher_group_id)
        if notice.publisher_group_id
        else None
    )
    attachments = list(
        (
            await session.exec(
                select(StoredFile)
                # The bytes stay in the database; the transport reads them on upload.
                .options(defer(StoredFile.data))  # type: ignore[arg-type]
                .join(NoticeAttachment, col(NoticeAttachment.file_id) == StoredFile.id)
                .where(NoticeAttachment.notice_id == notice.id)
                .order_by(col(NoticeAttachment.position))
            )
        ).all()
    )
    view = NoticeView(notice, category, ward, groups, publisher_group, attachments)
    if actor is not None and actor.person_id is not None:
        view.read_at = (
            await session.exec(
                select(NoticeRead.read_at).where(
                    NoticeRead.notice_id == notice.id, NoticeRead.person_id == actor.person_id
                )
            )
        ).first()
        view.manageable = _may_manage(actor, notice)
    return view


async def view_for_delivery(session: AsyncSession, notice_id: int) -> NoticeView | None:
    """The notice as the sender renders it; None once it no longer needs sending."""
    notice = await session.get(Notice, notice_id)
    if notice is None or state_of(notice) != "current":
        return None
    return await _view(session, notice)


# --- publishing ------------------------------------------------------------------------


async def publish(
    session: AsyncSession,
    actor: Actor | None,
    *,
    ward_id: int,
    group_ids: list[int] | None,
    category_code: str,
    title: str,
    body: str,
    attachment_ids: list[int] | None = None,
    posting_days: int | None = None,
    urgent: bool = False,
    source: str = "manual",
    publisher_label: str | None = None,
) -> Notice:
    """Publish a notice and queue it for everyone in scope (see the module docstring)."""
    view = await draft(
        session,
        actor,
        ward_id=ward_id,
        group_ids=group_ids,
        category_code=category_code,
        title=title,
        body=body,
        posting_days=posting_days,
        urgent=urgent,
        source=source,
        publisher_label=publisher_label,
    )
    settings = ward_settings(view.ward)
    attachments = await _attachments(session, attachment_ids or [], settings.limits.attachments_max)
    notice, category = view.notice, view.category
    # A ward notice is posted in every group's chat too.
    groups = view.groups if group_ids is not None else await _scope_groups(session, ward_id, None)
    days = notice.posting_days
    session.add(notice)
    await session.flush()
    assert notice.id is not None
    if group_ids is not None:
        for group in groups:
            session.add(NoticeGroup(notice_id=notice.id, group_id=group.id))
    for position, stored in enumerate(attachments):
        session.add(NoticeAttachment(notice_id=notice.id, file_id=stored.id, position=position))
    await session.flush()

    priority = outbox.Priority.URGENT if urgent else outbox.Priority.BULK
    recipients = select(Resident.person_id, Resident.group_id).where(
        Resident.ward_id == ward_id, col(Resident.status).in_(RECEIVING)
    )
    if group_ids is not None:
        recipients = recipients.where(col(Resident.group_id).in_([g.id for g in groups]))
    ref = (KIND, notice.id)
    queued = await outbox.enqueue_recipients(
        session,
        kind=KIND,
        recipients=recipients,
        params={"notice_id": notice.id},
        priority=priority,
        ref=ref,
        record_unreachable=True,
    )
    chats = 0
    for group in groups:
        if group.chat_id is not None:
            chats += await outbox.enqueue_chat(
                session,
                kind=KIND,
                chat=outbox.GroupChat("telegram", str(group.chat_id)),
                params={"notice_id": notice.id},
                priority=priority,
                ref=ref,
                segment=group.id,
            )
    await audit.record(
        session,
        actor=_audit_actor(actor, source),
        action="notice.publish",
        entity_type="notice",
        entity_id=notice.id,
        ward_id=ward_id,
        data={
            "category": category.code,
            "whole_ward": group_ids is None,
            "group_ids": [g.id for g in groups] if group_ids is not None else None,
            "attachment_ids": [a.id for a in attachments],
            "posting_days": days,
            "urgent": urgent,
            "source": notice.source,
            "recipients": queued,
            "group_chats": chats,
        },
    )
    return notice


def _audit_actor(actor: Actor | None, source: str = "") -> str:
    if actor is not None:
        return audit.actor_of(actor.person_id)
    return "cli" if source == "cli" else "system"


async def _scope_groups(
    session: AsyncSession, ward_id: int, group_ids: list[int] | None
) -> list[ResidentialGroup]:
    """The groups in scope, all of them active groups of this ward."""
    query = select(ResidentialGroup).where(
        ResidentialGroup.ward_id == ward_id, col(ResidentialGroup.active)
    )
    if group_ids is not None:
        wanted = set(group_ids)
        if not wanted:
            raise InvalidInput(__("Choose at least one group."))
        query = query.where(col(ResidentialGroup.id).in_(wanted))
    groups = list(
        (
            await session.exec(
                query.order_by(col(ResidentialGroup.position), col(ResidentialGroup.id))
            )
        ).all()
    )
    if group_ids is not None and len(groups) != len(set(group_ids)):
        raise NotFound(__("One of these groups does not exist in this ward."))
    return groups


def _publisher_role(
    actor: Actor | None, ward_id: int, group_ids: list[int] | None
) -> tuple[str, int | None]:
    if actor is None:
        return "system", None
    actor.require_person()
    if actor.is_admin_of(ward_id):
        return "admin", None
    if group_ids is None:
        if actor.led_group_ids():
            raise NotAllowed(__("A group leader publishes notices to their own group only."))
        raise NotAllowed()
    if group_ids and all(actor.is_leader_of(g) for g in group_ids):
        return "leader", sorted(set(group_ids))[0]
    raise NotAllowed(__("A group leader publishes notices to their own group only."))


def _check_days(days: int) -> None:
    if not 1 <= days <= POSTING_DAYS_MAX:
        raise InvalidInput(
            __("The posting period must be between 1 and {max} days."), max=POSTING_DAYS_MAX
        )


async def _attachments(session: AsyncSession, ids: list[int], limit: int) -> list[StoredFile]:
    unique = list(dict.fromkeys(ids))
    if len(unique) > limit:
        raise InvalidInput(__("At most {limit} files can be attached."), limit=limit)
    stored = await files.many(session, unique)
    if len(stored) != len(unique):
        raise NotFound(__("An attached file no longer exists. Please attach it again."))
    for item in stored:
        if item.mime_type not in FILE_TYPES:
            raise InvalidInput(__("Only PDF files and photos can be attached to a notice."))
    return stored


async def category_by_code(session: AsyncSession, ward_id: int, code: str) -> NoticeCategory:
    category = (
        await session.exec(
            select(NoticeCategory).where(
                NoticeCategory.ward_id == ward_id,
                NoticeCategory.code == code,
                col(NoticeCategory.active),
            )
        )
    ).first()
    if category is None:
        raise InvalidInput(__("This notice category does not exist."))
    return category


async def categories(session: AsyncSession, ward_id: int) -> list[NoticeCategory]:
    return list(
        (
            await session.exec(
                select(NoticeCategory)
                .where(NoticeCategory.ward_id == ward_id, col(NoticeCategory.active))
                .order_by(col(NoticeCategory.position), col(NoticeCategory.id))
            )
        ).all()
    )


async def draft(
    session: AsyncSession,
    actor: Actor | None,
    *,
    ward_id: int,
    group_ids: list[int] | None,
    category_code: str,
    title: str,
    body: str,
    posting_days: int | None = None,
    urgent: bool = False,
    source: str = "manual",
    publisher_label: str | None = None,
) -> NoticeView:
    """Check a notice as ``publish`` would and show it as it would look, storing
    nothing: the publisher's preview."""
    ward = await get_ward(session, ward_id)
    settings = ward_settings(ward)
    groups = await _scope_groups(session, ward_id, group_ids)
    role, publisher_group_id = _publisher_role(actor, ward_id, group_ids)
    category = await category_by_code(session, ward_id, category_code)
    title = clean_text(title, max_length=TITLE_MAX, min_length=3)
    body = clean_text(body, max_length=BODY_MAX)
    # The ward's posting period: the legal minimum (Law 10/2022 Art. 13(2)), or the longer
    # one its ward file sets.
    if posting_days is None:
        posting_days = rules.value("notice.min_posting_days", ward=settings)
    days = posting_days
    _check_days(days)
    if actor is None and publisher_label is not None:
        publisher_label = clean_text(publisher_label, max_length=200)
    now = clock.now()
    notice = Notice(
        ward_id=ward_id,
        category_id=category.id,
        title=title,
        body=body,
        search_text=fold(f"{title}\n{body}"),
        whole_ward=group_ids is None,
        urgent=urgent,
        source=source[:32],
        publisher_role=role,
        publisher_id=actor.person_id if actor else None,
        publisher_group_id=publisher_group_id,
        publisher_label=publisher_label if actor is None else None,
        posting_days=days,
        published_at=now,
        expires_at=now + timedelta(days=days),
    )
    publisher_group = (
        await session.get(ResidentialGroup, publisher_group_id) if publisher_group_id else None
    )
    return NoticeView(
        notice, category, ward, groups if group_ids is not None else [], publisher_group, []
    )


@dataclass
class PublishScope:
    """Where this person may publish: a ward and the groups they may choose from."""

    ward: Ward
    whole_ward: bool
    groups: list[ResidentialGroup]


async def publish_scopes(session: AsyncSession, actor: Actor) -> list[PublishScope]:
    """The wards this person may publish in; empty for someone who may not publish."""
    scopes: list[PublishScope] = []
    seen: set[int] = set()
    for ward_id in actor.admin_ward_ids():
        if ward_id in seen:
            continue
        seen.add(ward_id)
        ward = await get_ward(session, ward_id)
        scopes.append(PublishScope(ward, True, await _scope_groups(session, ward_id, None)))
    led = actor.led_group_ids()
    if led:
        groups = list(
            (
                await session.exec(
                    select(ResidentialGroup)
                    .where(col(ResidentialGroup.id).in_(led), col(ResidentialGroup.active))
                    .order_by(col(ResidentialGroup.position), col(ResidentialGroup.id))
                )
            ).all()
        )
        for ward_id in sorted({g.ward_id for g in groups if g.ward_id not in seen}):  # type: ignore[type-var]
            ward = await get_ward(session, ward_id)  # type: ignore[arg-type]
            scopes.append(PublishScope(ward, False, [g for g in groups if g.ward_id == ward_id]))
    return scopes


def may_publish(actor: Actor) -> bool:
    return bool(actor.admin_ward_ids() or actor.led_group_ids())


# --- managing --------------------------------------------------------------------------


def _may_manage(actor: Actor | None, notice: Notice) -> bool:
    if actor is None:
        return True
    if actor.person_id is None:
        return False
    if actor.is_admin_of(notice.ward_id):
        return True
    # The publisher, while still the leader of the group they published for.
    return (
        notice.publisher_id == actor.person_id
        and notice.publisher_role == "leader"
        and actor.is_leader_of(notice.publisher_group_id)
    )


async def _managed(session: AsyncSession, actor: Actor | None, notice_id: int) -> Notice:
    notice = await session.get(Notice, notice_id)
    if notice is None:
        raise NotFound(__("This notice does not exist."))
    if not _may_manage(actor, notice):
        raise NotAllowed(__("Only the publisher or a ward administrator can change this notice."))
    return notice


async def edit(
    session: AsyncSession,
    actor: Actor | None,
    notice_id: int,
    *,
    title: str | None = None,
    body: str | None = None,
    category_code: str | None = None,
    posting_days: int | None = None,
) -> Notice:
    """Change a current notice. Nothing is sent again: the notice shows "updated"."""
    notice = await _managed(session, actor, notice_id)
    state = state_of(notice)
    if state == "withdrawn":
        raise Conflict(__("This notice has been withdrawn and can no longer be edited."))
    if state == "expired":
        raise Conflict(__("This notice's posting period is over; it can no longer be edited."))
    changes: dict[str, list[Any]] = {}
    if title is not None:
        title = clean_text(title, max_length=TITLE_MAX, min_length=3)
        if title != notice.title:
            changes["title"] = [notice.title, title]
            notice.title = title
    if body is not None:
        body = clean_text(body, max_length=BODY_MAX)
        if body != notice.body:
            changes["body"] = [notice.body, body]
            notice.body = body
    if category_code is not None:
        category = await category_by_code(session, notice.ward_id, category_code)  # type: ignore[arg-type]
        if category.id != notice.category_id:
            old = await session.get(NoticeCategory, notice.category_id)
            changes["category"] = [old.code if old else None, category.code]
            notice.category_id = category.id
    if posting_days is not None and posting_days != notice.posting_days:
        _check_days(posting_days)
        expires_at = notice.published_at + timedelta(days=posting_days)
        if expires_at <= clock.now():
            raise InvalidInput(
                __("That would end the posting period already. To take it down, withdraw it.")
            )
        changes["posting_days"] = [notice.posting_days, posting_days]
        notice.posting_days = posting_days
        notice.expires_at = expires_at
    if not changes:
        raise InvalidInput(__("Nothing was changed."))
    now = clock.now()
    notice.updated_at = now
    notice.search_text = fold(f"{notice.title}\n{notice.body}")
    session.add(notice)
    session.add(
        NoticeRevision(
            notice_id=notice.id,
            at=now,
            action="edit",
            actor_id=actor.person_id if actor else None,
            actor=_audit_actor(actor, "cli"),
            changes=changes,
        )
    )
    await session.flush()
    await audit.record(
        session,
        actor=_audit_actor(actor, "cli"),
        action="notice.edit",
        entity_type="notice",
        entity_id=notice.id,
        ward_id=notice.ward_id,
        data={"fields": sorted(changes)},
    )
    return notice


async def withdraw(
    session: AsyncSession, actor: Actor | None, notice_id: int, *, reason: str
) -> Notice:
    """Take a notice down: it stays in the archive, marked withdrawn with the reason;
    messages still queued are dropped."""
    notice = await _managed(session, actor, notice_id)
    if notice.withdrawn_at is not None:
        raise Conflict(__("This notice has already been withdrawn."))
    reason = clean_text(reason, max_length=REASON_MAX, min_length=3)
    now = clock.now()
    notice.withdrawn_at = now
    notice.withdrawn_reason = reason
    notice.withdrawn_by_id = actor.person_id if actor else None
    session.add(notice)
    session.add(
        NoticeRevision(
            notice_id=notice.id,
            at=now,
            action="withdraw",
            actor_id=actor.person_id if actor else None,
            actor=_audit_actor(actor, "cli"),
            changes={"reason": [None, reason]},
        )
    )
    await session.flush()
    dropped = await outbox.cancel(session, (KIND, notice.id), "notice withdrawn")  # type: ignore[arg-type]
    await audit.record(
        session,
        actor=_audit_actor(actor, "cli"),
        action="notice.withdraw",
        entity_type="notice",
        entity_id=notice.id,
        ward_id=notice.ward_id,
        data={"dropped_messages": dropped},
    )
    return notice


async def revisions(
    session: AsyncSession, actor: Actor | None, notice_id: int
) -> list[NoticeRevision]:
    await _managed(session, actor, notice_id)
    return list(
        (
            await session.exec(
                select(NoticeRevision)
                .where(NoticeRevision.notice_id == notice_id)
                .order_by(col(NoticeRevision.id))
            )
        ).all()
    )


# --- what a person sees ------------------------------------------------------------------


@dataclass
class Audience:
    """Which notices a person may see."""

    all_of_wards: set[int] = field(default_factory=set)
    # ward id → the groups whose notices (and the ward's) they see
    groups: dict[int, set[int]] = field(default_factory=dict)
    person_id: int | None = None

    @property
    def empty(self) -> bool:
        return not self.all_of_wards and not self.groups


def audience_of(actor: Actor) -> Audience:
    audience = Audience(person_id=actor.person_id)
    audience.all_of_wards |= set(actor.admin_ward_ids()) | set(actor.inspected_ward_ids())
    resident = actor.resident
    if resident is not None and resident.status in RECEIVING:
        audience.groups.setdefault(resident.ward_id, set()).add(resident.group_id)  # type: ignore[arg-type]
    for grant in actor.grants:
        if grant.role == "leader" and grant.group_id is not None:
            audience.groups.setdefault(grant.ward_id, set()).add(grant.group_id)  # type: ignore[arg-type]
    return audience


def _visible(audience: Audience) -> Any:
    conditions: list[Any] = []
    if audience.all_of_wards:
        conditions.append(col(Notice.ward_id).in_(audience.all_of_wards))
    for ward_id, group_ids in audience.groups.items():
        in_group = exists().where(
            NoticeGroup.notice_id == Notice.id, col(NoticeGroup.group_id).in_(group_ids)
        )
        conditions.append(and_(Notice.ward_id == ward_id, or_(col(Notice.whole_ward), in_group)))
    if audience.person_id is not None:
        conditions.append(Notice.publisher_id == audience.person_id)
    return or_(*conditions)


@dataclass
class Page:
    items: list[NoticeView]
    total: int
    page: int
    pages: int


async def browse(
    session: AsyncSession,
    actor: Actor,
    *,
    archive: bool = False,
    query: str | None = None,
    page: int = 0,
    size: int = 5,
    mine: bool = False,
) -> Page:
    """Notices this person may see, newest first: current ones, or the archive (expired
    and withdrawn); optionally only those matching every word of ``query``, or only
    those they may manage (``mine``)."""
    audience = audience_of(actor)
    if audience.empty and not mine:
        raise NotAllowed(__("Register as a resident to read your ward's notices."))
    now = clock.now()
    conditions = [_visible(audience)]
    if mine:
        conditions = [_manageable(actor)]
    elif archive:
        conditions.append(or_(col(Notice.withdrawn_at).is_not(None), col(Notice.expires_at) <= now))
    else:
        conditions += [col(Notice.withdrawn_at).is_(None), col(Notice.expires_at) > now]
    if query is not None:
        words = fold(query).split()
        if not words:
            raise InvalidInput(__("Write a word to search for."))
        for word in words[:8]:
            conditions.append(col(Notice.search_text).like(_like_pattern(word), escape="\\"))
    total = (await session.exec(select(func.count()).select_from(Notice).where(*conditions))).one()
    pages = max(1, -(-total // size))
    page = min(max(page, 0), pages - 1)
    notices = (
        await session.exec(
            select(Notice)
            .where(*conditions)
            .order_by(col(Notice.published_at).desc(), col(Notice.id).desc())
            .offset(page * size)
            .limit(size)
        )
    ).all()
    return Page([await _view(session, n, actor) for n in notices], total, page, pages)


def _manageable(actor: Actor) -> Any:
    conditions: list[Any] = []
    if actor.admin_ward_ids():
        conditions.append(col(Notice.ward_id).in_(actor.admin_ward_ids()))
    if actor.person_id is not None and actor.led_group_ids():
        conditions.append(
            and_(
                Notice.publisher_id == actor.person_id,
                col(Notice.publisher_group_id).in_(actor.led_group_ids()),
            )
        )
    if not conditions:
        raise NotAllowed()
    return or_(*conditions)


async def get(session: AsyncSession, actor: Actor, notice_id: int) -> NoticeView:
    """One notice, if this person may see it (else NotFound: its existence is not
    revealed either)."""
    notice = (
        await session.exec(
            select(Notice).where(Notice.id == notice_id, _visible(audience_of(actor)))
        )
    ).first()
    if notice is None:
        raise NotFound(__("This notice does not exist."))
    return await _view(session, notice, actor)


async def mark_read(session: AsyncSession, actor: Actor, notice_id: int) -> bool:
    """Record that this resident read the notice; False if it was already recorded."""
    person = actor.require_person()
    notice = await session.get(Notice, notice_id)
    if notice is None:
        raise NotFound(__("This notice does not exist."))
    if not await _is_recipient(session, actor, notice):
        raise NotAllowed(__("This notice was not sent to you."))
    already = (
        await session.exec(
            select(NoticeRead.id).where(
                NoticeRead.notice_id == notice_id, NoticeRead.person_id == person.id
            )
        )
    ).first()
    if already is not None:
        return False
    resident = actor.resident
    try:
        async with session.begin_nested():
            session.add(
                NoticeRead(
                    notice_id=notice_id,
                    person_id=person.id,
                    group_id=resident.group_id if resident else None,
                )
            )
    except IntegrityError:
        # Pressed twice at the same moment: the other press recorded it.
        return False
    # Reading is a resident's own act, not a change to the notice: the notice_read row
    # is its record, and 50,000 readers do not flood the audit trail.
    return True


async def _is_recipient(session: AsyncSession, actor: Actor, notice: Notice) -> bool:
    resident = actor.resident
    if (
        resident is not None
        and resident.status in RECEIVING
        and resident.ward_id == notice.ward_id
        and (
            notice.whole_ward
            or (
                await session.exec(
                    select(NoticeGroup.id).where(
                        NoticeGroup.notice_id == notice.id,
                        NoticeGroup.group_id == resident.group_id,
                    )
                )
            ).first()
            is not None
        )
    ):
        return True
    # Sent to them before they moved to another group.
    delivered = (
        await session.exec(
            select(Delivery.id).where(
                Delivery.ref_type == KIND,
                Delivery.ref_id == notice.id,
                Delivery.person_id == actor.person_id,
            )
        )
    ).first()
    return delivered is not None


# --- statistics --------------------------------------------------------------------------


@dataclass
class Tally:
    recipients: int = 0
    sent: int = 0
    pending: int = 0
    failed: int = 0
    blocked: int = 0
    dropped: int = 0
    read: int = 0
    # Messages that may have reached someone twice (a sender died while sending them).
    in_doubt: int = 0

    def add(self, status: str, count: int, in_doubt: int) -> None:
        self.recipients += count
        self.in_doubt += in_doubt
        if status == DeliveryStatus.SENT:
            self.sent += count
        elif status in (DeliveryStatus.PENDING, DeliveryStatus.SENDING):
            self.pending += count
        elif status == DeliveryStatus.BLOCKED:
            self.blocked += count
        elif status == DeliveryStatus.DROPPED:
            self.dropped += count
        else:
            self.failed += count


@dataclass
class GroupTally:
    group: ResidentialGroup | None
    tally: Tally
    # The group chat's post: sent, pending, failed...; None when no chat is linked.
    chat_status: str | None = None


@dataclass
class NoticeStats:
    view: NoticeView
    total: Tally
    groups: list[GroupTally]


async def stats(session: AsyncSession, actor: Actor | None, notice_id: int) -> NoticeStats:
    """Delivery and reading, per group: what the publisher, a ward admin or an inspector
    sees (a leader of a group in scope sees their own groups)."""
    notice = await session.get(Notice, notice_id)
    if notice is None:
        raise NotFound(__("This notice does not exist."))
    view = await _view(session, notice, actor)
    only_groups: set[int] | None = None
    full = (
        actor is None
        or _may_manage(actor, notice)
        or notice.ward_id in actor.inspected_ward_ids()
        or (actor.person_id is not None and notice.publisher_id == actor.person_id)
    )
    if not full:
        assert actor is not None
        scope = {g.id for g in view.groups} if view.groups else None
        led = {
            g.group_id
            for g in actor.grants
            if g.role == "leader" and g.ward_id == notice.ward_id and g.group_id is not None
        }
        only_groups = {g for g in led if scope is None or g in scope}
        if not only_groups:
            raise NotAllowed()
    rows = await _delivery_counts(session, notice_id)
    reads = dict(
        (
            await session.exec(
                select(NoticeRead.group_id, func.count())
                .where(NoticeRead.notice_id == notice_id)
                .group_by(col(NoticeRead.group_id))
            )
        ).all()
    )
    tallies: dict[int | None, GroupTally] = {}
    groups = view.groups or await _scope_groups(session, notice.ward_id, None)  # type: ignore[arg-type]
    for group in groups:
        tallies[group.id] = GroupTally(group, Tally())
    total = Tally()
    for segment, is_group, status, count, doubt in rows:
        if only_groups is not None and segment not in only_groups:
            continue
        entry = tallies.setdefault(segment, GroupTally(None, Tally()))
        if is_group:
            entry.chat_status = status
            total.in_doubt += int(doubt)
            entry.tally.in_doubt += int(doubt)
            continue
        entry.tally.add(status, int(count), int(doubt))
        total.add(status, int(count), int(doubt))
    for group_id, count in reads.items():
        if only_groups is not None and group_id not in only_groups:
            continue
        tallies.setdefault(group_id, GroupTally(None, Tally())).tally.read += int(count)
        total.read += int(count)
    shown = [
        t
        for key, t in tallies.items()
        if (only_groups is None or key in only_groups)
        and (t.tally.recipients or t.tally.read or t.chat_status or t.group is not None)
    ]
    return NoticeStats(view, total, shown)


# A person with accounts on several channels (Telegram and Zalo) has a row on each but is
# one recipient: counted once, with the best of their rows' outcomes.
_OUTCOME_ORDER = (
    DeliveryStatus.SENT,
    DeliveryStatus.SENDING,
    DeliveryStatus.PENDING,
    DeliveryStatus.FAILED,
    DeliveryStatus.BLOCKED,
    DeliveryStatus.DROPPED,
)


async def _delivery_counts(session: AsyncSession, notice_id: int) -> list[Any]:
    """(segment, is_group, status, count, in_doubt) rows: one per person, one per chat."""
    of_notice = [Delivery.ref_type == KIND, Delivery.ref_id == notice_id]
    chats = (
        await session.exec(
            select(
                Delivery.segment,
                Delivery.is_group,
                Delivery.status,
                func.count(),
                func.coalesce(func.sum(Delivery.in_doubt), 0),
            )
            .where(*of_notice, col(Delivery.is_group).is_(True))
            .group_by(col(Delivery.segment), col(Delivery.is_group), col(Delivery.status))
        )
    ).all()
    rank = case(
        *[(col(Delivery.status) == s.value, n) for n, s in enumerate(_OUTCOME_ORDER)],
        else_=len(_OUTCOME_ORDER),
    )
    per_person = (
        select(
            Delivery.segment.label("segment"),  # type: ignore[attr-defined]
            func.min(rank).label("rank"),
            func.coalesce(func.sum(Delivery.in_doubt), 0).label("doubt"),
        )
        .where(*of_notice, col(Delivery.is_group).is_(False))
        .group_by(col(Delivery.segment), col(Delivery.person_id))
        .subquery()
    )
    people = (
        await session.exec(
            select(
                per_person.c.segment,
                per_person.c.rank,
                func.count(),
                func.coalesce(func.sum(per_person.c.doubt), 0),
            ).group_by(per_person.c.segment, per_person.c.rank)
        )
    ).all()
    statuses = [s.value for s in _OUTCOME_ORDER] + [DeliveryStatus.FAILED.value]
    return list(chats) + [
        (segment, False, statuses[int(rank)], count, doubt)
        for segment, rank, count, doubt in people
    ]


# --- the scheduler -----------------------------------------------------------------------


async def file_expired(session: AsyncSession, now: datetime) -> int:
    """Record notices whose posting period is over (once each) and drop what is still
    queued for them. Lists do not depend on this having run."""
    due = (
        await session.exec(
            select(Notice.id, Notice.ward_id).where(
                col(Notice.expired_at).is_(None),
                col(Notice.withdrawn_at).is_(None),
                col(Notice.expires_at) <= now,
            )
        )
    ).all()
    filed = 0
    for notice_id, ward_id in due:
        claimed = await session.exec(
            update(Notice)
            .where(col(Notice.id) == notice_id, col(Notice.expired_at).is_(None))
            .values(expired_at=now)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            continue  # another worker filed it
        dropped = await outbox.cancel(session, (KIND, notice_id), "posting period over")
        await audit.record(
            session,
            actor="system",
            action="notice.expire",
            entity_type="notice",
            entity_id=notice_id,
            ward_id=ward_id,
            data={"dropped_messages": dropped},
        )
        filed += 1
    return filed


async def list_all(
    session: AsyncSession, ward_id: int | None = None, limit: int = 200
) -> list[NoticeView]:
    """Every notice, newest first, for the operator's CLI."""
    query = select(Notice).order_by(col(Notice.published_at).desc(), col(Notice.id).desc())
    if ward_id is not None:
        query = query.where(Notice.ward_id == ward_id)
    return [await _view(session, n) for n in (await session.exec(query.limit(limit))).all()]
