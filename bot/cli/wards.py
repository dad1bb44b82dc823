"""wardbot init: load a ward from its YAML file."""

from __future__ import annotations

from pathlib import Path

import typer

from bot.cli.app import app, console, err, fail, run_async, settings
from bot.db import create_engine, migrate, session_factory, transaction
from bot.services.wards import load_ward_file


@app.command()
def init(
    config: Path | None = typer.Option(
        None, "--config", "-c", help="Ward file (YAML); defaults to WARDBOT_WARD_CONFIG."
    ),
) -> None:
    """Create or update a ward from its file; safe to run again."""
    cfg = settings()
    path = config or cfg.ward_config
    if path is None:
        fail("name the ward file with --config FILE or WARDBOT_WARD_CONFIG.", code=2)
    assert path is not None
    if not path.is_file():
        fail(f"{path} does not exist.", code=2)

    async def go():  # type: ignore[no-untyped-def]
        await migrate(cfg.database_url)
        engine = create_engine(cfg.database_url)
        try:
            async with transaction(session_factory(engine)) as session:
                return await load_ward_file(session, path)
        finally:
            await engine.dispose()

    report = run_async(go)
    for warning in report.warnings:
        err.print(f"[yellow]Warning:[/yellow] {warning}", highlight=False)
    if not report.changed:
        console.print(f"Ward {report.ward_code} is already up to date.")
        return
    console.print(f"Ward {report.ward_code} loaded.")
    for label, bucket in (
        ("created", report.created),
        ("updated", report.updated),
        ("deactivated", report.deactivated),
    ):
        if bucket:
            parts = ", ".join(f"{n} {kind}" for kind, n in sorted(bucket.items()))
            console.print(f"  {label}: {parts}")
