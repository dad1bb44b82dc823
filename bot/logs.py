"""Logging: readable lines on a terminal, JSON lines otherwise (for a log collector).

Whatever the format, a redacting step removes bot tokens and phone numbers from every
record, including exception texts from libraries that print request URLs.
"""

from __future__ import annotations

import logging
import re
import sys

from pythonjsonlogger.json import JsonFormatter

# "123456789:AA..." anywhere, including inside /bot<token>/ URLs.
_TOKEN = re.compile(r"\d{3,}:[A-Za-z0-9_-]{30,}")
# Vietnamese and international numbers: +84..., 84..., 0... (9 to 12 digits).
_PHONE = re.compile(r"(?<![\w.])(?:\+?84|0)\d{8,10}(?!\d)")


def redact(text: str) -> str:
    text = _TOKEN.sub("<token>", text)
    return _PHONE.sub(lambda m: m.group(0)[:3] + "•••" + m.group(0)[-2:], text)


class _Redacting(logging.Formatter):
    def __init__(self, inner: logging.Formatter) -> None:
        super().__init__()
        self.inner = inner

    def format(self, record: logging.LogRecord) -> str:
        return redact(self.inner.format(record))


def configure(level: str = "INFO", *, json: bool | None = None) -> None:
    if json is None:
        json = not sys.stderr.isatty()
    inner: logging.Formatter
    if json:
        inner = JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        )
    else:
        inner = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Redacting(inner))
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
    # aiogram logs every update at INFO; that is noise for a ward officer.
    logging.getLogger("aiogram.event").setLevel(logging.WARNING)
    # Alembic describes each plugin it loads at INFO on every start.
    logging.getLogger("alembic").setLevel(logging.WARNING)
