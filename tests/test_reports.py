"""Half-year and annual reports: the periods, and a generated half-year whose workbook
totals are checked against counts recomputed here from the generated rows."""

from __future__ import annotations

import asyncio
import csv
import io
import re
import shutil
import subprocess
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from bench.report_data import generate
from bot.services import report_files, reports
from bot.services.errors import InvalidInput
from tests.conftest import skip_or_fail

VN = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2025, 7, 10, 3, 0, tzinfo=UTC)
H1 = reports.parse_period("2025-H1")


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("2025-H1", date(2025, 1, 1), date(2025, 6, 30)),
        ("2025-h2", date(2025, 7, 1), date(2025, 12, 31)),
        ("2025", date(2025, 1, 1), date(2025, 12, 31)),
        ("2024-Q1", date(2024, 1, 1), date(2024, 3, 31)),
        ("2024-02", date(2024, 2, 1), date(2024, 2, 29)),
        (" 2025-01-01..2025-03-31 ", date(2025, 1, 1), date(2025, 3, 31)),
    ],
)
def test_periods(text: str, start: date, end: date) -> None:
    period = reports.parse_period(text)
    assert (period.start, period.end) == (start, end)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("2025-H3", "is not a period"),
        ("last year", "is not a period"),
        ("", "is not a period"),
        ("2025-02-30..2025-03-01", "is not a real date"),
        ("2025-03-01..2025-02-01", "ends before it starts"),
        ("2000-01-01..2025-01-01", "at most five years"),
    ],
)
def test_bad_periods_say_why(text: str, says: str) -> None:
    from bot.i18n import get_i18n

    with pytest.raises(InvalidInput) as caught, get_i18n().use_locale("en"):
        reports.parse_period(text)
    with get_i18n().use_locale("en"):
        assert says in caught.value.render()


def test_period_bounds_are_the_wards_local_midnights() -> None:
    start, end = H1.bounds("Asia/Ho_Chi_Minh")
    assert start == datetime(2024, 12, 31, 17, 0, tzinfo=UTC)
    assert end == datetime(2025, 6, 30, 17, 0, tzinfo=UTC)


def _local(moment: datetime) -> date:
    return moment.astimezone(VN).date()


def _sheet_rows(wb, title: str) -> list[tuple]:  # type: ignore[no-untyped-def]
    return [r for r in wb[title].iter_rows(min_row=5, values_only=True) if r[0] is not None]


async def _half_year(session, ward):  # type: ignore[no-untyped-def]
    start, end = H1.bounds(ward.timezone)
    # A day either side, so the bounds of the period are tested too.
    data = await generate(
        session,
        ward,
        start=start - (end - start) / 180,
        end=end + (end - start) / 180,
        households=150,
        registered=0.8,
        notices=20,
        tickets=1000,
        now=NOW,
        votes=5,
        consultations=2,
    )
    await session.commit()
    return data


