"""The tamper-evident audit trail.

Each entry's hash is the SHA-256 of its canonical JSON, which includes the previous
entry's hash: changing, inserting or deleting any row breaks every hash after it.
Entries are appended in the same transaction as the change they record.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import clock
from bot.models import AuditEntry

GENESIS = "0" * 64
# Any constant works; it names the PostgreSQL advisory lock that serialises appends.
_CHAIN_LOCK_KEY = 0x57A2D_A0D1


def canonical(entry: AuditEntry) -> bytes:
    body = {
        "id": entry.id,
        "at": _iso(entry.at),
        "actor": entry.actor,
        "action": entry.action,
        "entity_type": entry.entity_type,
        "entity_id": entry.entity_id,
        "ward_id": entry.ward_id,
        "data": entry.data,
        "prev_hash": entry.prev_hash,
    }
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def _iso(value: datetime) -> str:
    # Microseconds are dropped: not every database keeps them identically.
    return value.replace(microsecond=0).isoformat()


def actor_of(person_id: int | None) -> str:
    return f"person:{person_id}" if person_id is not None else "system"


async def record(
    session: AsyncSession,
    *,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: Any = None,
    ward_id: int | None = None,
    data: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry; call it inside the transaction that makes the change."""
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        # Two workers must not chain to the same previous entry.
        await session.exec(text("SELECT pg_advisory_xact_lock(:k)"), params={"k": _CHAIN_LOCK_KEY})
    last = (
        await session.exec(select(AuditEntry).order_by(col(AuditEntry.id).desc()).limit(1))
    ).first()
    entry = AuditEntry(
        id=(last.id + 1) if last and last.id is not None else 1,
        at=clock.now().replace(microsecond=0),
        actor=actor,
        action=action,
        entity_type=entity_type,
        entity_id=None if entity_id is None else str(entity_id),
        ward_id=ward_id,
        data=json.loads(json.dumps(data or {}, ensure_ascii=False, default=str)),
        prev_hash=last.hash if last else GENESIS,
        hash="",
    )
    entry.hash = hashlib.sha256(canonical(entry)).hexdigest()
    session.add(entry)
    await session.flush()
    return entry


@dataclass(frozen=True)
class ChainReport:
    entries: int
    first_bad_id: int | None
    reason: str | None

    @property
    def ok(self) -> bool:
        return self.first_bad_id is None


async def verify(session: AsyncSession, batch: int = 5000) -> ChainReport:
    """Recompute the chain; name the first entry that was altered, inserted or removed."""
    prev_hash = GENESIS
    expected_id = 1
    count = 0
    last_id = 0
    while True:
        rows = (
            await session.exec(
                select(AuditEntry)
                .where(col(AuditEntry.id) > last_id)
                .order_by(col(AuditEntry.id))
                .limit(batch)
            )
        ).all()
        if not rows:
            return ChainReport(count, None, None)
        for entry in rows:
            count += 1
            if entry.id != expected_id:
                return ChainReport(count, entry.id, f"entry {expected_id} is missing")
            if entry.prev_hash != prev_hash:
                return ChainReport(count, entry.id, "link to the previous entry is broken")
            if hashlib.sha256(canonical(entry)).hexdigest() != entry.hash:
                return ChainReport(count, entry.id, "content does not match its hash")
            prev_hash = entry.hash
            expected_id += 1
            last_id = entry.id


async def latest(
    session: AsyncSession, *, limit: int = 20, ward_id: int | None = None
) -> list[AuditEntry]:
    """The newest entries first, optionally of one ward."""
    query = select(AuditEntry).order_by(col(AuditEntry.id).desc()).limit(limit)
    if ward_id is not None:
        query = query.where(AuditEntry.ward_id == ward_id)
    return list((await session.exec(query)).all())
