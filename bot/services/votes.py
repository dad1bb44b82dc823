"""Dân bàn: household votes (Law 10/2022 Art. 15; Decree 59/2023 Art. 5) and
consultations on drafts (Law Art. 25–26).

Rules kept here, for every channel alike:

- An admin creates a vote for the whole ward or chosen groups, a group leader for their
  own groups. The ballot goes to the representative of every verified household in scope.
- One ballot per household, cast by its representative; it may be changed until closing
  and the last choice counts. The database holds at most one ballot per household
  (``UNIQUE (vote_id, household_id)``), whatever races happen between workers.
- At closing the households counted are those eligible then (verified, not removed, in a
  group of the scope); a ballot of a household that left meanwhile is not counted. A vote
  is adopted only when "agree" (the first option) has MORE THAN HALF OF ALL eligible
  households, not of the ballots cast.
- Clauses 1–5 of Art. 15: the online tally serves as household opinion forms supporting
  the meeting; clause 6: decided online (Decree 59 Art. 5).
- Nobody is shown who voted what; who has voted (not the choice) only to the leader of
  the household's group.

The casting entry point for any channel (Telegram, Zalo)::

    result = await votes.cast(session, actor, vote_id, option, household_id=None)

See ``cast`` for what it checks and returns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import clock
from bot.delivery import outbox
from bot.i18n import N_, _, __, format_datetime
from bot.models import (
    Ballot,
    ChannelAccount,
    Household,
    NoticeCategory,
    Opinion,
    Person,
    Resident,
    ResidentialGroup,
    StoredFile,
    Vote,
    VoteGroup,
    Ward,
)
from bot.services import audit, files
from bot.services.errors import (
    Conflict,
    DomainError,
    InvalidInput,
    NotAllowed,
    NotFound,
    StaleButton,
)
from bot.services.notices import PublishScope, publish_scopes
from bot.services.people import Actor, clean_text
from bot.services.wards import get_ward, ward_settings

VOTE = "vote"
CONSULTATION = "consultation"
KINDS = (VOTE, CONSULTATION)
MATTERS = (1, 2, 3, 4, 5, 6)
# Decree 59 Art. 5: only clause 6 matters are decided online.
ONLINE_DECIDED = 6
QUESTION_MAX = 300
EXPLANATION_MAX = 4000
OPTION_MAX = 60
OPTIONS_MAX = 8
COMMENT_MAX = 2000
DURATION_MIN = timedelta(hours=1)
DURATION_MAX = timedelta(days=90)
ATTACHMENT_TYPES = {"application/pdf", *files.PHOTO_TYPES}

# Law 10/2022 Art. 15 clause 1–6.
MATTER_NAMES = {
    1: N_("Public works funded by residents and each household's contribution"),
    2: N_("Collecting and spending residents' contributions"),
    3: N_("The village or group charter (hương ước, quy ước)"),
    4: N_("Electing or removing the group leader"),
    5: N_(
        "Electing members of the People's Inspection Board or the Community Investment "
        "Supervision Board"
    ),
    6: N_("Other self-management matters of the community"),
}

# Outbox kinds; renderers live in handlers/votes.py.
BALLOT = "vote.ballot"
CONSULT = "vote.consult"
SUMMARY = "vote.summary"


def default_options() -> list[str]:
    # Stored once for everyone, so in the ward's language.
    return [_("Agree", locale="vi"), _("Disagree", locale="vi")]


# --- scope and creation -----------------------------------------------------------------


async def creation_scopes(session: AsyncSession, actor: Actor) -> list[PublishScope]:
    """Where this person may create votes: as for notices, admins the ward or chosen
    groups, leaders their own groups."""
    return await publish_scopes(session, actor)


def may_create(actor: Actor) -> bool:
    return bool(actor.admin_ward_ids() or actor.led_group_ids())


@dataclass
class Draft:
    vote: Vote
    ward: Ward
    groups: list[ResidentialGroup]
    attachment: StoredFile | None = None


def _creator_role(
    actor: Actor, ward_id: int, group_ids: list[int] | None
) -> tuple[str, int | None]:
    actor.require_person()
    if actor.is_admin_of(ward_id):
        return "admin", None
    if group_ids and all(actor.is_leader_of(g) for g in group_ids):
        return "leader", sorted(set(group_ids))[0]
    if actor.led_group_ids():
        raise NotAllowed(__("A group leader creates votes for their own group only."))
    raise NotAllowed(__("Only a ward administrator or a group leader can create votes."))


async def _groups(
    session: AsyncSession, ward_id: int, group_ids: list[int] | None
) -> list[ResidentialGroup]:
    query = select(ResidentialGroup).where(
        ResidentialGroup.ward_id == ward_id, col(ResidentialGroup.active)
    )
    if group_ids is not None:
        if not group_ids:
            raise InvalidInput(__("Choose at least one group."))
        query = query.where(col(ResidentialGroup.id).in_(set(group_ids)))
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


def clean_options(options: list[str] | None) -> list[str]:
    if not options:
        return default_options()
    cleaned = [clean_text(o, max_length=OPTION_MAX) for o in options]
    cleaned = [" ".join(o.split()) for o in cleaned]
    if not 2 <= len(cleaned) <= OPTIONS_MAX:
        raise InvalidInput(__("Give between 2 and {max} options, one per line."), max=OPTIONS_MAX)
    if len({o.casefold() for o in cleaned}) != len(cleaned):
        raise InvalidInput(__("Two options are the same. Each option must be different."))
    return cleaned


async def draft(
    session: AsyncSession,
    actor: Actor,
    *,
    kind: str = VOTE,
    ward_id: int,
    group_ids: list[int] | None,
    matter: int | None,
    question: str,
    explanation: str = "",
    options: list[str] | None = None,
    opens_at: datetime | None = None,
    closes_at: datetime,
    attachment_id: int | None = None,
) -> Draft:
    """Check a vote as ``create`` would and return it unsaved, for the preview."""
    if kind not in KINDS:
        raise InvalidInput()
    ward = await get_ward(session, ward_id)
    groups = await _groups(session, ward_id, group_ids)
    role, creator_group_id = _creator_role(actor, ward_id, group_ids)
    if kind == VOTE and matter not in MATTERS:
        raise InvalidInput(__("Choose the matter (Law 10/2022, Article 15, clauses 1 to 6)."))
    question = clean_text(question, max_length=QUESTION_MAX, min_length=5)
    explanation = clean_text(explanation, max_length=EXPLANATION_MAX) if explanation.strip() else ""
    now = clock.now()
    opens_at = max(opens_at or now, now)
    if closes_at - opens_at < DURATION_MIN:
        raise InvalidInput(__("Voting must stay open for at least one hour."))
    if closes_at - opens_at > DURATION_MAX:
        raise InvalidInput(__("Voting can stay open for at most 90 days."))
    attachment = None
    if attachment_id is not None:
        attachment = await files.get(session, attachment_id)
        if attachment.mime_type not in ATTACHMENT_TYPES:
            raise InvalidInput(__("Only PDF files and photos can be attached."))
    if kind == CONSULTATION and attachment is None and not explanation:
        raise InvalidInput(__("A consultation needs the draft: attach it or write it out."))
    vote = Vote(
        ward_id=ward_id,
        kind=kind,
        matter=matter if kind == VOTE else None,
        question=question,
        explanation=explanation,
        options=clean_options(options),
        whole_ward=group_ids is None,
        creator_role=role,
        creator_id=actor.person_id,
        creator_group_id=creator_group_id,
        attachment_id=attachment.id if attachment else None,
        opens_at=opens_at,
        closes_at=closes_at,
    )
    return Draft(vote, ward, groups, attachment)


async def create(session: AsyncSession, actor: Actor, **values: Any) -> Vote:
    """Create a vote or consultation (arguments as ``draft``); if it opens now, queue
    the ballots in this same transaction."""
    made = await draft(session, actor, **values)
    vote = made.vote
    session.add(vote)
    await session.flush()
    for group in made.groups:
        session.add(VoteGroup(vote_id=vote.id, group_id=group.id))
    await session.flush()
    await audit.record(
        session,
        actor=audit.actor_of(actor.person_id),
        action=f"{vote.kind}.create",
        entity_type=vote.kind,
        entity_id=vote.id,
        ward_id=vote.ward_id,
        data={
            "matter": vote.matter,
            "question": vote.question,
            "options": vote.options,
            "group_ids": [g.id for g in made.groups],
            "whole_ward": vote.whole_ward,
            "opens_at": vote.opens_at.isoformat(),
            "closes_at": vote.closes_at.isoformat(),
        },
    )
    if vote.opens_at <= clock.now():
        await announce(session, vote.id)  # type: ignore[arg-type]
    return vote


# --- who is in scope -------------------------------------------------------------------


def _scope_group_ids(vote_id: int) -> Any:
    return select(VoteGroup.group_id).where(VoteGroup.vote_id == vote_id)


def eligible_households(vote_id: int) -> Any:
    """SELECT id, group_id of the households that count now: verified, not removed,
    in a group of the scope."""
    return select(Household.id, Household.group_id).where(
        col(Household.group_id).in_(_scope_group_ids(vote_id)),
        col(Household.verified),
        col(Household.removed_at).is_(None),
    )


def _representatives(vote_id: int) -> Any:
    households = eligible_households(vote_id).subquery()
    return (
        select(Resident.person_id, Resident.group_id)
        .join(households, households.c.id == Resident.household_id)
        .where(col(Resident.is_representative), Resident.status == "verified")
    )


def _residents(vote_id: int) -> Any:
    return select(Resident.person_id, Resident.group_id).where(
        col(Resident.group_id).in_(_scope_group_ids(vote_id)), Resident.status == "verified"
    )


async def get(session: AsyncSession, vote_id: int) -> Vote:
    vote = await session.get(Vote, vote_id)
    if vote is None:
        raise NotFound(__("This vote no longer exists."))
    return vote


async def scope_groups(session: AsyncSession, vote_id: int) -> list[ResidentialGroup]:
    return list(
        (
            await session.exec(
                select(ResidentialGroup)
                .join(VoteGroup, col(VoteGroup.group_id) == ResidentialGroup.id)
                .where(VoteGroup.vote_id == vote_id)
                .order_by(col(ResidentialGroup.position), col(ResidentialGroup.id))
            )
        ).all()
    )


def state_of(vote: Vote, now: datetime | None = None) -> str:
    """scheduled | open | closed (closed also once the time is up, before the job ran)."""
    now = now or clock.now()
    if vote.closed_at is not None or now >= vote.closes_at:
        return "closed"
    if now < vote.opens_at:
        return "scheduled"
    return "open"


# --- announcing, reminding ---------------------------------------------------------------


async def announce(session: AsyncSession, vote_id: int) -> int:
    """Queue the ballot (or the consultation) once; returns the messages queued."""
    claimed = await session.exec(
        update(Vote)
        .where(col(Vote.id) == vote_id, col(Vote.announced_at).is_(None))
        .values(announced_at=clock.now())
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return 0
    vote = await get(session, vote_id)
    await session.refresh(vote)
    recipients = _representatives(vote_id) if vote.kind == VOTE else _residents(vote_id)
    queued = await outbox.enqueue_recipients(
        session,
        kind=BALLOT if vote.kind == VOTE else CONSULT,
        recipients=recipients,
        params={"vote_id": vote_id},
        ref=(vote.kind, vote_id),
    )
    await audit.record(
        session,
        actor="system",
        action=f"{vote.kind}.announce",
        entity_type=vote.kind,
        entity_id=vote_id,
        ward_id=vote.ward_id,
        data={"queued": queued},
    )
    return queued


async def due_announcements(session: AsyncSession, now: datetime) -> list[int]:
    return list(
        (
            await session.exec(
                select(Vote.id).where(
                    col(Vote.announced_at).is_(None),
                    col(Vote.closed_at).is_(None),
                    col(Vote.opens_at) <= now,
                )
            )
        ).all()
    )  # type: ignore[arg-type]


async def due_reminders(session: AsyncSession, now: datetime) -> list[int]:
    """Open votes whose reminder time (the ward's ``vote_reminder_hours`` before
    closing, but not before half the voting time; 0 turns reminders off) has come."""
    rows = (
        await session.exec(
            select(Vote, Ward)
            .join(Ward, col(Ward.id) == Vote.ward_id)
            .where(
                col(Vote.reminded_at).is_(None),
                col(Vote.closed_at).is_(None),
                col(Vote.announced_at).is_not(None),
                col(Vote.closes_at) > now,
                col(Vote.closes_at) <= now + timedelta(hours=720),
            )
        )
    ).all()
    due = []
    for vote, ward in rows:
        hours = ward_settings(ward).vote_reminder_hours
        # Never in the first half of a short vote: right after the ballot it would nag.
        halfway = vote.opens_at + (vote.closes_at - vote.opens_at) / 2
        if hours and max(vote.closes_at - timedelta(hours=hours), halfway) <= now:
            due.append(vote.id)
    return due  # type: ignore[return-value]


async def remind(session: AsyncSession, vote_id: int, now: datetime) -> int:
    """Remind the households (votes) or residents (consultations) that have not answered;
    exactly once per vote."""
    claimed = await session.exec(
        update(Vote)
        .where(col(Vote.id) == vote_id, col(Vote.reminded_at).is_(None))
        .where(col(Vote.closed_at).is_(None))
        .values(reminded_at=now)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return 0
    vote = await get(session, vote_id)
    if vote.kind == VOTE:
        voted = select(Ballot.household_id).where(Ballot.vote_id == vote_id)
        recipients = _representatives(vote_id).where(col(Resident.household_id).not_in(voted))
        kind = BALLOT
    else:
        answered = select(Opinion.person_id).where(Opinion.vote_id == vote_id)
        recipients = _residents(vote_id).where(col(Resident.person_id).not_in(answered))
        kind = CONSULT
    queued = await outbox.enqueue_recipients(
        session,
        kind=kind,
        recipients=recipients,
        params={"vote_id": vote_id, "reminder": True},
        ref=(vote.kind, vote_id),
    )
    await audit.record(
        session,
        actor="system",
        action=f"{vote.kind}.remind",
        entity_type=vote.kind,
        entity_id=vote_id,
        ward_id=vote.ward_id,
        data={"queued": queued},
    )
    return queued


# --- casting -------------------------------------------------------------------------------


@dataclass
class CastResult:
    """What happened to a press: ``cast`` (first ballot), ``changed`` or ``unchanged``."""

    outcome: str
    vote: Vote
    option: int
    previous: int | None = None
    # The person's language, for answering a press handled outside an update's context.
    language: str = "vi"

    @property
    def label(self) -> str:
        return self.vote.options[self.option]


@dataclass(frozen=True)
class BallotPress:
    """One press for ``cast_many``: who (a channel identity), which vote and option, and
    the household the ballot was addressed to (0: not known)."""

    channel: str
    external_id: str
    vote_id: int
    option: int
    household_id: int = 0


def _refusal(
    vote: Vote | None,
    option: int,
    now: datetime,
    resident: Resident | None,
    household: Household | None,
    in_scope: bool,
    household_id: int | None,
) -> DomainError | None:
    """The rules of a press, in the order they are told; None when it may be recorded."""
    if vote is None or vote.kind != VOTE:
        return StaleButton(__("This vote does not exist."))
    if not 0 <= option < len(vote.options):
        return StaleButton(__("This option does not exist in this vote."))
    state = state_of(vote, now)
    if state == "scheduled":
        return Conflict(
            __("Voting has not opened yet. It opens at {when}."),
            when=format_datetime(vote.opens_at),
        )
    if state == "closed":
        return Conflict(
            __("Voting closed at {when}. Nothing was recorded."),
            when=format_datetime(vote.closes_at),
        )
    if resident is None:
        return NotAllowed(__("Only registered residents can vote. Send /start to register first."))
    if resident.status != "verified":
        return NotAllowed(
            __("Your registration has not been verified yet, so you cannot vote yet.")
        )
    if resident.household_id is None:
        return NotAllowed(__("You are not listed in a household, so you cannot vote."))
    if not resident.is_representative:
        return NotAllowed(
            __(
                "Each household has one vote, cast by its representative. You are not "
                "your household's representative, so your press was not counted."
            )
        )
    if (
        household is None
        or not household.verified
        or household.removed_at is not None
        or not in_scope
        or household.group_id != resident.group_id
    ):
        return NotAllowed(__("Your household is not among the households of this vote."))
    if household_id and household_id != household.id:
        return StaleButton(__("This ballot was sent to another household."))
    return None


async def cast(
    session: AsyncSession,
    actor: Actor,
    vote_id: int,
    option: int,
    *,
    household_id: int | None = None,
) -> CastResult:
    """Record a household's vote; the entry point for every channel.

    ``actor``: the person pressing (``bot.services.people.Actor``, loaded fresh).
    ``vote_id``: the vote; ``option``: the index into ``vote.options`` (0 is "agree").
    ``household_id``: the household the ballot was addressed to, when the channel knows
    it (Telegram puts it in the button); a mismatch is refused.

    Returns a ``CastResult`` whose ``outcome`` is ``cast`` (first ballot), ``changed``
    (another option than before; the last one counts) or ``unchanged`` (the same option
    again: nothing is written). Raises, changing nothing: StaleButton (no such vote, an
    option that does not exist, another household's ballot), Conflict (not open yet, or
    closed), NotAllowed (not a verified representative of a household in scope).
    Flushes only; the caller commits. ``cast_many`` does the same for many presses at
    once (a burst of presses, written by one writer in one transaction).
    """
    vote = await session.get(Vote, vote_id)
    resident = actor.resident if actor.person is not None else None
    household = (
        await session.get(Household, resident.household_id)
        if resident is not None and resident.household_id is not None
        else None
    )
    in_scope = bool(
        resident is not None
        and (
            await session.exec(
                select(func.count())
                .select_from(VoteGroup)
                .where(VoteGroup.vote_id == vote_id, VoteGroup.group_id == resident.group_id)
            )
        ).one()
    )
    now = clock.now()
    refusal = _refusal(vote, option, now, resident, household, in_scope, household_id)
    if refusal is not None:
        raise refusal
    assert vote is not None and household is not None
    [result] = await _store(
        session,
        [(vote, household, option, actor.person_id)],
        now,  # type: ignore[list-item]
    )
    return result


async def cast_many(
    session: AsyncSession, presses: list[BallotPress]
) -> list[CastResult | DomainError]:
    """``cast`` for a burst of presses in one transaction: the same rules, read and
    written in a few statements instead of a dozen per press. Returns, in order, a
    CastResult or the DomainError that refused that press (which changed nothing).
    Presses of one household in one batch count in order, as if one after another."""
    if not presses:
        return []
    now = clock.now()
    vote_ids = sorted({p.vote_id for p in presses})
    by_vote = {
        v.id: v for v in (await session.exec(select(Vote).where(col(Vote.id).in_(vote_ids)))).all()
    }
    scopes = set(
        (
            await session.exec(
                select(VoteGroup.vote_id, VoteGroup.group_id).where(
                    col(VoteGroup.vote_id).in_(vote_ids)
                )
            )
        ).all()
    )
    people: dict[tuple[str, str], tuple[int, str, Resident | None, Household | None]] = {}
    for channel in sorted({p.channel for p in presses}):
        wanted = sorted({p.external_id for p in presses if p.channel == channel})
        for start in range(0, len(wanted), 2000):
            rows = (
                await session.exec(
                    select(
                        ChannelAccount.external_id, Person.id, Person.language, Resident, Household
                    )
                    .join(Person, col(Person.id) == ChannelAccount.person_id)
                    .join(Resident, col(Resident.person_id) == Person.id, isouter=True)
                    .join(Household, col(Household.id) == Resident.household_id, isouter=True)
                    .where(
                        ChannelAccount.channel == channel,
                        col(ChannelAccount.external_id).in_(wanted[start : start + 2000]),
                    )
                )
            ).all()
            for external_id, person_id, language, resident, household in rows:
                people[(channel, external_id)] = (person_id, language, resident, household)
    results: list[CastResult | DomainError | None] = []
    valid: list[tuple[Vote, Household, int, int | None]] = []
    languages: list[str] = []
    for press in presses:
        person_id, language, resident, household = people.get(
            (press.channel, press.external_id), (None, "vi", None, None)
        )
        vote = by_vote.get(press.vote_id)
        in_scope = resident is not None and (press.vote_id, resident.group_id) in scopes
        refusal = _refusal(
            vote, press.option, now, resident, household, in_scope, press.household_id
        )
        results.append(refusal)
        if refusal is None:
            valid.append((vote, household, press.option, person_id))  # type: ignore[arg-type]
            languages.append(language or "vi")
    stored = iter(await _store(session, valid, now))
    language_of = iter(languages)
    out: list[CastResult | DomainError] = []
    for item in results:
        if item is None:
            result = next(stored)
            result.language = next(language_of)
            out.append(result)
        else:
            out.append(item)
    return out


async def _store(
    session: AsyncSession,
    items: list[tuple[Vote, Household, int, int | None]],
    now: datetime,
) -> list[CastResult]:
    """Write ballots (vote, household, option, person) in a few statements: new ones by
    an upsert on (vote_id, household_id), so a race with another worker still leaves one
    ballot per household, the last press winning; changes by one UPDATE per ballot."""
    if not items:
        return []
    keys = sorted({(v.id, h.id) for v, h, _o, _p in items})  # type: ignore[type-var]
    existing: dict[tuple[int, int], Ballot] = {}
    for start in range(0, len(keys), 1000):
        chunk = keys[start : start + 1000]
        for ballot in (
            await session.exec(
                select(Ballot)
                .where(
                    col(Ballot.vote_id).in_({k[0] for k in chunk}),
                    col(Ballot.household_id).in_({k[1] for k in chunk}),
                )
                .execution_options(populate_existing=True)
            )
        ).all():
            existing[(ballot.vote_id, ballot.household_id)] = ballot  # type: ignore[index]
    current: dict[tuple[int, int], int] = {k: b.option for k, b in existing.items()}
    # The final write per household, and each press's outcome in order.
    final: dict[tuple[int, int], tuple[Vote, Household, int, int | None, int]] = {}
    results: list[CastResult] = []
    audit_rows: dict[int, list[tuple[int | None, str]]] = {}
    for vote, household, option, person_id in items:
        key = (vote.id, household.id)  # type: ignore[assignment]
        before = current.get(key)  # type: ignore[arg-type]
        if before is None:
            outcome = "cast"
        elif before == option:
            results.append(CastResult("unchanged", vote, option, before))
            continue
        else:
            outcome = "changed"
        changes = final[key][4] if key in final else 0  # type: ignore[index]
        final[key] = (vote, household, option, person_id, changes + (outcome == "changed"))  # type: ignore[index]
        current[key] = option  # type: ignore[index]
        results.append(CastResult(outcome, vote, option, before))
        audit_rows.setdefault(vote.id, []).append((person_id, outcome))  # type: ignore[arg-type]
    inserts, updates = [], []
    for key, (_vote, household, option, person_id, changes) in final.items():
        ballot = existing.get(key)
        if ballot is None:
            inserts.append(
                {
                    "vote_id": key[0],
                    "household_id": key[1],
                    "group_id": household.group_id,
                    "option": option,
                    "cast_by_id": person_id,
                    "cast_at": now,
                    "changes": changes,
                }
            )
        else:
            updates.append(
                {
                    "b_id": ballot.id,
                    "b_option": option,
                    "b_person": person_id,
                    "b_at": now,
                    "b_changes": ballot.changes + changes,
                }
            )
    if inserts:
        dialect = session.get_bind().dialect.name
        make = pg_insert if dialect == "postgresql" else sqlite_insert
        statement = make(Ballot)
        statement = statement.on_conflict_do_update(
            index_elements=["vote_id", "household_id"],
            set_={
                "option": statement.excluded.option,
                "cast_by_id": statement.excluded.cast_by_id,
                "changed_at": statement.excluded.cast_at,
                "changes": Ballot.changes + 1,
            },
        )
        for start in range(0, len(inserts), 500):
            await session.exec(statement, params=inserts[start : start + 500])  # type: ignore[call-overload]
    if updates:
        # Core, not ORM: an executemany UPDATE keyed by the bound ballot id.
        table = Ballot.__table__  # type: ignore[attr-defined]
        await session.exec(
            table.update()
            .where(table.c.id == bindparam("b_id"))
            .values(
                option=bindparam("b_option"),
                cast_by_id=bindparam("b_person"),
                changed_at=bindparam("b_at"),
                changes=bindparam("b_changes"),
            ),
            params=updates,  # type: ignore[call-overload]
        )
    for vote_id, rows in audit_rows.items():
        vote = next(v for v, _h, _o, _p in items if v.id == vote_id)
        # Secret ballot: the trail says who voted or changed, and when, never what.
        await audit.record(
            session,
            actor=audit.actor_of(rows[0][0]) if len(rows) == 1 else "system",
            action="vote.cast",
            entity_type="vote",
            entity_id=vote_id,
            ward_id=vote.ward_id,
            data={
                "cast": [p for p, o in rows if o == "cast"],
                "changed": [p for p, o in rows if o == "changed"],
            },
        )
    return results


async def _ballot(session: AsyncSession, vote_id: int, household_id: int) -> Ballot | None:
    return (
        await session.exec(
            select(Ballot)
            .where(Ballot.vote_id == vote_id, Ballot.household_id == household_id)
            .execution_options(populate_existing=True)
        )
    ).first()


async def my_choice(session: AsyncSession, actor: Actor, vote_id: int) -> int | None:
    """The option the actor's household chose so far (shown to its own members only)."""
    resident = actor.resident
    if resident is None or resident.household_id is None:
        return None
    ballot = await _ballot(session, vote_id, resident.household_id)
    return ballot.option if ballot else None


