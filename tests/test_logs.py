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


# Zalo documents tokens as short as "12345689:abc-xyz"; real ones are 64 characters after
# the colon; the tests' emulated ones are in between.
ZALO_TOKENS = [
    "12345689:abc-xyz",
    "738499441022218443:HcapvQPPTFJvrEXqZKzNvJQwkrXeYJAtUTbWIXoJzYqVzHNwFctDVCBpkEoPWTbL",
    "3141592653589793:zalo-emulated-token-abcdef",
]


def test_zalo_tokens_of_every_shape_are_redacted_in_urls_and_text() -> None:
    for token in ZALO_TOKENS:
        url = f"https://bot-api.zaloplatforms.com/bot{token}/getUpdates"
        for line in (
            f'HTTP Request: POST {url} "HTTP/1.1 200 OK"',
            f"the token is {token}.",
            f"error for {token}",
        ):
            text = redact(line)
            assert token not in text and token.split(":")[1] not in text, text
    # Ordinary lines keep their numbers: times, ports, counts.
    assert redact("listening on 127.0.0.1:8000 at 10:20:30") == (
        "listening on 127.0.0.1:8000 at 10:20:30"
    )


def test_a_registered_secret_is_masked_anywhere() -> None:
    from bot.logs import register_secret

    register_secret("9999:tiny")
    register_secret("webhook-secret-value-xyz")
    text = redact("secret=webhook-secret-value-xyz and tiny")
    assert "webhook-secret-value-xyz" not in text
    assert "tiny" in text  # the part after a colon of a short token would mask words


def test_httpx_request_lines_stay_out_of_the_log(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    configure("INFO", json=False)
    logging.getLogger("httpx").info(
        "HTTP Request: POST https://bot-api.zaloplatforms.com/bot%s/getUpdates", ZALO_TOKENS[0]
    )
    logging.getLogger("wardbot.test").warning("signed link /files/12/1767225600/abcDEF_123-x")
    out = stream.getvalue()
    assert "getUpdates" not in out and ZALO_TOKENS[0] not in out
    assert "/files/12/1767225600/<signature>" in out and "abcDEF_123-x" not in out
