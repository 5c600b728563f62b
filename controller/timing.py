"""Clocks and pacing. The loop asks for the time and waits for deadlines only through these, so a
simulated set runs faster than real time with exactly the same decisions."""

from __future__ import annotations

import time
from typing import Protocol

# Sleeping is coarse on Linux; the last stretch before a deadline is spent spinning (DOMAIN.md s7).
_SPIN_S = 0.0005


class Clock(Protocol):
    def now(self) -> float: ...

    def wait_until(self, deadline_s: float) -> None: ...


class MonotonicClock:
    """Wall time from the process's monotonic clock, starting at zero."""

    def __init__(self) -> None:
        self._origin = time.perf_counter()

    def now(self) -> float:
        return time.perf_counter() - self._origin

    def wait_until(self, deadline_s: float) -> None:
        remaining = deadline_s - self.now()
        if remaining > _SPIN_S:
            time.sleep(remaining - _SPIN_S)
        while self.now() < deadline_s:
            pass


class SimulatedClock:
    """Time that jumps to each deadline: as fast as the computer allows."""

    def __init__(self, start_s: float = 0.0) -> None:
        self._now = start_s

    def now(self) -> float:
        return self._now

    def wait_until(self, deadline_s: float) -> None:
        self._now = max(self._now, deadline_s)
