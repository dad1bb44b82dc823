"""Image headers, rate limiters and limit configuration, without a server."""

from __future__ import annotations

import struct

import pytest

from bot.emulator.limits import EmulatorLimits, SlidingWindow, TokenBucket, retry_after_seconds
from bot.emulator.media import FileStore, ImageError, image_size, make_png


def _jpeg(width: int, height: int) -> bytes:
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof0 = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + app0 + sof0 + b"\xff\xd9"


def test_image_headers():
    assert image_size(make_png(640, 480)) == (640, 480)
    assert image_size(_jpeg(1280, 720)) == (1280, 720)
    assert image_size(b"GIF89a" + struct.pack("<HH", 16, 9) + b"\x00" * 8) == (16, 9)
    for junk in (b"", b"%PDF-1.4", b"\xff\xd8\xff\xda\x00\x02", b"\x89PNG\r\n\x1a\n\x00"):
        with pytest.raises(ImageError):
            image_size(junk)


def test_file_ids_are_per_bot_and_stable():
    store = FileStore()
    stored = store.add(make_png(2, 2), "photo")
    first = store.file_id(1, stored)
    assert store.file_id(1, stored) == first
    other = store.file_id(2, stored)
    assert other != first
    assert store.resolve(1, first) is stored
    assert store.resolve(2, first) is None  # a file_id issued to another bot is not valid
    doc = store.add(b"x", "document", file_name="bao-cao.xlsx")
    assert doc.mime_type == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert doc.file_path.endswith(".xlsx")


def test_token_bucket_allows_bursts_then_refills():
    bucket = TokenBucket(rate=1.0, capacity=3, now=0.0)
    for _ in range(3):
        assert bucket.wait_time(0.0) == 0
        bucket.take(0.0)
    assert bucket.wait_time(0.0) == pytest.approx(1.0)
    assert bucket.wait_time(0.5) == pytest.approx(0.5)
    assert bucket.wait_time(1.0) == 0


def test_sliding_window_is_a_hard_cap():
    window = SlidingWindow(capacity=20, window=60.0)
    for i in range(20):
        assert window.wait_time(float(i)) == 0
        window.take(float(i))
    assert window.wait_time(30.0) == pytest.approx(30.0)  # the first stamp expires at 60
    assert window.wait_time(60.0) == 0
    assert retry_after_seconds(0.01) == 1 and retry_after_seconds(2.2) == 3


def test_limits_update_validates():
    limits = EmulatorLimits()
    raised = limits.updated({"private_per_second": 50, "group_per_minute": None})
    assert raised.private_per_second == 50 and raised.group_per_minute is None
    assert limits.private_per_second == 1  # frozen: the original is unchanged
    with pytest.raises(ValueError, match="unknown limit"):
        limits.updated({"nope": 1})
    with pytest.raises(ValueError, match="number or null"):
        limits.updated({"max_text_length": "big"})
    unlimited = EmulatorLimits.unlimited()
    assert unlimited.global_per_second is None and unlimited.max_text_length == 4096
