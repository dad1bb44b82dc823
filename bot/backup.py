"""Backups: SQLite's online backup API, or pg_dump / pg_restore for PostgreSQL.

Attachments are stored in the database, so one file brings back every notice, vote,
ticket and file.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url

from bot.config import ConfigError, normalise_database_url
from bot.db import is_sqlite


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise ConfigError("An in-memory SQLite database cannot be backed up.")
    return Path(database)


def _pg_args(url: str) -> tuple[list[str], dict[str, str]]:
    parsed = make_url(url)
    args = ["--dbname", parsed.database or "postgres"]
    if parsed.host:
        args += ["--host", parsed.host]
    if parsed.port:
        args += ["--port", str(parsed.port)]
    if parsed.username:
        args += ["--username", parsed.username]
    env = dict(os.environ)
    if parsed.password:
        # Through the environment: a password on the command line is visible to `ps`.
        env["PGPASSWORD"] = parsed.password
    return args, env


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise ConfigError(f"{name} is not installed (Debian: apt install postgresql-client).")
    return path


def backup(url: str, out: Path) -> Path:
    url = normalise_database_url(url)
    out.parent.mkdir(parents=True, exist_ok=True)
    if is_sqlite(url):
        source = sqlite3.connect(_sqlite_path(url))
        target = sqlite3.connect(out)
        try:
            # Consistent even while the bot is writing.
            source.backup(target)
        finally:
            target.close()
            source.close()
        return out
    args, env = _pg_args(url)
    subprocess.run(
        [_tool("pg_dump"), "--format=custom", "--no-owner", "--file", str(out), *args],
        check=True,
        env=env,
    )
    return out


def restore(url: str, source: Path) -> None:
    """Replace the database's content with the backup's (the bot must be stopped)."""
    url = normalise_database_url(url)
    if not source.is_file():
        raise ConfigError(f"{source} does not exist.")
    if is_sqlite(url):
        backup_db = sqlite3.connect(source)
        target = sqlite3.connect(_sqlite_path(url))
        try:
            backup_db.backup(target)
        finally:
            target.close()
            backup_db.close()
        return
    args, env = _pg_args(url)
    subprocess.run(
        [
            _tool("pg_restore"),
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            *args,
            str(source),
        ],
        check=True,
        env=env,
    )
