"""Loop timing figures: how late each cycle started, how many deadlines were missed, step cost."""

from __future__ import annotations

import itertools
import math
from collections import deque
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class LoopStats:
    rate_hz: float
    cycles: int
    period_p50_us: float
    period_p99_us: float
    period_max_us: float
    missed_deadlines: int
    step_p99_us: float
    step_mean_us: float = 0.0


class PeriodStats:
    """`window` bounds memory for a loop that runs for hours: figures are then over its last
    `window` cycles (missed deadlines are always counted in full)."""

    def __init__(self, period_s: float, window: int | None = None) -> None:
        self.period_s = period_s
        self.lateness: deque[float] = deque(maxlen=window)
        self.step_s: deque[float] = deque(maxlen=window)
        self.missed = 0
        self.cycles = 0

    def record_lateness(self, lateness_s: float) -> None:
        self.lateness.append(max(0.0, lateness_s))
        self.cycles += 1

    def record_step(self, seconds: float) -> None:
        self.step_s.append(seconds)

    def skip_missed(self, now_s: float, next_deadline_s: float) -> int:
        """Deadlines already wholly past are skipped, not run in a burst; they count as missed."""
        behind = now_s - next_deadline_s
        if behind <= self.period_s:
            return 0
        skipped = math.floor(behind / self.period_s)
        self.missed += skipped
        return skipped

    def summary(self, last: int | None = None) -> LoopStats:
        """Over every cycle kept, or only the `last` ones (cheap enough to call while running)."""
        late = np.array(self._newest(self.lateness, last) or [0.0]) * 1e6
        steps = np.array(self._newest(self.step_s, last) or [0.0]) * 1e6
        return LoopStats(
            rate_hz=1.0 / self.period_s,
            cycles=self.cycles,
            period_p50_us=float(np.percentile(late, 50)),
            period_p99_us=float(np.percentile(late, 99)),
            period_max_us=float(late.max()),
            missed_deadlines=self.missed,
            step_p99_us=float(np.percentile(steps, 99)),
            step_mean_us=float(steps.mean()),
        )

    @staticmethod
    def _newest(values: deque[float], last: int | None) -> list[float]:
        # Read while the loop's thread appends (a status asked for from another thread): iterating
        # the live deque raised "deque mutated during iteration"; copy() is one C call under the GIL.
        kept = values.copy()
        if last is None:
            return list(kept)
        return list(itertools.islice(reversed(kept), last))