# --- consultations -----------------------------------------------------------------------


async def give_opinion(
    session: AsyncSession,
    actor: Actor,
    vote_id: int,
    *,
    option: int | None = None,
    comment: str | None = None,
) -> tuple[str, Opinion]:
    """A verified resident's opinion on a consultation: ``option`` and/or ``comment``;
    given again, it replaces the earlier one field by field. Returns (outcome, opinion),
    outcome ``given`` | ``changed`` | ``unchanged``."""
    vote = await session.get(Vote, vote_id)
    if vote is None or vote.kind != CONSULTATION:
        raise StaleButton(__("This consultation does not exist."))
    if option is not None and not 0 <= option < len(vote.options):
        raise StaleButton(__("This option does not exist in this consultation."))
    if comment is not None:
        comment = clean_text(comment, max_length=COMMENT_MAX)
    if option is None and comment is None:
        raise InvalidInput(__("Choose an option or write a comment."))
    now = clock.now()
    state = state_of(vote, now)
    if state == "scheduled":
        raise Conflict(
            __("This consultation has not opened yet. It opens at {when}."),
            when=format_datetime(vote.opens_at),
        )
    if state == "closed":
        raise Conflict(
            __("This consultation closed at {when}. Nothing was recorded."),
            when=format_datetime(vote.closes_at),
        )
    resident = actor.resident
    if actor.person is None or resident is None or resident.status != "verified":
        raise NotAllowed(__("Only verified residents can give their opinion."))
    in_scope = (
        await session.exec(
            select(func.count())
            .select_from(VoteGroup)
            .where(VoteGroup.vote_id == vote.id, VoteGroup.group_id == resident.group_id)
        )
    ).one()
    if not in_scope:
        raise NotAllowed(__("This consultation is for residents of other groups."))
    opinion = (
        await session.exec(
            select(Opinion).where(Opinion.vote_id == vote_id, Opinion.person_id == actor.person_id)
        )
    ).first()
    if opinion is None:
        try:
            async with session.begin_nested():
                opinion = Opinion(
                    vote_id=vote_id,
                    person_id=actor.person_id,
                    group_id=resident.group_id,
                    option=option,
                    comment=comment,
                    given_at=now,
                )
                session.add(opinion)
                await session.flush()
            return "given", opinion
        except IntegrityError:
            opinion = (
                await session.exec(
                    select(Opinion).where(
                        Opinion.vote_id == vote_id, Opinion.person_id == actor.person_id
                    )
                )
            ).one()
    changed = False
    if option is not None and option != opinion.option:
        opinion.option, changed = option, True
    if comment is not None and comment != opinion.comment:
        opinion.comment, changed = comment, True
    if not changed:
        return "unchanged", opinion
    opinion.changed_at = now
    session.add(opinion)
    await session.flush()
    return "changed", opinion


