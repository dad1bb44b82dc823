"""Logging setup shared by every command."""

from __future__ import annotations

import logging
import sys


def configure(level: str = "INFO") -> None:
    logging.basicConfig(
        level=level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )
    # aiogram logs every update at INFO; that is noise for a ward officer.
    logging.getLogger("aiogram.event").setLevel(logging.WARNING)
