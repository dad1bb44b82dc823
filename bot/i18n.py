"""Gettext catalogs (Vietnamese first, English second) and Babel formatting.

The same catalogs serve aiogram's ``I18nMiddleware`` in handlers and plain calls with
an explicit locale in the CLI and the sender, which render messages outside any update.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from babel import dates as babel_dates
from babel import numbers as babel_numbers
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import LazyProxy

if TYPE_CHECKING:
    from aiogram.utils.i18n import I18n

from bot.config import PROJECT_ROOT

LOCALES_DIR = PROJECT_ROOT / "locales"
DOMAIN = "messages"
LANGUAGES = ("vi", "en")
DEFAULT_LANGUAGE = "vi"
DEFAULT_TIMEZONE = ZoneInfo("Asia/Ho_Chi_Minh")


def compile_catalogs(locales_dir: Path = LOCALES_DIR) -> list[Path]:
    """Compile every .po whose .mo is missing or older; .mo files are never committed."""
    written = []
    for po_path in sorted(locales_dir.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file, locale=po_path.parent.parent.name)
        tmp = mo_path.with_suffix(".mo.tmp")
        with tmp.open("wb") as mo_file:
            write_mo(mo_file, catalog, use_fuzzy=False)
        tmp.replace(mo_path)
        written.append(mo_path)
    return written


@lru_cache
def get_i18n() -> I18n:
    # Imported on first use: importing aiogram takes seconds, and CLI commands such as
    # `wardbot init` never need it.
    from aiogram.utils.i18n import I18n

    compile_catalogs()
    i18n = I18n(path=LOCALES_DIR, default_locale=DEFAULT_LANGUAGE, domain=DOMAIN)
    I18n.set_current(i18n)
    return i18n


def normalise_language(code: str | None) -> str:
    """Telegram's language_code ("en-US", "vi") to one of ours; Vietnamese by default."""
    if code and code.split("-")[0].lower() in LANGUAGES:
        return code.split("-")[0].lower()
    return DEFAULT_LANGUAGE


def _(message: str, *, locale: str | None = None) -> str:
    return get_i18n().gettext(message, locale=locale)


def ngettext(singular: str, plural: str, n: int, *, locale: str | None = None) -> str:
    return get_i18n().gettext(singular, plural, n, locale=locale)


def N_(message: str) -> str:
    """Marks a message for the catalogs; it is translated later, where it is shown."""
    return message


@lru_cache(maxsize=512)
def all_translations(message: str) -> frozenset[str]:
    """The message in every language, to recognise a button pressed in any of them."""
    return frozenset(get_i18n().gettext(message, locale=lang) for lang in LANGUAGES)


def __(message: str) -> LazyProxy:
    """Translated when rendered, in the locale of the update being handled."""
    return LazyProxy(lambda: get_i18n().gettext(message), enable_cache=False)


def current_locale() -> str:
    return get_i18n().current_locale


def format_date(value: date | datetime, locale: str | None = None) -> str:
    locale = locale or current_locale()
    if isinstance(value, datetime):
        value = value.astimezone(DEFAULT_TIMEZONE).date()
    return babel_dates.format_date(value, "dd/MM/yyyy", locale=locale)


def format_datetime(value: datetime, locale: str | None = None) -> str:
    locale = locale or current_locale()
    local = value.astimezone(DEFAULT_TIMEZONE)
    return babel_dates.format_datetime(local, "HH:mm dd/MM/yyyy", locale=locale)


def format_number(value: float, locale: str | None = None) -> str:
    return babel_numbers.format_decimal(value, locale=locale or current_locale())


def format_percent(value: float, locale: str | None = None) -> str:
    return babel_numbers.format_percent(value, "#,##0.#%", locale=locale or current_locale())
