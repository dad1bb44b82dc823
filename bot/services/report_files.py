"""A report as files: the workbook (a sheet per topic, charts embedded), the charts as
PNG, and a one-to-two-page PDF summary in Vietnamese to attach to what the ward sends
upward. No personal data goes into any of them: only counts, names of offices, groups
and categories, and notice titles (which are public)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display on a server; must precede pyplot

import matplotlib.pyplot as plt
from fpdf import FPDF, FontFace
from openpyxl import Workbook
from openpyxl.drawing.image import Image as XlImage
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.i18n import _, format_date, format_datetime, get_i18n
from bot.models import Ward
from bot.services import reports
from bot.services.people import Actor
from bot.services.reports import Breakdown, Report

FONT_DIR = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
BOLD = Font(bold=True)


@dataclass
class Chart:
    name: str
    title: str
    png: bytes


@dataclass
class ReportFiles:
    report: Report
    xlsx: bytes
    pdf: bytes
    charts: list[Chart]

    @property
    def stem(self) -> str:
        return f"bao-cao-{self.report.ward_code.lower()}-{self.report.period.label}"


async def produce(
    session: AsyncSession,
    ward: Ward,
    period: reports.Period,
    *,
    actor: Actor | None = None,
    language: str = "vi",
    now: datetime | None = None,
) -> ReportFiles:
    """Compute and render; every label in ``language`` (Vietnamese for what goes upward)."""
    with get_i18n().use_locale(language):
        report = await reports.build(session, ward, period, actor=actor, now=now)
        charts = make_charts(report)
        return ReportFiles(report, make_xlsx(report, charts), make_pdf(report, charts), charts)


# --- numbers as text -----------------------------------------------------------------------


def pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%".replace(".", ",")


def num(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:.{digits}f}".replace(".", ",")


def period_text(report: Report) -> str:
    return _("from {start} to {end}").format(
        start=format_date(report.period.start), end=format_date(report.period.end)
    )


# --- charts ---------------------------------------------------------------------------


def _png(fig: Any) -> bytes:
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    return buffer.getvalue()


def _short(text: str, limit: int = 38) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def make_charts(report: Report) -> list[Chart]:
    charts = []
    t = report.tickets
    # DejaVu Sans (matplotlib's default) has every Vietnamese letter.
    plt.rcParams["font.family"] = "DejaVu Sans"

    fig, ax = plt.subplots(figsize=(8, 4.2))
    labels = [_short(b.name, 24) for b in t.by_type]
    xs = range(len(labels))
    ax.bar([x - 0.2 for x in xs], [b.received for b in t.by_type], 0.4, label=_("Received"))
    ax.bar([x + 0.2 for x in xs], [b.answered for b in t.by_type], 0.4, label=_("Answered"))
    ax.set_xticks(list(xs), labels, rotation=15, ha="right")
    ax.set_ylabel(_("Tickets"))
    ax.set_title(_("Tickets by type"))
    ax.legend()
    charts.append(Chart("tickets-by-type", _("Tickets by type"), _png(fig)))

    offices = [b for b in t.by_office if b.received]
    fig, ax = plt.subplots(figsize=(8, max(2.5, 0.5 * len(offices) + 1.2)))
    ax.barh(
        [_short(b.name) for b in offices],
        [round((b.on_time_pct or 0) * 100, 1) for b in offices],
        color="#2e7d32",
    )
    ax.set_xlim(0, 100)
    ax.invert_yaxis()
    ax.set_xlabel(_("Answered on time (%)"))
    ax.set_title(_("Answered on time, by office"))
    for i, b in enumerate(offices):
        ax.text(1, i, f"{pct(b.on_time_pct)} ({b.on_time}/{b.answered})", va="center", color="w")
    charts.append(Chart("on-time-by-office", _("Answered on time, by office"), _png(fig)))

    fig, ax = plt.subplots(figsize=(6, 3.5))
    stars = list(range(1, 6))
    ax.bar([f"{s}★" for s in stars], [t.ratings.get(s, 0) for s in stars], color="#f9a825")
    ax.set_ylabel(_("Ratings"))
    ax.set_title(_("Satisfaction (mean {mean} of 5)").format(mean=num(t.total.mean_rating)))
    charts.append(Chart("satisfaction", _("Satisfaction"), _png(fig)))

    n = report.notices
    fig, ax = plt.subplots(figsize=(8, max(2.5, 0.45 * len(n.by_category) + 1.2)))
    ax.barh([_short(name) for name, _c in n.by_category], [c for _n, c in n.by_category])
    ax.invert_yaxis()
    ax.set_xlabel(_("Notices"))
    ax.set_title(_("Notices by category"))
    charts.append(Chart("notices-by-category", _("Notices by category"), _png(fig)))
    return charts


# --- the workbook ---------------------------------------------------------------------------


def _header(ws: Any, row: int, values: list[str]) -> None:
    for i, value in enumerate(values, start=1):
        cell = ws.cell(row=row, column=i, value=value)
        cell.font = BOLD
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")


def _widths(ws: Any, widths: list[int]) -> None:
    for i, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width


def _title(ws: Any, report: Report, title: str) -> int:
    ws.cell(row=1, column=1, value=title).font = Font(bold=True, size=13)
    ws.cell(row=2, column=1, value=f"{report.ward_name} — {period_text(report)}")
    return 4


def _breakdown_sheet(
    wb: Workbook, report: Report, title: str, first: str, rows: list[Breakdown]
) -> None:
    ws = wb.create_sheet(title[:31])
    row = _title(ws, report, title)
    _header(
        ws,
        row,
        [
            first,
            _("Received"),
            _("Answered"),
            _("Declined"),
            _("Answered on time"),
            _("On time %"),
            _("Overdue now"),
            _("Ratings"),
            _("Mean rating"),
        ],
    )
    for b in rows:
        row += 1
        _breakdown_row(ws, row, b.name, b)
    row += 1
    _breakdown_row(ws, row, _("Total"), report.tickets.total)
    for cell in ws[row]:
        cell.font = BOLD
    _widths(ws, [44, 11, 11, 11, 13, 11, 11, 10, 11])
    ws.freeze_panes = "B5"


def _breakdown_row(ws: Any, row: int, name: str, b: Breakdown) -> None:
    values: list[Any] = [
        name,
        b.received,
        b.answered,
        b.declined,
        b.on_time,
        b.on_time_pct,
        b.overdue_now,
        b.rated,
        round(b.mean_rating, 2) if b.mean_rating is not None else None,
    ]
    for i, value in enumerate(values, start=1):
        cell = ws.cell(row=row, column=i, value=value)
        if i == 6:
            cell.number_format = "0.0%"


def make_xlsx(report: Report, charts: list[Chart]) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = _("Summary")[:31]
    row = _title(ws, report, _("Report on grassroots democracy through wardbot"))
    _header(ws, row, [_("Indicator"), _("Value"), _("Code")])
    for key, label, value, fmt in summary_lines(report):
        row += 1
        ws.cell(row=row, column=1, value=label)
        cell = ws.cell(row=row, column=2, value=value)
        if fmt:
            cell.number_format = fmt
        ws.cell(row=row, column=3, value=key)
    _widths(ws, [52, 16, 22])

    n = report.notices
    ws = wb.create_sheet(_("Notices")[:31])
    row = _title(ws, report, _("Disclosure notices"))
    _header(ws, row, [_("Category"), _("Notices")])
    for name, count in n.by_category:
        row += 1
        _put(ws, row, [name, count])
    row += 1
    _put(ws, row, [_("Total"), n.total], bold=True)
    row += 2
    _header(ws, row, [_("Scope (group)"), _("Notices")])
    for name, count in n.by_group:
        row += 1
        _put(ws, row, [name, count])
    row += 2
    _header(
        ws,
        row,
        [
            _("Notice"),
            _("Category"),
            _("Published"),
            _("Recipients"),
            _("Delivered"),
            _("Read"),
            _("Read %"),
        ],
    )
    for line in n.lines:
        row += 1
        _put(
            ws,
            row,
            [
                line.title,
                line.category,
                format_date(line.published_at),
                line.recipients,
                line.delivered,
                line.read,
                line.read / line.delivered if line.delivered else None,
            ],
        )
        ws.cell(row=row, column=7).number_format = "0.0%"
    row += 1
    _put(
        ws,
        row,
        [_("Total"), "", "", n.recipients, n.delivered, n.read, n.read_pct],
        bold=True,
    )
    ws.cell(row=row, column=7).number_format = "0.0%"
    _widths(ws, [50, 34, 12, 12, 12, 10, 10])

    t = report.tickets
    _breakdown_sheet(wb, report, _("Tickets by type"), _("Type"), t.by_type)
    _breakdown_sheet(wb, report, _("Tickets by category"), _("Category"), t.by_category)
    _breakdown_sheet(wb, report, _("Tickets by office"), _("Office"), t.by_office)
    _breakdown_sheet(wb, report, _("Tickets by group"), _("Group"), t.by_group)

    ws = wb.create_sheet(_("Satisfaction")[:31])
    row = _title(ws, report, _("Satisfaction with the answers"))
    _header(ws, row, [_("Stars"), _("Ratings")])
    for stars in range(1, 6):
        row += 1
        _put(ws, row, [stars, t.ratings.get(stars, 0)])
    row += 1
    _put(ws, row, [_("Total"), sum(t.ratings.values())], bold=True)
    row += 1
    _put(
        ws, row, [_("Mean rating"), round(t.total.mean_rating, 2) if t.total.mean_rating else None]
    )
    row += 2
    _put(ws, row, [_("Tickets reopened"), t.reopened_tickets])
    row += 1
    _put(ws, row, [_("Times reopened"), t.reopen_count])
    _widths(ws, [30, 12])

    ws = wb.create_sheet(_("Votes")[:31])
    row = _title(ws, report, _("Votes and consultations"))
    if not report.votes.available:
        ws.cell(row=row, column=1, value=_("Votes are not available in this installation."))
    else:
        _header(
            ws,
            row,
            [
                _("Vote question"),
                _("Scope"),
                _("Closes"),
                _("Households eligible"),
                _("Ballots"),
                _("Turnout"),
                _("Agree"),
                _("Result"),
            ],
        )
        for v in report.votes.votes:
            row += 1
            _put(
                ws,
                row,
                [
                    v.title,
                    v.scope,
                    format_date(v.closes_at),
                    v.eligible,
                    v.ballots,
                    v.turnout,
                    v.agree,
                    adopted_text(v.adopted),
                ],
            )
            ws.cell(row=row, column=6).number_format = "0.0%"
        row += 2
        _header(
            ws,
            row,
            [
                _("Subject of the consultation"),
                _("Scope"),
                _("Residents in scope"),
                _("Opinions"),
                _("Written comments"),
                _("Response published"),
            ],
        )
        for c in report.votes.consultations:
            row += 1
            _put(
                ws,
                row,
                [
                    c.title,
                    c.scope,
                    c.residents,
                    c.opinions,
                    c.comments,
                    _("Yes") if c.responded else (_("No") if c.closed else _("Still open")),
                ],
            )
    _widths(ws, [50, 24, 12, 12, 10, 10, 10, 18])

    ws = wb.create_sheet(_("Charts")[:31])
    anchor = 1
    for chart in charts:
        image = XlImage(io.BytesIO(chart.png))
        ws.add_image(image, f"A{anchor}")
        anchor += int(image.height / 20) + 2

    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _put(ws: Any, row: int, values: list[Any], *, bold: bool = False) -> None:
    for i, value in enumerate(values, start=1):
        cell = ws.cell(row=row, column=i, value=value)
        if bold:
            cell.font = BOLD


def adopted_text(value: bool | None) -> str:
    if value is None:
        return _("Still open")
    return _("Adopted") if value else _("Not adopted")


def summary_lines(report: Report) -> list[tuple[str, str, Any, str | None]]:
    """(code, label, value, number format): the summary sheet, and the test's anchor."""
    n, t = report.notices, report.tickets
    lines: list[tuple[str, str, Any, str | None]] = [
        ("ward", _("Ward"), report.ward_name, None),
        ("period", _("Period"), period_text(report), None),
        ("notices", _("Notices published"), n.total, None),
        ("notice_recipients", _("Notice messages queued"), n.recipients, None),
        ("notice_delivered", _("Notice messages delivered"), n.delivered, None),
        ("notice_delivered_pct", _("Delivered %"), n.delivered_pct, "0.0%"),
        ("notice_read", _("Notices marked as read"), n.read, None),
        ("notice_read_pct", _("Read % (of delivered)"), n.read_pct, "0.0%"),
        ("tickets", _("Tickets received"), t.total.received, None),
        ("tickets_answered", _("Tickets answered"), t.total.answered, None),
        ("tickets_declined", _("Tickets declined (not accepted)"), t.total.declined, None),
        ("tickets_open", _("Tickets still open"), t.still_open, None),
        ("tickets_on_time", _("Answered on time"), t.total.on_time, None),
        ("tickets_on_time_pct", _("On time %"), t.total.on_time_pct, "0.0%"),
        ("tickets_overdue_now", _("Open and overdue now"), t.total.overdue_now, None),
        ("answer_mean_hours", _("Mean time to answer (hours)"), _round(t.mean_hours), None),
        ("answer_median_hours", _("Median time to answer (hours)"), _round(t.median_hours), None),
        ("ratings", _("Ratings given"), t.total.rated, None),
        ("rating_mean", _("Mean rating (1–5)"), _round(t.total.mean_rating, 2), None),
        ("reopened", _("Tickets reopened"), t.reopened_tickets, None),
    ]
    if report.votes.available:
        votes = report.votes.votes
        lines += [
            ("votes", _("Votes held"), len(votes), None),
            ("votes_adopted", _("Votes adopted"), sum(1 for v in votes if v.adopted), None),
            (
                "votes_turnout",
                _("Mean turnout of closed votes"),
                _mean([v.turnout for v in votes if v.closed and v.turnout is not None]),
                "0.0%",
            ),
            (
                "opinions",
                _("Opinions given in consultations"),
                sum(c.opinions for c in report.votes.consultations),
                None,
            ),
            ("consultations", _("Consultations"), len(report.votes.consultations), None),
        ]
    return lines


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