async def my_opinion(session: AsyncSession, actor: Actor, vote_id: int) -> Opinion | None:
    if actor.person_id is None:
        return None
    return (
        await session.exec(
            select(Opinion).where(Opinion.vote_id == vote_id, Opinion.person_id == actor.person_id)
        )
    ).first()


# --- tally and closing -------------------------------------------------------------------


@dataclass
class Tally:
    eligible: int
    ballots: int
    counts: list[int]
    # The option chosen by more than half of ALL eligible households, if any.
    majority: int | None
    # Cast by households no longer eligible at closing: kept, not counted.
    not_counted: int = 0

    @property
    def adopted(self) -> bool:
        return self.majority == 0

    @property
    def turnout(self) -> float:
        return self.ballots / self.eligible if self.eligible else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "eligible": self.eligible,
            "ballots": self.ballots,
            "counts": self.counts,
            "majority": self.majority,
            "adopted": self.adopted,
            "not_counted": self.not_counted,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Tally:
        return cls(
            eligible=data["eligible"],
            ballots=data["ballots"],
            counts=list(data["counts"]),
            majority=data["majority"],
            not_counted=data.get("not_counted", 0),
        )


def decide(eligible: int, counts: list[int]) -> int | None:
    """The option with more than half of all eligible households (Law Art. 15): exactly
    half is not enough, and ballots not cast count as not agreeing."""
    for index, count in enumerate(counts):
        if eligible and count * 2 > eligible:
            return index
    return None