async def test_half_year_workbook_matches_the_rows(session, ward) -> None:  # type: ignore[no-untyped-def]
    data = await _half_year(session, ward)
    files = await report_files.produce(session, ward, H1, now=NOW)

    today = _local(NOW)
    inside = [t for t in data.tickets if H1.start <= _local(t["created_at"]) <= H1.end]
    assert 900 < len(inside) < 1000 and len(inside) < len(data.tickets)

    def on_time(t: dict) -> bool:  # type: ignore[type-arg]
        return t["status"] == "answered" and _local(t["answered_at"]) <= t["due_on"]

    def overdue(t: dict) -> bool:  # type: ignore[type-arg]
        if t["status"] not in ("new", "in_progress", "info_requested"):
            return False
        due = t["accept_due_on"] if t["accept_due_on"] and not t["accepted_at"] else t["due_on"]
        return due < today

    answered = [t for t in inside if t["status"] == "answered"]
    rated = [t["rating"] for t in inside if t["rating"]]
    notices_in = [n for n in data.notices if H1.start <= _local(n["published_at"]) <= H1.end]
    ids_in = {n["id"] for n in notices_in}
    queued = [s for nid, s in data.deliveries if nid in ids_in]
    reads = [nid for nid in data.reads if nid in ids_in]
    hours = sorted((t["answered_at"] - t["created_at"]).total_seconds() / 3600 for t in answered)
    mid = len(hours) // 2
    median = hours[mid] if len(hours) % 2 else (hours[mid - 1] + hours[mid]) / 2

    wb = load_workbook(io.BytesIO(files.xlsx))
    summary = {r[2]: r[1] for r in wb["Tổng hợp"].iter_rows(min_row=5, values_only=True)}
    assert summary["ward"] == "Phường Ba Đình"
    assert summary["notices"] == len(notices_in)
    assert summary["notice_recipients"] == len(queued)
    assert summary["notice_delivered"] == queued.count("sent")
    assert summary["notice_read"] == len(reads)
    assert summary["tickets"] == len(inside)
    assert summary["tickets_answered"] == len(answered)
    assert summary["tickets_declined"] == sum(t["status"] == "declined" for t in inside)
    assert summary["tickets_on_time"] == sum(on_time(t) for t in inside)
    assert summary["tickets_overdue_now"] == sum(overdue(t) for t in inside)
    assert summary["tickets_open"] == sum(
        t["status"] in ("new", "in_progress", "info_requested") for t in inside
    )
    assert summary["ratings"] == len(rated)
    assert summary["rating_mean"] == pytest.approx(sum(rated) / len(rated), abs=0.006)
    assert summary["reopened"] == sum(t["reopen_count"] > 0 for t in inside)
    assert summary["answer_mean_hours"] == pytest.approx(sum(hours) / len(hours), abs=0.06)
    assert summary["answer_median_hours"] == pytest.approx(median, abs=0.06)

    # Every breakdown adds up to the same tickets, and each line is right.
    by_type = _sheet_rows(wb, "Phản ánh theo loại")
    assert by_type[-1][0] == "Tổng cộng"
    counted = Counter(t["type"] for t in inside)
    assert [r[1] for r in by_type[:-1]] == [
        counted[k] for k in ("phan_anh", "kien_nghi", "gop_y", "khieu_nai", "to_cao") if counted[k]
    ]
    for title in (
        "Phản ánh theo loại",
        "Phản ánh theo lĩnh vực",
        "Phản ánh theo bộ phận",
        "Phản ánh theo tổ",
    ):
        rows = _sheet_rows(wb, title)
        for column in (1, 2, 3, 4, 6, 7):
            assert sum(r[column] for r in rows[:-1]) == rows[-1][column], (title, column)
        assert rows[-1][1] == len(inside)
    by_group = _sheet_rows(wb, "Phản ánh theo tổ")
    assert by_group[-2][0] == "Không thuộc tổ nào"
    assert by_group[-2][1] == sum(t["group_id"] is None for t in inside)

    stars = {r[0]: r[1] for r in _sheet_rows(wb, "Mức độ hài lòng") if isinstance(r[0], int)}
    assert stars == {s: rated.count(s) for s in range(1, 6)}

    notices_sheet = _sheet_rows(wb, "Thông báo")
    assert sum(
        r[1]
        for r in notices_sheet[
            : notices_sheet.index(next(r for r in notices_sheet if r[0] == "Tổng cộng"))
        ]
    ) == len(notices_in)

    if files.report.votes.available:
        votes = [v for v in data.votes if v["kind"] == "vote"]
        consultations = [v for v in data.votes if v["kind"] == "consultation"]
        assert summary["votes"] == len(votes) == 5
        assert summary["votes_adopted"] == sum(v["adopted"] and v["closed"] for v in votes)
        assert summary["opinions"] == sum(c["opinions"] for c in consultations)
        lines = {v.vote_id: v for v in files.report.votes.votes}
        for v in votes:
            line = lines[v["id"]]
            assert (line.ballots, line.agree, line.closed) == (
                v["ballots"],
                v["agree"],
                v["closed"],
            )
            if v["closed"]:
                assert (line.eligible, line.adopted) == (v["eligible"], v["adopted"])
            else:
                assert line.adopted is None
        sheet = [r for r in wb["Biểu quyết"].iter_rows(min_row=5, values_only=True) if r[0]]
        assert {r[0] for r in sheet} >= {f"Biểu quyết số {n}" for n in range(1, 6)}
    else:
        assert "votes" not in summary

    # The charts are readable images, embedded in the workbook too.
    assert len(files.charts) == 4
    for chart in files.charts:
        assert chart.png.startswith(b"\x89PNG")
    assert len(wb["Biểu đồ"]._images) == 4
    # A one-to-two-page PDF.
    assert files.pdf.startswith(b"%PDF")
    assert 1 <= len(re.findall(rb"/Type /Page\b(?!s)", files.pdf)) <= 2


async def test_the_workbook_opens_in_libreoffice(session, ward, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    office = shutil.which("libreoffice") or shutil.which("soffice")
    if office is None:
        skip_or_fail(
            "LibreOffice is not installed here (scripts/ensure-debian-package installs it as"
            " root); the other tests check the workbook with openpyxl"
        )
    data = await _half_year(session, ward)
    files = await report_files.produce(session, ward, H1, now=NOW)
    path = tmp_path / "report.xlsx"
    path.write_bytes(files.xlsx)
    await asyncio.to_thread(
        subprocess.run,
        # The CSV filter's options: comma, double quote, UTF-8 (76).
        [
            office,
            "--headless",
            "--convert-to",
            "csv:Text - txt - csv (StarCalc):44,34,76",
            "--outdir",
            str(tmp_path),
            str(path),
        ],
        check=True,
        timeout=120,
        capture_output=True,
    )
    text = (tmp_path / "report.csv").read_text(encoding="utf-8")
    assert "Phường Ba Đình" in text
    # The first sheet as LibreOffice reads it: label, value, key.
    read = {row[2]: row[1] for row in csv.reader(io.StringIO(text)) if len(row) == 3}
    inside = [t for t in data.tickets if H1.start <= _local(t["created_at"]) <= H1.end]
    notices_in = [n for n in data.notices if H1.start <= _local(n["published_at"]) <= H1.end]
    assert int(read["tickets"]) == len(inside)
    assert int(read["notices"]) == len(notices_in)
    assert int(read["tickets_answered"]) == sum(t["status"] == "answered" for t in inside)


async def test_an_empty_period_still_makes_a_report(session, ward) -> None:  # type: ignore[no-untyped-def]
    files = await report_files.produce(session, ward, reports.parse_period("2019"), now=NOW)
    wb = load_workbook(io.BytesIO(files.xlsx))
    summary = {r[2]: r[1] for r in wb["Tổng hợp"].iter_rows(min_row=5, values_only=True)}
    assert summary["tickets"] == 0 and summary["notices"] == 0
    assert summary["tickets_on_time_pct"] is None
    assert files.pdf.startswith(b"%PDF")