# --- the PDF summary -----------------------------------------------------------------------


class _Pdf(FPDF):
    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("DejaVu", size=8)
        self.cell(0, 8, _("Page {n}").format(n=self.page_no()), align="C")


def make_pdf(report: Report, charts: list[Chart]) -> bytes:
    pdf = _Pdf(format="A4")
    pdf.add_font("DejaVu", "", str(FONT_DIR / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
    pdf.set_margins(18, 15, 18)
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_page()
    pdf.set_font("DejaVu", "B", 10)
    pdf.cell(0, 5, report.ward_name.upper(), align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("DejaVu", "B", 14)
    pdf.multi_cell(
        0,
        7,
        _("SUMMARY REPORT ON GRASSROOTS DEMOCRACY").upper(),
        align="C",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.set_font("DejaVu", "", 10)
    pdf.cell(
        0,
        6,
        f"{_('Period')}: {report.period.label} ({period_text(report)})",
        align="C",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.cell(
        0,
        5,
        _("Produced by wardbot on {when}").format(when=format_datetime(report.generated_at)),
        align="C",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.ln(3)
    n, t = report.notices, report.tickets

    def heading(text: str) -> None:
        pdf.ln(2)
        pdf.set_font("DejaVu", "B", 11)
        pdf.multi_cell(0, 6, text, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("DejaVu", "", 10)

    def para(text: str) -> None:
        pdf.multi_cell(0, 5, text, new_x="LMARGIN", new_y="NEXT")

    heading(_("1. Disclosure of information (residents know)"))
    para(
        _(
            "{notices} notices were published through the bot; {delivered} of {recipients} "
            "messages were delivered ({delivered_pct}) and residents marked {read} as read "
            "({read_pct} of those delivered)."
        ).format(
            notices=n.total,
            delivered=n.delivered,
            recipients=n.recipients,
            delivered_pct=pct(n.delivered_pct),
            read=n.read,
            read_pct=pct(n.read_pct),
        )
    )
    heading(_("2. Residents' feedback, petitions, complaints and denunciations"))
    para(
        _(
            "{received} tickets were received; {answered} answered, {declined} declined, "
            "{open} still open ({overdue} of them past their deadline now). {on_time} answers "
            "were given on time ({on_time_pct}). Mean time to answer: {mean} hours; median: "
            "{median} hours."
        ).format(
            received=t.total.received,
            answered=t.total.answered,
            declined=t.total.declined,
            open=t.still_open,
            overdue=t.total.overdue_now,
            on_time=t.total.on_time,
            on_time_pct=pct(t.total.on_time_pct),
            mean=num(t.mean_hours),
            median=num(t.median_hours),
        )
    )
    pdf.ln(1)
    pdf.set_font("DejaVu", "", 9)
    # fpdf2's table wraps a long header or name inside its cell.
    with pdf.table(
        col_widths=(54, 22, 22, 24, 26, 26),
        text_align=("LEFT", "RIGHT", "RIGHT", "RIGHT", "RIGHT", "RIGHT"),
        line_height=5,
        headings_style=FontFace(emphasis="BOLD", fill_color=(221, 235, 247)),
    ) as table:
        head = table.row()
        for title in (
            _("Type"),
            _("Received"),
            _("Answered"),
            _("Declined"),
            _("On time %"),
            _("Overdue now"),
        ):
            head.cell(title)
        for b in [*t.by_type, t.total]:
            line = table.row()
            for value in (
                b.name or _("Total"),
                str(b.received),
                str(b.answered),
                str(b.declined),
                pct(b.on_time_pct),
                str(b.overdue_now),
            ):
                line.cell(value)
    heading(_("3. Residents' satisfaction"))
    para(
        _(
            "{rated} answers were rated, mean {mean} of 5 stars ({dist}). {reopened} tickets "
            "were reopened by residents who were not satisfied."
        ).format(
            rated=t.total.rated,
            mean=num(t.total.mean_rating, 2),
            dist=", ".join(f"{s}★: {t.ratings.get(s, 0)}" for s in range(1, 6)),
            reopened=t.reopened_tickets,
        )
    )
    heading(_("4. Votes and consultations (residents discuss and decide)"))
    if not report.votes.available:
        para(_("Votes are not available in this installation."))
    else:
        votes = report.votes.votes
        para(
            _(
                "{votes} votes were held, {adopted} adopted; {consultations} consultations "
                "gathered {opinions} opinions."
            ).format(
                votes=len(votes),
                adopted=sum(1 for v in votes if v.adopted),
                consultations=len(report.votes.consultations),
                opinions=sum(c.opinions for c in report.votes.consultations),
            )
        )
        for v in votes[:10]:
            turnout = f"{_('Turnout').lower()} {pct(v.turnout)}"
            para(f"– {v.title}: {turnout}, {adopted_text(v.adopted).lower()}")
        if len(votes) > 10:
            para(_("… and {more} more in the workbook.").format(more=len(votes) - 10))
    by_type = next((c for c in charts if c.name == "tickets-by-type"), None)
    if by_type is not None:
        pdf.ln(2)
        if pdf.get_y() > 190:
            pdf.add_page()
        pdf.image(io.BytesIO(by_type.png), w=150, x=30)
    pdf.ln(2)
    pdf.set_font("DejaVu", "", 8)
    para(_("Details per category, office and group are in the attached workbook."))
    return bytes(pdf.output())
