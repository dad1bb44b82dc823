"""wardbot backup / restore."""

from __future__ import annotations

import subprocess
from datetime import datetime
from pathlib import Path

import typer

from bot.cli.app import app, console, fail, settings
from bot.config import ConfigError


@app.command("backup")
def backup_command(
    out: Path | None = typer.Option(None, "--out", "-o", help="File to write."),
) -> None:
    """Back up the whole database (SQLite online backup, or pg_dump)."""
    from bot.backup import backup

    cfg = settings()
    out = out or Path("backups") / f"wardbot-{datetime.now():%Y%m%d-%H%M%S}.backup"
    try:
        backup(cfg.database_url, out)
    except ConfigError as exc:
        fail(str(exc), code=2)
    except subprocess.CalledProcessError as exc:
        fail(f"the backup failed ({exc}).")
    console.print(f"Backup written to {out}.")


@app.command("restore")
def restore_command(
    source: Path = typer.Argument(..., help="A file written by `wardbot backup`."),
    yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation."),
) -> None:
    """Replace the database with a backup (stop the bot first)."""
    from bot.backup import restore

    cfg = settings()
    if not yes and not typer.confirm(
        f"Replace everything in the database with {source}? This cannot be undone."
    ):
        fail("nothing was changed.", code=1)
    try:
        restore(cfg.database_url, source)
    except ConfigError as exc:
        fail(str(exc), code=2)
    except subprocess.CalledProcessError as exc:
        fail(f"the restore failed ({exc}); the database was left as it was.")
    console.print(f"Database restored from {source}.")
