"""Documents a vote or consultation produces when it closes: the result notice's text,
the vote-count record (biên bản kiểm phiếu, after Decree 59/2023 template 04) as PDF,
and the consultation's comments as a spreadsheet.

They are published to everyone in scope as one text, so they are written in the
ward's language (Vietnamese), through the catalogs like every other string.
"""

from __future__ import annotations

import io
import os
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from bot import clock
from bot.i18n import _, format_datetime, format_percent, ngettext

if TYPE_CHECKING:
    from bot.models import ResidentialGroup, Vote, Ward
    from bot.services.votes import Summary, Tally

LOCALE = "vi"
# A font with every Vietnamese letter: matplotlib ships DejaVu Sans, so no system
# font and no network are needed; WARDBOT_PDF_FONT may name another TTF.
FONT_ENV = "WARDBOT_PDF_FONT"


@lru_cache
def font_path() -> Path:
    configured = os.environ.get(FONT_ENV)
    if configured:
        return Path(configured)
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"


def scope_text(vote: Vote, ward: Ward, groups: list[ResidentialGroup]) -> str:
    if vote.whole_ward:
        return _("all groups of {ward}", locale=LOCALE).format(ward=ward.name)
    return ", ".join(g.name for g in groups)


def matter_text(vote: Vote) -> str:
    from bot.services.votes import MATTER_NAMES

    if vote.matter is None:
        return ""
    return _("Clause {clause}, Article 15, Law 10/2022: {name}", locale=LOCALE).format(
        clause=vote.matter, name=_(MATTER_NAMES[vote.matter], locale=LOCALE)
    )


def legal_note(vote: Vote) -> str:
    """What the online tally is worth (Decree 59/2023 Art. 5)."""
    from bot.services.votes import ONLINE_DECIDED

    if vote.matter == ONLINE_DECIDED:
        return _(
            "This matter is decided by the households' online vote (Decree 59/2023, Art. 5).",
            locale=LOCALE,
        )
    return _(
        "For this matter the online tally serves as the households' opinion forms supporting "
        "the community meeting, where the decision is taken (Decree 59/2023, Art. 5).",
        locale=LOCALE,
    )


def outcome_text(vote: Vote, result: Tally) -> str:
    share = format_percent(result.counts[0] / result.eligible if result.eligible else 0, LOCALE)
    if result.adopted:
        return _(
            "ADOPTED: “{option}” was chosen by {count} of {eligible} households ({share}), "
            "more than half of all households.",
            locale=LOCALE,
        ).format(
            option=vote.options[0], count=result.counts[0], eligible=result.eligible, share=share
        )
    return _(
        "NOT ADOPTED: “{option}” was chosen by {count} of {eligible} households ({share}); "
        "adoption needs more than half of all households.",
        locale=LOCALE,
    ).format(option=vote.options[0], count=result.counts[0], eligible=result.eligible, share=share)


def count_lines(vote: Vote, result: Tally) -> list[str]:
    lines = []
    for label, count in zip(vote.options, result.counts, strict=True):
        share = format_percent(count / result.eligible if result.eligible else 0, LOCALE)
        lines.append(
            _("“{option}”: {count} households ({share} of all households)", locale=LOCALE).format(
                option=label, count=count, share=share
            )
        )
    return lines


def result_notice(
    vote: Vote, ward: Ward, groups: list[ResidentialGroup], result: Tally
) -> tuple[str, str]:
    """The result notice's title and text (Law Art. 23: published to the same scope)."""
    title = _("Vote result: {question}", locale=LOCALE).format(question=vote.question)[:200]
    missing = result.eligible - result.ballots
    lines = [
        _("Question: {question}", locale=LOCALE).format(question=vote.question),
        matter_text(vote),
        _("Scope: {scope}", locale=LOCALE).format(scope=scope_text(vote, ward, groups)),
        _("Voting from {start} to {end}.", locale=LOCALE).format(
            start=format_datetime(vote.opens_at, LOCALE),
            end=format_datetime(vote.closes_at, LOCALE),
        ),
        "",
        _("Households entitled to vote: {count}", locale=LOCALE).format(count=result.eligible),
        _("Households that voted: {count} ({share})", locale=LOCALE).format(
            count=result.ballots, share=format_percent(result.turnout, LOCALE)
        ),
        _("Households that did not vote: {count}", locale=LOCALE).format(count=missing),
        *count_lines(vote, result),
        "",
        outcome_text(vote, result),
        legal_note(vote),
        "",
        _(
            "The vote-count record is attached. Nobody can see how a household voted.",
            locale=LOCALE,
        ),
    ]
    return title, "\n".join(line for line in lines if line is not None)


