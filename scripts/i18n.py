"""Catalog upkeep for developers: ``python scripts/i18n.py update`` after changing strings.

- update: extract every marked string, update both catalogs, and fill English with the
  source text (the source strings are English), keeping existing translations.
- missing: list Vietnamese entries still untranslated or fuzzy (exit 1 if any).
- merge FILE.json: set Vietnamese translations from a {"msgid": "msgstr"} file.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ROOT / "locales"
POT = LOCALES / "messages.pot"
KEYWORDS = ["-k", "_", "-k", "__", "-k", "N_", "-k", "ngettext:1,2"]


def _catalog(lang: str):  # type: ignore[no-untyped-def]
    path = LOCALES / lang / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as fh:
        return path, read_po(fh, locale=lang)


def _write(path: Path, catalog) -> None:  # type: ignore[no-untyped-def]
    with path.open("wb") as fh:
        write_po(fh, catalog, width=0, sort_by_file=True, include_previous=False)


def update() -> None:
    pybabel = str(Path(sys.executable).with_name("pybabel"))
    subprocess.run(
        [
            pybabel,
            "extract",
            "-F",
            "babel.cfg",
            *KEYWORDS,
            "--no-wrap",
            "--sort-by-file",
            "--project",
            "wardbot",
            "--copyright-holder",
            "wardbot contributors",
            "-o",
            str(POT),
            ".",
        ],
        cwd=ROOT,
        check=True,
    )
    subprocess.run(
        [
            pybabel,
            "update",
            "-i",
            str(POT),
            "-d",
            str(LOCALES),
            "--no-wrap",
            "--no-fuzzy-matching",
            "--ignore-obsolete",
        ],
        cwd=ROOT,
        check=True,
    )
    path, catalog = _catalog("en")
    for message in catalog:
        if isinstance(message.id, tuple):
            # A plural entry: singular and plural forms, English has two.
            if not all(message.string):
                message.string = message.id
        elif message.id and not message.string:
            message.string = message.id
        message.flags.discard("fuzzy")
    _write(path, catalog)
    missing()


def missing() -> int:
    _, catalog = _catalog("vi")
    todo = [m.id for m in catalog if m.id and (not m.string or m.fuzzy)]
    for msgid in todo:
        print(json.dumps(msgid, ensure_ascii=False))
    print(f"{len(todo)} Vietnamese entries to translate", file=sys.stderr)
    return 1 if todo else 0


def merge(file: str) -> None:
    translations = json.loads(Path(file).read_text(encoding="utf-8"))
    path, catalog = _catalog("vi")
    known = 0
    for message in catalog:
        key = message.id if isinstance(message.id, str) else message.id[0]
        if key in translations:
            value = translations[key]
            message.string = tuple(value) if isinstance(message.id, tuple) else value
            message.flags.discard("fuzzy")
            known += 1
    _write(path, catalog)
    print(f"merged {known} of {len(translations)} translations", file=sys.stderr)


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "update"
    if command == "update":
        update()
    elif command == "missing":
        sys.exit(missing())
    elif command == "merge":
        merge(sys.argv[2])
    else:
        sys.exit(__doc__)
