"""wardbot tickets-export: every ticket of a ward as CSV, for the half-year and annual
reviews. No personal data: a ticket says only whether it is named, anonymous or
confidential (tố cáo)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import typer

from bot.cli.app import app, console, run_async, settings
from bot.db import create_engine, session_factory
from bot.services import tickets
from bot.services.wards import get_ward_by_code


def rows_to_csv(rows: list[dict[str, object]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(tickets.EXPORT_COLUMNS))
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


@app.command("tickets-export")
def tickets_export(
    ward: str = typer.Option(..., "--ward", help="The ward's code, e.g. BADINH."),
    out: Path | None = typer.Option(None, "--out", "-o", help="CSV file; stdout if not given."),
) -> None:
    """Export a ward's tickets (codes, types, offices, deadlines, ratings) as CSV."""
    cfg = settings()

    async def go() -> str:
        engine = create_engine(cfg.database_url)
        try:
            async with session_factory(engine)() as session:
                row = await get_ward_by_code(session, ward)
                return rows_to_csv(await tickets.export_rows(session, row.id))  # type: ignore[arg-type]
        finally:
            await engine.dispose()

    text = run_async(go)
    if out is None:
        typer.echo(text, nl=False)
        return
    out.write_text(text, encoding="utf-8")
    console.print(f"{text.count(chr(10)) - 1} tickets written to {out}.")
