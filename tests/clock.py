"""A clock tests move by hand: ``clock.now += 31`` is half a minute later, for whatever took
``clock`` (stores' leases, sessions' expiry) instead of ``time.time``."""

from __future__ import annotations


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now