def count_record_pdf(
    vote: Vote, ward: Ward, groups: list[ResidentialGroup], result: Tally, creator: str
) -> bytes:
    """Biên bản kiểm phiếu: scope, households eligible, ballots, per option, outcome."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_margins(20, 18, 20)
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.add_font("DejaVu", "", str(font_path()))
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin

    def line(text: str, size: int = 11, align: str = "L", gap: float = 1.5) -> None:
        pdf.set_font("DejaVu", size=size)
        pdf.multi_cell(width, size * 0.5, text, align=align, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(gap)

    line(_("SOCIALIST REPUBLIC OF VIETNAM", locale=LOCALE), 11, "C", 0)
    line(_("Independence - Freedom - Happiness", locale=LOCALE), 11, "C", 6)
    line(_("VOTE-COUNT RECORD", locale=LOCALE), 15, "C", 1)
    line(_("(online household vote no. {id})", locale=LOCALE).format(id=vote.id), 10, "C", 6)
    line(_("Organised by: {creator}", locale=LOCALE).format(creator=creator))
    line(_("Ward: {ward}", locale=LOCALE).format(ward=ward.name))
    line(_("Scope: {scope}", locale=LOCALE).format(scope=scope_text(vote, ward, groups)))
    line(matter_text(vote))
    line(_("Question: {question}", locale=LOCALE).format(question=vote.question))
    line(
        _("Voting from {start} to {end}.", locale=LOCALE).format(
            start=format_datetime(vote.opens_at, LOCALE),
            end=format_datetime(vote.closes_at, LOCALE),
        ),
        gap=5,
    )
    line(_("RESULT OF THE COUNT", locale=LOCALE), 12, gap=2)
    line(_("1. Households entitled to vote: {count}", locale=LOCALE).format(count=result.eligible))
    line(
        _("2. Households that voted: {count} ({share})", locale=LOCALE).format(
            count=result.ballots, share=format_percent(result.turnout, LOCALE)
        )
    )
    line(
        _("3. Households that did not vote: {count}", locale=LOCALE).format(
            count=result.eligible - result.ballots
        )
    )
    if result.not_counted:
        line(
            ngettext(
                "Not counted: {count} ballot of a household no longer on the list at closing.",
                "Not counted: {count} ballots of households no longer on the list at closing.",
                result.not_counted,
                locale=LOCALE,
            ).format(count=result.not_counted)
        )
    line(_("4. Households per option:", locale=LOCALE))
    for text in count_lines(vote, result):
        line("    - " + text)
    pdf.ln(3)
    line(_("CONCLUSION", locale=LOCALE), 12, gap=2)
    line(outcome_text(vote, result))
    line(legal_note(vote), gap=5)
    line(
        _(
            "Counted automatically by wardbot at {when}. Each household had one vote, cast by "
            "its representative; the last choice before closing counts; ballots are secret.",
            locale=LOCALE,
        ).format(when=format_datetime(vote.closed_at or clock.now(), LOCALE)),
        10,
    )
    return bytes(pdf.output())


def comments_xlsx(vote: Vote, summary: Summary) -> bytes:
    """Every opinion with a comment, and the counts per option."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = _("Comments", locale=LOCALE)[:31]
    sheet.append([_("Consultation", locale=LOCALE), vote.question])
    sheet.append([_("Residents asked", locale=LOCALE), summary.residents])
    sheet.append([_("Opinions given", locale=LOCALE), summary.opinions])
    for label, count in zip(vote.options, summary.counts, strict=True):
        sheet.append([label, count])
    sheet.append([])
    header = [
        _("No.", locale=LOCALE),
        _("Group", locale=LOCALE),
        _("Option", locale=LOCALE),
        _("Comment", locale=LOCALE),
        _("Time", locale=LOCALE),
    ]
    sheet.append(header)
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    for number, (group, label, comment, when) in enumerate(summary.comments, start=1):
        sheet.append([number, group, label or "", comment, format_datetime(when, LOCALE)])
        sheet.cell(sheet.max_row, 4).alignment = Alignment(wrap_text=True, vertical="top")
    sheet.column_dimensions["A"].width = 18
    sheet.column_dimensions["B"].width = 20
    sheet.column_dimensions["C"].width = 18
    sheet.column_dimensions["D"].width = 80
    sheet.column_dimensions["E"].width = 18
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
