"""Load changes as shaped ramps, never steps: a raised cosine whose steepest slope stays within
the machine's slew limit (the ramp is lengthened when the configured one would be steeper)."""

from __future__ import annotations

import math


class Ramp:
    def __init__(self, initial_n: float, slew_up_n_per_s: float) -> None:
        self._from = self._to = initial_n
        self._start_s = 0.0
        self._duration_s = 0.0
        self._slew = slew_up_n_per_s
        self.value_n = initial_n

    @property
    def target_n(self) -> float:
        return self._to

    def settled(self, now_s: float) -> bool:
        return now_s >= self._start_s + self._duration_s

    def go_to(self, target_n: float, now_s: float, duration_s: float) -> None:
        if target_n == self._to:
            return
        self._from = self.at(now_s)
        self._to = target_n
        self._start_s = now_s
        steepest = 0.5 * math.pi * abs(target_n - self._from) / self._slew
        self._duration_s = max(duration_s, 1.02 * steepest)

    def at(self, now_s: float) -> float:
        if self._duration_s <= 0.0 or now_s >= self._start_s + self._duration_s:
            self.value_n = self._to
        else:
            fraction = max(0.0, (now_s - self._start_s) / self._duration_s)
            blend = 0.5 - 0.5 * math.cos(math.pi * fraction)
            self.value_n = self._from + (self._to - self._from) * blend
        return self.value_n
