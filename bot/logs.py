"""Logging: readable lines on a terminal, JSON lines otherwise (for a log collector).

Whatever the format, a redacting step removes bot tokens, the secrets the process was
configured with, signed file links' signatures and phone numbers from every record,
including exception texts from libraries that print request URLs.
"""

from __future__ import annotations

import logging
import re
import sys

from pythonjsonlogger.json import JsonFormatter

# A bot token in a request URL, whatever its shape: Telegram's and Zalo's APIs both put
# it in the path as /bot<token>/ (Zalo documents tokens as short as "12345689:abc-xyz").
_URL_TOKEN = re.compile(r"/bot\d+:[^/\s\"'?#]+")
# "<bot id>:<secret>" anywhere else (a pasted token, an exception's text).
_TOKEN = re.compile(r"(?<![\w.:/-])\d{5,}:[A-Za-z0-9_-]{6,}")
# The signature of a signed file link (bot/services/file_links.py): a capability.
_FILE_SIGNATURE = re.compile(r"(/files/\d+/\d+/)[A-Za-z0-9_-]+")
# Vietnamese and international numbers: +84..., 84..., 0... (9 to 12 digits).
_PHONE = re.compile(r"(?<![\w.])(?:\+?84|0)\d{8,10}(?!\d)")
# Secrets of this process (tokens, webhook secrets, keys), masked wherever they appear.
_secrets: set[str] = set()


def register_secret(value: str | None) -> None:
    """Mask ``value`` in every log line from now on (too short a value is ignored: it
    would mask ordinary words)."""
    for part in (value or "", (value or "").partition(":")[2]):
        if len(part) >= 6:
            _secrets.add(part)


def redact(text: str) -> str:
    for secret in sorted(_secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, "<secret>")
    text = _URL_TOKEN.sub("/bot<token>", text)
    text = _TOKEN.sub("<token>", text)
    text = _FILE_SIGNATURE.sub(r"\1<signature>", text)
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
    # httpx writes every request's URL at INFO, and Zalo's URLs carry the bot's token
    # (redacted above all the same); one line per long poll is noise too.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
