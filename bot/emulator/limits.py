"""Telegram's documented limits, as a tunable dataclass, and the rate limiters behind them."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import asdict, dataclass, fields, replace
from typing import Any


@dataclass(frozen=True, slots=True)
class EmulatorLimits:
    """Limits the emulator enforces; ``None`` switches a limit off.

    Defaults follow Telegram's published numbers (bots FAQ and Bot API docs).
    """

    max_text_length: int | None = 4096
    max_caption_length: int | None = 1024
    max_callback_data_bytes: int | None = 64
    max_callback_answer_length: int | None = 200
    # Bot-wide broadcast limit: about 30 messages per second.
    global_per_second: float | None = 30
    # One message per second to one private chat, with short bursts tolerated.
    private_per_second: float | None = 1
    private_burst: int = 3
    # Twenty messages per minute to one group.
    group_per_minute: int | None = 20
    max_upload_bytes: int | None = 50 * 1024 * 1024
    max_download_bytes: int | None = 20 * 1024 * 1024
    # How often a failing webhook is retried before the update is dropped.
    webhook_max_attempts: int = 6
    webhook_retry_base_seconds: float = 0.05

    @classmethod
    def unlimited(cls) -> EmulatorLimits:
        """Content limits kept, every rate limit switched off (for benchmarks)."""
        return cls(global_per_second=None, private_per_second=None, group_per_minute=None)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def updated(self, changes: dict[str, Any]) -> EmulatorLimits:
        """Return a copy with ``changes`` applied; unknown or ill-typed keys raise ValueError."""
        known = {f.name: f for f in fields(self)}
        clean: dict[str, Any] = {}
        for key, value in changes.items():
            if key not in known:
                raise ValueError(f"unknown limit {key!r}")
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int | float)
            ):
                raise ValueError(f"limit {key!r} must be a number or null")
            if value is not None and value < 0:
                raise ValueError(f"limit {key!r} must not be negative")
            clean[key] = value
        return replace(self, **clean)


def retry_after_seconds(wait: float) -> int:
    """Telegram reports whole seconds and never 0, or clients would retry at once."""
    return max(1, math.ceil(wait))


class TokenBucket:
    """Allows ``capacity`` events at once, refilled at ``rate`` per second."""

    __slots__ = ("capacity", "rate", "stamp", "tokens")

    def __init__(self, rate: float, capacity: float, now: float) -> None:
        self.rate = rate
        self.capacity = max(capacity, 1.0)
        self.tokens = self.capacity
        self.stamp = now

    def wait_time(self, now: float) -> float:
        """Seconds until one token is available (0 if one is available now)."""
        self._refill(now)
        if self.tokens >= 1.0:
            return 0.0
        if self.rate <= 0:
            return math.inf
        return (1.0 - self.tokens) / self.rate

    def take(self, now: float) -> None:
        self._refill(now)
        self.tokens -= 1.0

    def _refill(self, now: float) -> None:
        elapsed = now - self.stamp
        if elapsed > 0:
            self.tokens = min(self.capacity, self.tokens + elapsed * self.rate)
            self.stamp = now


class SlidingWindow:
    """At most ``capacity`` events in any ``window`` seconds.

    Used for groups because "20 per minute" is a hard window on Telegram, not a rate.
    Only the newest ``capacity`` stamps are kept, so each check is O(1) amortised.
    """

    __slots__ = ("capacity", "stamps", "window")

    def __init__(self, capacity: int, window: float) -> None:
        self.capacity = capacity
        self.window = window
        self.stamps: deque[float] = deque()

    def wait_time(self, now: float) -> float:
        stamps = self.stamps
        while stamps and now - stamps[0] >= self.window:
            stamps.popleft()
        if len(stamps) < self.capacity:
            return 0.0
        if self.capacity <= 0:
            return math.inf
        return stamps[0] + self.window - now

    def take(self, now: float) -> None:
        self.stamps.append(now)
