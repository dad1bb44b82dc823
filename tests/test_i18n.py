"""The catalogs: complete, not fuzzy, consistent with the code; dates as Vietnamese expect."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from bot.i18n import LANGUAGES, format_date, format_datetime, format_number
from tests.conftest import ROOT

KEYWORDS = {"_": None, "__": None, "N_": None, "ngettext": (1, 2)}
PLACEHOLDER = re.compile(r"\{(\w*)\}")
TAG = re.compile(r"</?\w+")


def catalog(language: str):  # type: ignore[no-untyped-def]
    path = ROOT / "locales" / language / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as fh:
        return read_po(fh, locale=language)


def messages_in_code() -> set[str]:
    found = set()
    for package in ("bot", "handlers"):
        for _file, _line, message, _comments, _context in extract_from_dir(
            Path(ROOT / package), method_map=[("**.py", "python")], keywords=KEYWORDS
        ):
            found.add(message if isinstance(message, str) else message[0])
    return found


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_entry_is_translated_and_none_is_fuzzy(language: str) -> None:
    problems = []
    for message in catalog(language):
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if not all(strings):
            problems.append(f"untranslated: {message.id!r}")
        if message.fuzzy:
            problems.append(f"fuzzy: {message.id!r}")
    assert problems == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_string_in_the_code_is_in_the_catalog(language: str) -> None:
    known = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog(language) if m.id}
    missing = sorted(messages_in_code() - known)
    assert missing == [], "run `python scripts/i18n.py update` and translate"


def test_translations_keep_placeholders_and_markup() -> None:
    problems = []
    for message in catalog("vi"):
        if not message.id or not isinstance(message.id, str):
            continue
        if sorted(PLACEHOLDER.findall(message.id)) != sorted(PLACEHOLDER.findall(message.string)):
            problems.append(f"placeholders differ: {message.id!r}")
        if sorted(TAG.findall(message.id)) != sorted(TAG.findall(message.string)):
            problems.append(f"HTML tags differ: {message.id!r}")
    assert problems == []


def test_vietnamese_dates_and_numbers() -> None:
    assert format_date(date(2026, 2, 3), "vi") == "03/02/2026"
    # 17:30 UTC is 00:30 the next day in Hanoi.
    assert format_datetime(datetime(2026, 2, 3, 17, 30, tzinfo=UTC), "vi") == "00:30 04/02/2026"
    assert format_number(12345.5, "vi") == "12.345,5"
    assert format_number(12345.5, "en") == "12,345.5"
