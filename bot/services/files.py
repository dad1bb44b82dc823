"""Saving and reading attached files, with size and type checks."""

from __future__ import annotations

import hashlib
import mimetypes

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.i18n import __
from bot.models import StoredFile
from bot.services.errors import InvalidInput, NotFound

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
PHOTO_TYPES = {"image/jpeg", "image/png", "image/webp"}
DOCUMENT_TYPES = {
    "application/pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/msword",
    "application/vnd.ms-excel",
    "text/plain",
    "text/csv",
    *PHOTO_TYPES,
}


def guess_type(filename: str, declared: str | None = None) -> str:
    return declared or mimetypes.guess_type(filename)[0] or "application/octet-stream"


async def save(
    session: AsyncSession,
    *,
    data: bytes,
    filename: str,
    mime_type: str | None = None,
    uploaded_by_id: int | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    allowed_types: set[str] | None = None,
) -> StoredFile:
    """Store a file (the same bytes twice are stored once)."""
    if not data:
        raise InvalidInput(__("The file is empty."))
    if len(data) > max_bytes:
        raise InvalidInput(
            __("The file is too large: at most {limit} MB."), limit=max_bytes // (1024 * 1024)
        )
    mime = guess_type(filename, mime_type)
    if mime not in (allowed_types or DOCUMENT_TYPES):
        raise InvalidInput(
            __("This type of file is not accepted. Please send a PDF, a photo or a document.")
        )
    digest = hashlib.sha256(data).hexdigest()
    existing = (
        await session.exec(
            select(StoredFile).where(StoredFile.sha256 == digest, StoredFile.filename == filename)
        )
    ).first()
    if existing is not None:
        return existing
    stored = StoredFile(
        sha256=digest,
        filename=filename[:255],
        mime_type=mime,
        size=len(data),
        data=data,
        uploaded_by_id=uploaded_by_id,
    )
    session.add(stored)
    await session.flush()
    return stored


async def get(session: AsyncSession, file_id: int) -> StoredFile:
    stored = await session.get(StoredFile, file_id)
    if stored is None:
        raise NotFound()
    return stored


async def many(session: AsyncSession, file_ids: list[int]) -> list[StoredFile]:
    if not file_ids:
        return []
    rows = (await session.exec(select(StoredFile).where(col(StoredFile.id).in_(file_ids)))).all()
    by_id = {row.id: row for row in rows}
    return [by_id[i] for i in file_ids if i in by_id]


def is_photo(stored: StoredFile) -> bool:
    return stored.mime_type in PHOTO_TYPES
