"""Loop timing figures: how late each cycle started, how many deadlines were missed, step cost."""

from __future__ import annotations

import math
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
    def __init__(self, period_s: float) -> None:
        self.period_s = period_s
        self.lateness: list[float] = []
        self.step_s: list[float] = []
        self.missed = 0

    def record_lateness(self, lateness_s: float) -> None:
        self.lateness.append(max(0.0, lateness_s))

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

    def summary(self) -> LoopStats:
        late = np.array(self.lateness or [0.0]) * 1e6
        steps = np.array(self.step_s or [0.0]) * 1e6
        return LoopStats(
            rate_hz=1.0 / self.period_s,
            cycles=len(self.lateness),
            period_p50_us=float(np.percentile(late, 50)),
            period_p99_us=float(np.percentile(late, 99)),
            period_max_us=float(late.max()),
            missed_deadlines=self.missed,
            step_p99_us=float(np.percentile(steps, 99)),
            step_mean_us=float(steps.mean()),
        )
