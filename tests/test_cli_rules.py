"""wardbot rules and wardbot calendar, run as an operator, an inspector or a lawyer runs them."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.test_cli import wardbot
from tests.test_rules import EXPECTED, ward_file_with

WIDE = {"COLUMNS": "250"}


def test_rules_on_30_june_2026_as_json() -> None:
    result = wardbot("rules", "--on", "2026-06-30", "--format", "json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert set(payload) == {"ward", "on", "rules"}
    assert (payload["ward"], payload["on"]) == (None, "2026-06-30")
    by_id = {r["id"]: r for r in payload["rules"]}
    for item in payload["rules"]:
        assert set(item) == {
            "id",
            "value",
            "unit",
            "source",
            "effective_from",
            "effective_to",
            "from_ward_file",
        }
        assert item["from_ward_file"] is False
    for rule_id, (value, article) in EXPECTED.items():
        assert by_id[rule_id]["value"] == value, rule_id
        assert by_id[rule_id]["source"]["article"] == article, rule_id
    assert by_id["complaint.accept_days"]["unit"] == "working_days"
    assert by_id["complaint.accept_days"]["source"]["law"] == "Thông tư số 07/2013/TT-TTCP"
    assert by_id["denunciation.accept_days"]["unit"] == "working_days"
    assert by_id["notice.min_posting_days"]["source"]["clause"] == 2
    assert by_id["feedback.phan_anh.answer_days"]["source"] == {
        "local": True,
        "label": "quy định của phường",
    }
    assert by_id["notice.min_posting_days"]["effective_from"] == "2023-07-01"
    # Law 97/2025 amends Law 10/2022 from 1/7/2025 and is not encoded: said, on stderr.
    assert "97/2025/QH15" in result.stderr and "not yet encoded" in result.stderr


def test_rules_of_a_ward_show_what_its_file_sets(tmp_path: Path) -> None:
    ward_file = ward_file_with(
        tmp_path, "notice.min_posting_days: 30", "notice.min_posting_days: 45"
    )
    env = {"WARDBOT_DATABASE_URL": f"sqlite:///{tmp_path}/w.db"}
    assert wardbot("init", "--config", str(ward_file), env=env).returncode == 0
    result = wardbot("rules", "--ward", "BADINH", "--on", "2026-06-30", "--format", "json", env=env)
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["ward"] == "BADINH"
    by_id = {r["id"]: r for r in payload["rules"]}
    assert (
        by_id["notice.min_posting_days"]["value"],
        by_id["notice.min_posting_days"]["from_ward_file"],
    ) == (45, True)
    assert by_id["complaint.accept_days"]["from_ward_file"] is False
    assert by_id["report.due_dates"]["value"] == [
        {"period": "H1", "due": "06-15"},
        {"period": "year", "due": "12-15"},
    ]
    missing = wardbot("rules", "--ward", "NOWHERE", env=env)
    assert missing.returncode == 1 and "Traceback" not in missing.stderr


def test_the_table_reads_in_vietnamese_and_in_english() -> None:
    vi = wardbot("rules", "--on", "2026-06-30", env=WIDE)
    assert vi.returncode == 0, vi.stderr
    assert "Quy định áp dụng ngày 30/06/2026" in vi.stdout
    assert "khoản 1 Điều 5 Thông tư số 07/2013/TT-TTCP" in vi.stdout
    assert "10 ngày làm việc" in vi.stdout
    assert "trên 50% tổng số đại diện hộ gia đình" in vi.stdout
    assert "quy định của phường" in vi.stdout
    en = wardbot("rules", "--on", "2026-06-30", "--lang", "en", env=WIDE)
    assert en.returncode == 0, en.stderr
    assert "Circular 07/2013/TT-TTCP, Art. 5(1)" in en.stdout
    assert "10 working days" in en.stdout


def test_bad_options_are_one_clear_sentence() -> None:
    for args, expected in (
        (("rules", "--on", "30/06/2026"), "--on must be a date as YYYY-MM-DD"),
        (("rules", "--format", "xml"), "--format is table or json"),
        (("calendar", "--year", "1900"), "--year must be between"),
    ):
        result = wardbot(*args)
        assert result.returncode == 2, args
        assert expected in result.stderr and "Traceback" not in result.stderr


def test_calendar_2026_as_json() -> None:
    result = wardbot("calendar", "--year", "2026", "--format", "json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert {"year", "days_off", "working_weekends", "sources"} <= set(payload)
    assert payload["year"] == 2026 and payload["official"] is True
    off = {d["date"]: d for d in payload["days_off"]}
    assert off["2026-01-02"]["source"] == "vpcp-12729-2025"
    for day in ("2026-01-01", "2026-02-16", "2026-02-17", "2026-02-20", "2026-09-02"):
        assert day in off
    assert "2026-11-24" not in off
    assert {d["date"] for d in payload["working_weekends"]} == {"2026-01-10", "2026-08-22"}
    sources = {s["id"]: s["title"] for s in payload["sources"]}
    assert "12729/VPCP-KGVX" in sources["vpcp-12729-2025"]
    assert "9441/TB-BNV" in sources["bnv-9441-2025"]
    assert all(d["source"] in sources for d in payload["days_off"])


def test_a_year_without_an_official_table_is_flagged() -> None:
    result = wardbot("calendar", "--year", "2027", "--format", "json")
    assert result.returncode == 0, result.stderr
    assert "lịch nghỉ năm 2027 chưa được công bố chính thức: đang dùng ước tính" in result.stderr
    assert json.loads(result.stdout)["official"] is False
    table = wardbot("calendar", "--year", "2026", "--lang", "en", env=WIDE)
    assert "02/01/2026" in table.stdout and "10/01/2026" in table.stdout
    assert "Not a day off: Ngày Văn hóa Việt Nam" in table.stdout


def test_init_refuses_a_shorter_posting_period_and_loads_nothing(tmp_path: Path) -> None:
    ward_file = ward_file_with(
        tmp_path, "notice.min_posting_days: 30", "notice.min_posting_days: 15"
    )
    env = {"WARDBOT_DATABASE_URL": f"sqlite:///{tmp_path}/w.db"}
    result = wardbot("init", "--config", str(ward_file), env=env)
    assert result.returncode == 1
    assert "Law 10/2022/QH15, Art. 13(2)" in result.stderr
    assert "nothing was changed" in result.stderr and "Traceback" not in result.stderr
    with sqlite3.connect(tmp_path / "w.db") as db:
        assert db.execute("select count(*) from ward").fetchone() == (0,)
