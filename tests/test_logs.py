"""Logs never carry a bot token or a phone number."""

from __future__ import annotations

import io
import json
import logging

from bot.logs import configure, redact

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw_"


def test_tokens_and_phones_are_redacted() -> None:
    text = redact(
        f"POST https://api.telegram.org/bot{TOKEN}/sendMessage to +84912345678 or 0912345678"
    )
    assert TOKEN not in text
    assert "912345678" not in text
    assert "<token>" in text


def test_json_lines_are_redacted_too(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    configure("INFO", json=True)
    logging.getLogger("wardbot.test").warning(
        "calling %s for %s", f"/bot{TOKEN}/getMe", "84912345678"
    )
    line = json.loads(stream.getvalue().strip().splitlines()[-1])
    assert line["level"] == "WARNING"
    assert TOKEN not in line["message"] and "84912345678" not in line["message"]
