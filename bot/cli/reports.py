"""wardbot report (half-year and annual reports) and wardbot audit (the trail)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from bot.cli.app import app, console, err, fail, run_async, settings
from bot.db import create_engine, session_factory
from bot.i18n import format_datetime
from bot.models import Ward
from bot.services import audit, reports
from bot.services.errors import InvalidInput
from bot.services.wards import get_ward_by_code, list_wards


async def pick_ward(session, code: str | None) -> Ward:  # type: ignore[no-untyped-def]
    """The ward named by --ward, or the only one the database holds."""
    if code:
        return await get_ward_by_code(session, code)
    wards = await list_wards(session)
    if len(wards) != 1:
        fail(
            "name the ward with --ward CODE"
            + (f" (one of {', '.join(w.code for w in wards)})." if wards else "; none is loaded."),
            code=2,
        )
    return wards[0]


@app.command()
def report(
    period: str = typer.Option(
        ...,
        "--period",
        "-p",
        help="2025-H1, 2025-H2, 2025, 2025-Q1, 2025-07 or 2025-01-01..2025-03-31.",
    ),
    out: Path = typer.Option(..., "--out", "-o", help="The workbook to write (.xlsx)."),
    pdf: Path | None = typer.Option(None, "--pdf", help="Also write the PDF summary here."),
    charts: Path | None = typer.Option(None, "--charts", help="Also write the charts (PNG) here."),
    ward: str | None = typer.Option(None, "--ward", help="The ward's code; needed if several."),
) -> None:
    """Write the half-year or annual report of a ward: workbook, charts, PDF summary."""
    cfg = settings()
    if out.suffix.lower() != ".xlsx":
        fail("--out must name an .xlsx file.", code=2)
    try:
        parsed = reports.parse_period(period)
    except InvalidInput as exc:
        from bot.i18n import get_i18n

        with get_i18n().use_locale("en"):
            fail(exc.render(), code=2)
        raise

    async def go():  # type: ignore[no-untyped-def]
        from bot.services import report_files

        engine = create_engine(cfg.database_url)
        try:
            async with session_factory(engine)() as session:
                row = await pick_ward(session, ward)
                return await report_files.produce(session, row, parsed)
        finally:
            await engine.dispose()

    files = run_async(go)
    out.write_bytes(files.xlsx)
    console.print(f"Workbook written to {out}.")
    if pdf is not None:
        pdf.write_bytes(files.pdf)
        console.print(f"PDF summary written to {pdf}.")
    if charts is not None:
        charts.mkdir(parents=True, exist_ok=True)
        for chart in files.charts:
            (charts / f"{chart.name}.png").write_bytes(chart.png)
        console.print(f"{len(files.charts)} charts written to {charts}/.")
    t = files.report.tickets
    console.print(
        f"{files.report.ward_name}, {parsed.label}: {files.report.notices.total} notices, "
        f"{t.total.received} tickets ({t.total.answered} answered, "
        f"{t.total.overdue_now} overdue now)."
    )


audit_app = typer.Typer(help="The tamper-evident audit trail.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def audit_verify() -> None:
    """Recompute the hash chain; exit code 1 and the first altered entry if it is broken."""
    cfg = settings()

    async def go() -> audit.ChainReport:
        engine = create_engine(cfg.database_url)
        try:
            async with session_factory(engine)() as session:
                return await audit.verify(session)
        finally:
            await engine.dispose()

    result = run_async(go)
    if result.ok:
        console.print(f"The audit trail is intact: {result.entries} entries verified.")
        return
    err.print(
        f"[red]The audit trail is BROKEN at entry {result.first_bad_id}:[/red] {result.reason}. "
        f"Entries before it ({result.entries - 1}) are intact.",
        highlight=False,
    )
    raise typer.Exit(1)


@audit_app.command("show")
def audit_show(
    limit: int = typer.Option(20, "--limit", "-n", min=1, max=10000, help="How many entries."),
    ward: str | None = typer.Option(None, "--ward", help="Only this ward's entries."),
) -> None:
    """The latest entries of the audit trail, newest first."""
    cfg = settings()

    async def go():  # type: ignore[no-untyped-def]
        engine = create_engine(cfg.database_url)
        try:
            async with session_factory(engine)() as session:
                ward_id = (await get_ward_by_code(session, ward)).id if ward else None
                return await audit.latest(session, limit=limit, ward_id=ward_id)
        finally:
            await engine.dispose()

    entries = run_async(go)
    table = Table("#", "at", "actor", "action", "entity", "hash")
    for entry in entries:
        table.add_row(
            str(entry.id),
            format_datetime(entry.at, "en"),
            entry.actor,
            entry.action,
            f"{entry.entity_type}:{entry.entity_id or ''}",
            entry.hash[:12],
        )
    console.print(table)
