"""The ``wardbot`` command. Each module here adds the commands of one feature."""

from __future__ import annotations

from bot.cli import backup, demo, roles, run, tickets, wards  # noqa: F401  (register their commands)
from bot.cli.app import app


def main() -> None:
    app()


__all__ = ["app", "main"]
