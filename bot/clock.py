"""One place that says what time it is, so tests and the demo can move it."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

_offset = timedelta(seconds=float(os.environ.get("WARDBOT_CLOCK_OFFSET_SECONDS", "0") or 0))


def now() -> datetime:
    """Timezone-aware UTC time, shifted by the test offset when one is set."""
    return datetime.now(UTC) + _offset


def shift(delta: timedelta) -> None:
    """Move the clock of this process (tests and the demo's time travel)."""
    global _offset
    _offset += delta


def reset() -> None:
    global _offset
    _offset = timedelta(0)
