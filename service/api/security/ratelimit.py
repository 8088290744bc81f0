"""A token bucket per identity: `burst` calls at once, refilled at `rate` per second.

A kind of identity may have its own size (`sizes`): a booking page's `quoter` token is
public in the page's source, so it gets a bucket sized for a booking page's traffic rather
than the allowance of a billing tool (docs/booking-pages.md)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping


class RateLimiter:
    def __init__(
        self,
        rate: float,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
        sizes: Mapping[str, tuple[float, int]] | None = None,
    ) -> None:
        self._rate = rate
        self._burst = float(burst)
        self._sizes = {kind: (r, float(b)) for kind, (r, b) in (sizes or {}).items()}
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # id -> (tokens, last time)
        self._lock = threading.Lock()

    def take(self, key: str, kind: str = "") -> float:
        """0.0 when the call may go ahead, else the seconds until one more token. `kind` (a
        role) picks its own bucket size when one is configured for it."""
        rate, burst = self._sizes.get(kind, (self._rate, self._burst))
        if rate <= 0:
            return 0.0
        with self._lock:
            now = self._clock()
            tokens, last = self._buckets.get(key, (burst, now))
            tokens = min(burst, tokens + (now - last) * rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / rate
