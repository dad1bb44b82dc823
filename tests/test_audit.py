"""The audit chain: appended in order, and any change to a row is caught."""

from __future__ import annotations

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.services import audit
from bot.services.wards import load_ward_file
from tests.conftest import EXAMPLE_WARD


async def test_the_chain_verifies_and_catches_a_tampered_row(session: AsyncSession) -> None:
    await load_ward_file(session, EXAMPLE_WARD)
    for i in range(5):
        await audit.record(
            session, actor="cli", action="test.step", entity_type="test", entity_id=i, data={"i": i}
        )
    await session.commit()
    report = await audit.verify(session)
    assert report.ok and report.entries == 6

    await session.exec(  # type: ignore[call-overload]
        text("UPDATE audit_entry SET actor = 'person:999' WHERE id = 4")
    )
    await session.commit()
    report = await audit.verify(session)
    assert (report.ok, report.first_bad_id) == (False, 4)


async def test_a_deleted_entry_is_caught(session: AsyncSession) -> None:
    for _ in range(3):
        await audit.record(session, actor="cli", action="test.step", entity_type="test")
    await session.commit()
    await session.exec(text("DELETE FROM audit_entry WHERE id = 2"))  # type: ignore[call-overload]
    await session.commit()
    report = await audit.verify(session)
    assert (report.ok, report.first_bad_id) == (False, 3)
