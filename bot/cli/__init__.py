"""The ``wardbot`` command. Each module here adds the commands of one feature."""

from __future__ import annotations

from bot.cli import (  # noqa: F401  (register their commands)
    backup,
    demo,
    notices,
    reports,
    roles,
    rules,
    run,
    tickets,
    wards,
)
from bot.cli.app import app


def main() -> None:
    app()


__all__ = ["app", "main"]
