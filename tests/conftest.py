"""Shared fixtures: a migrated database on SQLite and, where a server is available
(always in CI), on PostgreSQL; the sample ward loaded into it."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import clock
from bot.db import create_engine, migrate_sync, session_factory

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
EXAMPLE_WARD = ROOT / "examples" / "ward.yaml"
IN_CI = os.environ.get("CI", "").lower() == "true"
POSTGRES_ADMIN_URL = os.environ.get(
    "WARDBOT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("WARDBOT_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


E2E_DIR = ROOT / "tests" / "e2e"
# Fixtures that start a stack on PostgreSQL and Redis whatever WARDBOT_E2E_MODE says.
_PRODUCTION_FIXTURES = {"production", "workers"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark each test by where it lives and what it needs, so `-m` can pick a part
    (`make test-fast`: not e2e, not browser, not postgres): ``e2e`` for the journeys
    in tests/e2e (real bot processes), ``postgres`` and ``redis`` for those that need
    the servers. ``browser`` is set by tests/e2e/test_browser.py itself."""
    production_mode = os.environ.get("WARDBOT_E2E_MODE") == "production"
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        callspec = getattr(item, "callspec", None)
        params = callspec.params if callspec is not None else {}
        e2e = E2E_DIR in item.path.parents
        production = bool(fixtures & _PRODUCTION_FIXTURES) or (
            e2e and production_mode and "stack" in fixtures
        )
        if e2e:
            item.add_marker(pytest.mark.e2e)
        if params.get("database_url") == "postgresql" or "postgres_database" in fixtures:
            item.add_marker(pytest.mark.postgres)
        if production:
            item.add_marker(pytest.mark.postgres)
            item.add_marker(pytest.mark.redis)


def skip_or_fail(reason: str) -> None:
    """Skip on a developer machine without the service; in CI a skip would hide a gap."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: this test must run)")
    pytest.skip(reason)


def _postgres_available() -> str | None:
    import asyncpg

    async def probe() -> str | None:
        try:
            conn = await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=3)
        except (OSError, asyncpg.PostgresError) as exc:
            return str(exc)
        await conn.close()
        return None

    return asyncio.run(probe())


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("db") / "template.db"
    migrate_sync(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A throwaway database, migrated once; several test runs may share the server."""
    problem = _postgres_available()
    if problem:
        skip_or_fail(f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL}: {problem}")
    import asyncpg

    name = f"wardbot_test_{uuid.uuid4().hex[:12]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(POSTGRES_ADMIN_URL)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        migrate_sync(url)
        yield url
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> Iterator[str]:
    if request.param == "sqlite":
        path = tmp_path / "wardbot.db"
        shutil.copy(sqlite_template, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    url = request.getfixturevalue("postgres_database")
    yield url
    asyncio.run(_truncate(url))


async def _truncate(url: str) -> None:
    engine = create_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    await engine.dispose()


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return session_factory(engine)


@pytest.fixture
async def session(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with factory() as session:
        yield session


@pytest.fixture
async def ward(session: AsyncSession):  # type: ignore[no-untyped-def]
    from bot.services.wards import get_ward_by_code, load_ward_file

    await load_ward_file(session, EXAMPLE_WARD)
    await session.commit()
    return await get_ward_by_code(session, "BADINH")


@pytest.fixture(autouse=True)
def _reset_clock() -> Iterator[None]:
    yield
    clock.reset()
