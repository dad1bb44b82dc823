"""wardbot report and wardbot audit, run as an operator runs them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from openpyxl import load_workbook

from tests.conftest import EXAMPLE_WARD
from tests.test_cli import wardbot


def _ward(tmp_path: Path) -> dict[str, str]:
    env = {"WARDBOT_DATABASE_URL": f"sqlite:///{tmp_path}/w.db"}
    assert wardbot("init", "--config", str(EXAMPLE_WARD), env=env).returncode == 0
    for _n in range(3):
        result = wardbot(
            "invite",
            "--role",
            "inspector",
            "--ward",
            "BADINH",
            env={**env, "WARDBOT_BOT_USERNAME": "wardbot_test_bot"},
        )
        assert result.returncode == 0, result.stderr
    return env


def test_audit_verify_catches_a_row_altered_in_the_database(tmp_path: Path) -> None:
    env = _ward(tmp_path)
    result = wardbot("audit", "verify", env=env)
    assert result.returncode == 0, result.stderr
    assert "intact: 4 entries" in result.stdout

    shown = wardbot("audit", "show", "--limit", "2", env=env)
    assert shown.returncode == 0
    assert "invite.create" in shown.stdout and "ward.load" not in shown.stdout

    with sqlite3.connect(tmp_path / "w.db") as db:
        # Someone edits the trail by hand to hide who created an invitation.
        db.execute("UPDATE audit_entry SET actor = 'system' WHERE id = 3")
    result = wardbot("audit", "verify", env=env)
    assert result.returncode == 1
    assert "BROKEN at entry 3" in result.stderr
    assert "does not match its hash" in result.stderr


def test_report_writes_the_workbook_and_the_pdf(tmp_path: Path) -> None:
    env = _ward(tmp_path)
    out, pdf = tmp_path / "r.xlsx", tmp_path / "r.pdf"
    result = wardbot(
        "report",
        "--period",
        "2025-H1",
        "--out",
        str(out),
        "--pdf",
        str(pdf),
        "--charts",
        str(tmp_path / "charts"),
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert "0 tickets" in result.stdout
    wb = load_workbook(out)
    assert wb.sheetnames[0] == "Tổng hợp"
    assert pdf.read_bytes().startswith(b"%PDF")
    assert len(list((tmp_path / "charts").glob("*.png"))) == 4


def test_report_refuses_a_bad_period_clearly(tmp_path: Path) -> None:
    env = _ward(tmp_path)
    result = wardbot("report", "--period", "2025-H7", "--out", str(tmp_path / "r.xlsx"), env=env)
    assert result.returncode == 2
    assert "is not a period" in result.stderr
    assert not (tmp_path / "r.xlsx").exists()
