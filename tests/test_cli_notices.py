"""wardbot notice publish / list / stats / withdraw, as the ward office uses them."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import EXAMPLE_WARD
from tests.test_cli import wardbot


def test_publish_list_stats_and_withdraw_from_the_shell(tmp_path: Path) -> None:
    # A wide terminal, so rich does not wrap the table's cells.
    env = {"WARDBOT_DATABASE_URL": f"sqlite:///{tmp_path}/w.db", "COLUMNS": "220"}
    assert wardbot("init", "--config", str(EXAMPLE_WARD), env=env).returncode == 0
    notice = tmp_path / "lich-tiep-dan.md"
    notice.write_text(
        "# Lịch tiếp công dân tháng 12/2026\n\n"
        "Chủ tịch UBND phường tiếp công dân vào sáng thứ Năm hằng tuần.\n",
        encoding="utf-8",
    )
    pdf = tmp_path / "lich.pdf"
    pdf.write_bytes(b"%PDF-1.4 lich tiep dan")
    published = wardbot(
        "notice", "publish", "--file", str(notice), "--scope", "KP01,KP02",
        "--category", "tiep-cong-dan", "--attach", str(pdf), "--days", "45", "--urgent",
        env=env,
    )  # fmt: skip
    assert published.returncode == 0, published.stderr
    assert "Notice 1 published to 0 residents" in published.stdout
    listed = wardbot("notice", "list", env=env)
    assert listed.returncode == 0, listed.stderr
    assert "Lịch tiếp công dân" in listed.stdout and "KP01, KP02" in listed.stdout
    stats = wardbot("notice", "stats", "1", env=env)
    assert stats.returncode == 0 and "Khu phố 1" in stats.stdout and "Total" in stats.stdout
    withdrawn = wardbot("notice", "withdraw", "1", "--reason", "Đổi lịch", env=env)
    assert withdrawn.returncode == 0, withdrawn.stderr
    assert "withdrawn" in wardbot("notice", "list", env=env).stdout


def test_mistakes_are_one_clear_sentence_and_publish_nothing(tmp_path: Path) -> None:
    env = {"WARDBOT_DATABASE_URL": f"sqlite:///{tmp_path}/w.db"}
    wardbot("init", "--config", str(EXAMPLE_WARD), env=env)
    notice = tmp_path / "n.md"
    notice.write_text("# Thông báo\n\nNội dung.", encoding="utf-8")
    cases = [
        (["--scope", "KP99", "--category", "khac"], "no longer exists"),
        (["--scope", "ward", "--category", "no-such"], "category does not exist"),
        (["--scope", "ward", "--category", "khac", "--days", "0"], "posting period"),
    ]
    for extra, expected in cases:
        result = wardbot("notice", "publish", "--file", str(notice), *extra, env=env)
        assert result.returncode != 0 and expected in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
    no_heading = tmp_path / "plain.md"
    no_heading.write_text("just text", encoding="utf-8")
    result = wardbot(
        "notice", "publish", "--file", str(no_heading), "--scope", "ward", "--category", "khac",
        env=env,
    )  # fmt: skip
    assert result.returncode == 1 and "heading" in result.stderr
    assert "No notice has been published yet" in wardbot("notice", "list", env=env).stdout
