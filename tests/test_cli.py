"""The wardbot command as an operator meets it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE_WARD, ROOT


def wardbot(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("WARDBOT_")}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_help_lists_every_command_with_a_description() -> None:
    result = wardbot("--help")
    assert result.returncode == 0
    for command in ("run", "migrate", "init", "invite", "roles", "revoke"):
        line = next((ln for ln in result.stdout.splitlines() if f" {command} " in ln), "")
        assert line.strip(" │").split(maxsplit=1)[1:], f"{command} has no description"


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        (None, "WARDBOT_TELEGRAM_TOKEN is not set"),
        ("abc", "does not look like a Telegram bot token"),
    ],
)
def test_a_missing_or_malformed_token_is_one_clear_sentence(
    tmp_path: Path, token: str | None, expected: str
) -> None:
    env = {"WARDBOT_DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}
    if token:
        env["WARDBOT_TELEGRAM_TOKEN"] = token
    result = wardbot("run", env=env)
    assert result.returncode == 2
    assert expected in result.stderr
    assert "Traceback" not in result.stderr


def test_init_invite_and_roles(tmp_path: Path) -> None:
    env = {
        "WARDBOT_DATABASE_URL": f"sqlite:///{tmp_path}/w.db",
        "WARDBOT_BOT_USERNAME": "phuongbadinh_bot",
    }
    first = wardbot("init", "--config", str(EXAMPLE_WARD), env=env)
    assert first.returncode == 0, first.stderr
    assert "Ward BADINH loaded" in first.stdout
    second = wardbot("init", "--config", str(EXAMPLE_WARD), env=env)
    assert "already up to date" in second.stdout
    invite = wardbot("invite", "--role", "leader", "--unit", "KP01", env=env)
    assert invite.returncode == 0, invite.stderr
    link = invite.stdout.strip().splitlines()[-1]
    assert link.startswith("https://t.me/phuongbadinh_bot?start=inv_")
    unknown = wardbot("invite", "--role", "leader", "--unit", "KP99", env=env)
    assert unknown.returncode == 1 and "no longer exists" in unknown.stderr
    listed = wardbot("roles", env=env)
    assert "Nobody holds a role yet" in listed.stdout


def test_init_reports_the_line_of_a_mistake(tmp_path: Path) -> None:
    broken = tmp_path / "ward.yaml"
    broken.write_text(
        EXAMPLE_WARD.read_text(encoding="utf-8").replace("office: CA", "office: XX"),
        encoding="utf-8",
    )
    result = wardbot(
        "init", "--config", str(broken), env={"WARDBOT_DATABASE_URL": f"sqlite:///{tmp_path}/w.db"}
    )
    assert result.returncode == 1
    assert "nothing was changed" in result.stderr
    assert "ticket_categories[4].office" in result.stderr and "line " in result.stderr
