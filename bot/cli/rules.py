"""wardbot rules and wardbot calendar: the legal rules and the working days the bot applies."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import typer
from rich.table import Table

from bot import rules
from bot.cli.app import app, console, err, fail, run_async, settings
from bot.i18n import LANGUAGES, _


def _day(text: str | None) -> date:
    if text is None:
        return rules.today()
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail(f"--on must be a date as YYYY-MM-DD, not {text!r}.", code=2)
        raise


def _check(fmt: str, lang: str) -> None:
    if fmt not in ("table", "json"):
        fail("--format is table or json.", code=2)
    if lang not in LANGUAGES:
        fail(f"--lang is one of {', '.join(LANGUAGES)}.", code=2)


async def _ward_settings(code: str) -> Any:
    from bot.db import create_engine, session_factory
    from bot.services.wards import get_ward_by_code, ward_settings

    engine = create_engine(settings().database_url)
    try:
        async with session_factory(engine)() as session:
            return ward_settings(await get_ward_by_code(session, code))
    finally:
        await engine.dispose()


@app.command("rules")
def rules_command(
    ward: str | None = typer.Option(
        None, "--ward", help="A ward's code: its ward file's values where the law allows them."
    ),
    on: str | None = typer.Option(None, "--on", help="The day, YYYY-MM-DD; today by default."),
    fmt: str = typer.Option("table", "--format", help="table or json."),
    lang: str = typer.Option("vi", "--lang", help="Language of the table: vi or en."),
) -> None:
    """The rules in force on a day, each with its article, value and dates."""
    _check(fmt, lang)
    day = _day(on)
    ward_rules = run_async(_ward_settings(ward)) if ward else None
    resolved = rules.in_force(day, ward=ward_rules)
    if ward_rules is not None:
        for refusal in rules.check_overrides(ward_rules.rule_overrides(), on=day):
            err.print(f"[yellow]Warning:[/yellow] {refusal.message}", highlight=False)
    for amendment in rules.pending(day):
        err.print(
            f"[yellow]Warning:[/yellow] {amendment.document} (in force from "
            f"{amendment.effective_from:%d/%m/%Y}) is not yet encoded; it may change: "
            f"{', '.join(a + '*' if a.endswith('.') else a for a in amendment.affects)}.",
            highlight=False,
        )
    if fmt == "json":
        payload = {
            "ward": ward,
            "on": day.isoformat(),
            "rules": [r.to_json() for r in resolved],
        }
        typer.echo(json.dumps(payload, ensure_ascii=False, indent=2))
        return

    from bot.rules import texts

    title = _("Rules in force on {day}", locale=lang).format(day=f"{day:%d/%m/%Y}")
    if ward:
        title += f" — {ward}"
    table = Table(title=title, show_lines=False)
    table.add_column(_("Rule", locale=lang))
    table.add_column(_("Value in force", locale=lang))
    table.add_column(_("Legal basis", locale=lang))
    table.add_column(_("In force", locale=lang))
    table.add_column(_("Set by", locale=lang))
    table.add_column("id", style="dim")
    for item in resolved:
        table.add_row(
            texts.title(item.id, lang),
            texts.show_value(item, lang),
            texts.show_source(item, lang),
            texts.show_period(item, lang),
            texts.show_origin(item, lang),
            item.id,
        )
    console.print(table)


@app.command("calendar")
def calendar_command(
    year: int = typer.Option(..., "--year", help="The year, e.g. 2026."),
    fmt: str = typer.Option("table", "--format", help="table or json."),
    lang: str = typer.Option("vi", "--lang", help="Language of the table: vi or en."),
) -> None:
    """Official days off and make-up working days of a year, with their sources."""
    _check(fmt, lang)
    if not 1995 <= year <= 2100:
        fail("--year must be between 1995 and 2100.", code=2)
    cal = rules.year_calendar(year)
    # The year asked for, and the coming one when deadlines now run into it.
    unofficial = [y for y in (year, year + 1) if not rules.is_official(y)]
    if year != rules.today().year:
        unofficial = [y for y in unofficial if y == year]
    for missing in unofficial:
        err.print(
            "[yellow]"
            + _("Warning", locale=lang)
            + ":[/yellow] "
            + _(
                "the {year} calendar of days off has not been officially published: "
                "estimates are used",
                locale=lang,
            ).format(year=missing),
            highlight=False,
        )
    if fmt == "json":
        typer.echo(json.dumps(cal.to_json(), ensure_ascii=False, indent=2))
        return
    table = Table(title=_("Days off in {year}", locale=lang).format(year=year))
    table.add_column(_("Date", locale=lang))
    table.add_column(_("Day", locale=lang))
    table.add_column(_("Source", locale=lang))
    for day in cal.days_off:
        mark = " " + _("(uncertain)", locale=lang) if day.uncertain else ""
        table.add_row(f"{day.date:%d/%m/%Y}", day.name + mark, day.to_json()["source"])
    for day in cal.working_weekends:
        mark = " " + _("(uncertain)", locale=lang) if day.uncertain else ""
        table.add_row(
            f"{day.date:%d/%m/%Y}",
            _("Working day", locale=lang) + f": {day.name}{mark}",
            day.to_json()["source"],
        )
    for day, reason in cal.removed:
        table.add_row(
            f"{day.date:%d/%m/%Y}",
            _("Not a day off", locale=lang) + f": {day.name} ({reason})",
            "",
        )
    console.print(table)
    for source in cal.sources:
        console.print(f"[dim]{source.id}[/dim]: {source.title}", highlight=False)