async def tally(session: AsyncSession, vote: Vote) -> Tally:
    households = eligible_households(vote.id).subquery()  # type: ignore[arg-type]
    eligible = (await session.exec(select(func.count()).select_from(households))).one()
    rows = (
        await session.exec(
            select(Ballot.option, func.count())
            .join(households, households.c.id == Ballot.household_id)
            .where(Ballot.vote_id == vote.id)
            .group_by(col(Ballot.option))
        )
    ).all()
    counts = [0] * len(vote.options)
    for option, count in rows:
        if 0 <= option < len(counts):
            counts[option] = int(count)
    all_ballots = (
        await session.exec(
            select(func.count()).select_from(Ballot).where(Ballot.vote_id == vote.id)
        )
    ).one()
    ballots = sum(counts)
    return Tally(
        eligible=int(eligible),
        ballots=ballots,
        counts=counts,
        majority=decide(int(eligible), counts),
        not_counted=int(all_ballots) - ballots,
    )


async def due_closings(session: AsyncSession, now: datetime) -> list[int]:
    return list(
        (
            await session.exec(
                select(Vote.id).where(col(Vote.closed_at).is_(None), col(Vote.closes_at) <= now)
            )
        ).all()
    )  # type: ignore[arg-type]


async def close(session: AsyncSession, vote_id: int, now: datetime) -> bool:
    """Close a vote whose time is up, exactly once: the conditional UPDATE claims it, and
    the tally, the record and the result notice commit with that claim or not at all."""
    claimed = await session.exec(
        update(Vote)
        .where(
            col(Vote.id) == vote_id,
            col(Vote.closed_at).is_(None),
            col(Vote.closes_at) <= now,
        )
        .values(closed_at=now)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return False
    vote = await get(session, vote_id)
    await session.refresh(vote)
    if vote.kind == VOTE:
        await _close_vote(session, vote)
    else:
        await _close_consultation(session, vote)
    return True


async def _close_vote(session: AsyncSession, vote: Vote) -> None:
    from bot.services import notices, vote_documents

    result = await tally(session, vote)
    ward = await get_ward(session, vote.ward_id)  # type: ignore[arg-type]
    groups = await scope_groups(session, vote.id)  # type: ignore[arg-type]
    creator = await _creator_label(session, vote, ward)
    pdf = vote_documents.count_record_pdf(vote, ward, groups, result, creator)
    stored = await files.save(
        session,
        data=pdf,
        filename=f"bien-ban-kiem-phieu-{vote.id}.pdf",
        mime_type="application/pdf",
        allowed_types={"application/pdf"},
    )
    title, body = vote_documents.result_notice(vote, ward, groups, result)
    notice = await notices.publish(
        session,
        None,
        ward_id=vote.ward_id,  # type: ignore[arg-type]
        group_ids=None if vote.whole_ward else [g.id for g in groups],  # type: ignore[misc]
        category_code=await _result_category(session, vote.ward_id),  # type: ignore[arg-type]
        title=title,
        body=body,
        attachment_ids=[stored.id],  # type: ignore[list-item]
        source="vote",
        publisher_label=creator,
    )
    vote.result = result.as_dict()
    vote.result_notice_id = notice.id
    session.add(vote)
    await session.flush()
    await audit.record(
        session,
        actor="system",
        action="vote.close",
        entity_type="vote",
        entity_id=vote.id,
        ward_id=vote.ward_id,
        data={**result.as_dict(), "notice_id": notice.id, "record_file_id": stored.id},
    )


async def _close_consultation(session: AsyncSession, vote: Vote) -> None:
    from bot.services import vote_documents

    summary = await consultation_summary(session, vote)
    data = vote_documents.comments_xlsx(vote, summary)
    stored = await files.save(
        session,
        data=data,
        filename=f"y-kien-{vote.id}.xlsx",
        mime_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    vote.result = {
        "residents": summary.residents,
        "opinions": summary.opinions,
        "counts": summary.counts,
        "comments": len(summary.comments),
        "file_id": stored.id,
    }
    session.add(vote)
    await session.flush()
    if vote.creator_id is not None:
        await outbox.enqueue(
            session,
            kind=SUMMARY,
            person_ids=[vote.creator_id],
            params={"vote_id": vote.id, "file_id": stored.id},
            ref=(CONSULTATION, vote.id),  # type: ignore[arg-type]
        )
    await audit.record(
        session,
        actor="system",
        action="consultation.close",
        entity_type="consultation",
        entity_id=vote.id,
        ward_id=vote.ward_id,
        data={k: v for k, v in vote.result.items()},
    )


async def _creator_label(session: AsyncSession, vote: Vote, ward: Ward) -> str:
    # Published in the ward's language: a notice is one text for all its readers.
    if vote.creator_role == "leader" and vote.creator_group_id:
        group = await session.get(ResidentialGroup, vote.creator_group_id)
        if group is not None:
            return _("Leader of {group}", locale="vi").format(group=group.name)
    return _("People's Committee of {ward}", locale="vi").format(ward=ward.name)


RESULT_CATEGORY = "khac"


async def _result_category(session: AsyncSession, ward_id: int) -> str:
    """The "other information" category (Law Art. 11), or the ward's last one."""
    categories = list(
        (
            await session.exec(
                select(NoticeCategory)
                .where(NoticeCategory.ward_id == ward_id, col(NoticeCategory.active))
                .order_by(col(NoticeCategory.position), col(NoticeCategory.id))
            )
        ).all()
    )
    if not categories:
        raise NotFound(__("This ward has no notice categories."))
    if any(c.code == RESULT_CATEGORY for c in categories):
        return RESULT_CATEGORY
    return categories[-1].code


# --- following a vote ----------------------------------------------------------------------


@dataclass
class GroupTurnout:
    group: ResidentialGroup
    eligible: int
    voted: int


async def may_follow(actor: Actor, vote: Vote) -> bool:
    """The creator and the ward's admins see the live turnout per group."""
    return (actor.person_id is not None and actor.person_id == vote.creator_id) or (
        actor.is_admin_of(vote.ward_id)
    )


async def turnout(session: AsyncSession, actor: Actor, vote_id: int) -> list[GroupTurnout]:
    """Households eligible and households that answered, per group of the scope; never
    what they chose."""
    vote = await get(session, vote_id)
    if not await may_follow(actor, vote):
        raise NotAllowed()
    households = eligible_households(vote_id).subquery()
    eligible = dict(
        (
            await session.exec(
                select(households.c.group_id, func.count()).group_by(households.c.group_id)
            )
        ).all()
    )
    if vote.kind == VOTE:
        answered_q = (
            select(Ballot.group_id, func.count())
            .join(households, households.c.id == Ballot.household_id)
            .where(Ballot.vote_id == vote_id)
            .group_by(col(Ballot.group_id))
        )
    else:
        answered_q = (
            select(Opinion.group_id, func.count())
            .where(Opinion.vote_id == vote_id)
            .group_by(col(Opinion.group_id))
        )
        eligible = dict(
            (
                await session.exec(
                    _residents(vote_id)
                    .with_only_columns(Resident.group_id, func.count())
                    .group_by(col(Resident.group_id))
                )
            ).all()
        )
    answered = dict((await session.exec(answered_q)).all())
    return [
        GroupTurnout(g, int(eligible.get(g.id, 0)), int(answered.get(g.id, 0)))
        for g in await scope_groups(session, vote_id)
    ]


@dataclass
class HouseholdLine:
    address: str
    representative: str | None
    voted: bool


async def who_has_voted(
    session: AsyncSession, actor: Actor, vote_id: int, group_id: int
) -> list[HouseholdLine]:
    """For the group's leader only, to remind: each eligible household and whether it
    has voted — never what it chose."""
    vote = await get(session, vote_id)
    if vote.kind != VOTE or not actor.is_leader_of(group_id):
        raise NotAllowed(
            __("Only the group's leader can see which households have voted, to remind them.")
        )
    voted = set(
        (
            await session.exec(
                select(Ballot.household_id).where(
                    Ballot.vote_id == vote_id, Ballot.group_id == group_id
                )
            )
        ).all()
    )
    rows = (
        await session.exec(
            select(Household, Person.full_name)
            .join(
                Resident,
                (col(Resident.household_id) == Household.id) & col(Resident.is_representative),
                isouter=True,
            )
            .join(Person, col(Person.id) == Resident.person_id, isouter=True)
            .where(
                Household.group_id == group_id,
                col(Household.verified),
                col(Household.removed_at).is_(None),
                col(Household.group_id).in_(_scope_group_ids(vote_id)),
            )
            .order_by(col(Household.address))
        )
    ).all()
    return [HouseholdLine(h.address, name, h.id in voted) for h, name in rows]


async def open_for(session: AsyncSession, actor: Actor) -> list[Vote]:
    """Votes and consultations open now for the actor's group."""
    resident = actor.resident
    if resident is None or resident.status != "verified":
        return []
    now = clock.now()
    return list(
        (
            await session.exec(
                select(Vote)
                .join(VoteGroup, col(VoteGroup.vote_id) == Vote.id)
                .where(
                    VoteGroup.group_id == resident.group_id,
                    col(Vote.closed_at).is_(None),
                    col(Vote.opens_at) <= now,
                    col(Vote.closes_at) > now,
                )
                .order_by(col(Vote.closes_at))
            )
        ).all()
    )


async def managed_by(session: AsyncSession, actor: Actor, limit: int = 10) -> list[Vote]:
    """The latest votes the actor created, or of the wards they administer."""
    if actor.person_id is None:
        return []
    condition = col(Vote.creator_id) == actor.person_id
    wards = actor.admin_ward_ids()
    if wards:
        condition = condition | col(Vote.ward_id).in_(wards)
    return list(
        (
            await session.exec(
                select(Vote).where(condition).order_by(col(Vote.id).desc()).limit(limit)
            )
        ).all()
    )


async def led_votes(session: AsyncSession, actor: Actor, limit: int = 10) -> list[Vote]:
    """Recent votes that include a group the actor leads."""
    led = actor.led_group_ids()
    if not led:
        return []
    return list(
        (
            await session.exec(
                select(Vote)
                .where(
                    Vote.kind == VOTE,
                    col(Vote.id).in_(
                        select(VoteGroup.vote_id).where(col(VoteGroup.group_id).in_(led))
                    ),
                )
                .order_by(col(Vote.id).desc())
                .limit(limit)
            )
        ).all()
    )


# --- consultation summary and response ------------------------------------------------


@dataclass
class Summary:
    residents: int
    opinions: int
    counts: list[int]
    # (group name, option label or None, comment, given or changed at)
    comments: list[tuple[str, str | None, str, datetime]] = field(default_factory=list)


async def consultation_summary(session: AsyncSession, vote: Vote) -> Summary:
    residents = (
        await session.exec(select(func.count()).select_from(_residents(vote.id).subquery()))  # type: ignore[arg-type]
    ).one()
    rows = (
        await session.exec(
            select(Opinion, ResidentialGroup.name)
            .join(ResidentialGroup, col(ResidentialGroup.id) == Opinion.group_id)
            .where(Opinion.vote_id == vote.id)
            .order_by(col(Opinion.given_at))
        )
    ).all()
    counts = [0] * len(vote.options)
    comments = []
    for opinion, group_name in rows:
        if opinion.option is not None and 0 <= opinion.option < len(counts):
            counts[opinion.option] += 1
        if opinion.comment:
            label = vote.options[opinion.option] if opinion.option is not None else None
            comments.append(
                (group_name, label, opinion.comment, opinion.changed_at or opinion.given_at)
            )
    return Summary(int(residents), len(rows), counts, comments)


async def publish_response(session: AsyncSession, actor: Actor, vote_id: int, *, body: str) -> Any:
    """The authority's response to a closed consultation (tiếp thu, giải trình), published
    as a notice to the same scope and linked to it."""
    from bot.services import notices

    vote = await get(session, vote_id)
    if vote.kind != CONSULTATION:
        raise NotFound()
    if not await may_follow(actor, vote):
        raise NotAllowed(__("Only the consultation's creator can publish the response."))
    if vote.closed_at is None:
        raise Conflict(__("The consultation is still open. Publish the response after it closes."))
    if vote.response_notice_id is not None:
        raise Conflict(__("The response to this consultation has already been published."))
    groups = await scope_groups(session, vote_id)
    ward = await get_ward(session, vote.ward_id)  # type: ignore[arg-type]
    body = clean_text(body, max_length=notices.BODY_MAX - 1000)
    title = _("Response to the consultation: {question}", locale="vi").format(
        question=vote.question
    )[: notices.TITLE_MAX]
    head = _(
        "Response (taking in and explaining the opinions) to the consultation “{question}”, "
        "held from {start} to {end}.",
        locale="vi",
    ).format(
        question=vote.question,
        start=format_datetime(vote.opens_at, "vi"),
        end=format_datetime(vote.closes_at, "vi"),
    )
    creator_is_publisher = vote.creator_id == actor.person_id and (
        actor.is_admin_of(vote.ward_id)
        or (vote.creator_group_id is not None and actor.is_leader_of(vote.creator_group_id))
    )
    notice = await notices.publish(
        session,
        actor if creator_is_publisher or actor.is_admin_of(vote.ward_id) else None,
        ward_id=vote.ward_id,  # type: ignore[arg-type]
        group_ids=None if vote.whole_ward else [g.id for g in groups],  # type: ignore[misc]
        category_code=await _result_category(session, vote.ward_id),  # type: ignore[arg-type]
        title=title,
        body=f"{head}\n\n{body}",
        source="consultation",
        publisher_label=await _creator_label(session, vote, ward),
    )
    vote.response_notice_id = notice.id
    session.add(vote)
    await session.flush()
    await audit.record(
        session,
        actor=audit.actor_of(actor.person_id),
        action="consultation.respond",
        entity_type="consultation",
        entity_id=vote.id,
        ward_id=vote.ward_id,
        data={"notice_id": notice.id},
    )
    return notice


# --- a single writer for bursts of presses ---------------------------------------------


class BallotBox:
    """Collects presses from concurrent updates and writes them with ``cast_many``, one
    transaction per batch, one batch at a time: a burst of thousands of presses costs a
    few hundred statements instead of a dozen per press, and on SQLite the presses no
    longer queue for the write lock one by one. ``submit`` returns the press's own
    CastResult or DomainError once its batch has committed."""

    def __init__(self, factory: Any, max_batch: int = 500) -> None:
        self.factory = factory
        self.max_batch = max_batch
        self._pending: list[tuple[BallotPress, Any]] = []
        self._writer: Any = None

    async def submit(self, press: BallotPress) -> CastResult | DomainError:
        import asyncio

        future = asyncio.get_running_loop().create_future()
        self._pending.append((press, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain())
        return await future  # type: ignore[no-any-return]

    async def _drain(self) -> None:
        import asyncio
        import logging

        while self._pending:
            # Let the presses already on their way join this batch.
            await asyncio.sleep(0)
            batch = self._pending[: self.max_batch]
            del self._pending[: self.max_batch]
            try:
                async with self.factory() as session:
                    results: list[Any] = await cast_many(session, [p for p, _f in batch])
                    await session.commit()
            except Exception as exc:  # the batch is rolled back: every press is told
                logging.getLogger(__name__).exception("writing %d ballots failed", len(batch))
                results = [exc] * len(batch)
            for (_press, future), result in zip(batch, results, strict=True):
                if not future.done():
                    if isinstance(result, Exception) and not isinstance(result, DomainError):
                        future.set_exception(result)
                    else:
                        future.set_result(result)
