"""The Alembic revisions build exactly the schema the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel

import bot.models  # noqa: F401


async def test_models_and_migrations_agree(engine: AsyncEngine) -> None:
    def diff(connection) -> list:  # type: ignore[no-untyped-def]
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, SQLModel.metadata)

    async with engine.connect() as connection:
        differences = await connection.run_sync(diff)
    assert differences == [], "run `alembic revision --autogenerate` and review it"
