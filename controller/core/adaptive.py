"""Adaptive eccentric: the lowering load that makes a maximal-effort lowering last the target time.

Near a person's eccentric limit the lowering time is very steep in the load (for the simulated
trained athlete 1 % more load can halve it) and every hard lowering tires them, so no load fixed
for a whole rep holds a tempo to 10 %. Within a lowering the load therefore keeps pace (pace.py)
inside a narrow trim band around the rep's load; between reps that load moves, by at most a step,
to where the trim settled -- the load that held the pace -- corrected for what the trim could not
make up. The set reports the mean lowering tension of the reps that took the target time.
"""

from __future__ import annotations

from controller.config.profile import AdaptiveConfig

# d ln(load) / d ln(lowering time) near the target: the eccentric Hill branch's log-slope at a
# few tenths of vmax, from 0.05 (plateau 1.3, the trained athlete) to 0.15 (plateau 1.8). Only
# the part of the error the trim could not absorb goes through it.
LOG_SLOPE = 0.07


class EccentricAdapter:
    def __init__(self, config: AdaptiveConfig, start_n: float, floor_n: float, ceiling_n: float) -> None:
        self.config = config
        self.floor_n = floor_n
        self.ceiling_n = ceiling_n
        self.load_n = min(ceiling_n, max(floor_n, start_n))
        self.on_target: list[float] = []  # mean lowering tension of the reps that took the target time

    @property
    def converged_n(self) -> float | None:
        return sum(self.on_target) / len(self.on_target) if self.on_target else None

    def rep_done(self, eccentric_s: float, mean_factor: float, mean_tension_n: float) -> None:
        """`mean_factor`: the trim's mean over the lowering (1: the rep's load as it was);
        `mean_tension_n`: what the person felt on average over it."""
        cfg = self.config
        ratio = eccentric_s / cfg.target_eccentric_s
        held = self.load_n * mean_factor
        if abs(ratio - 1.0) <= cfg.tolerance_pct / 100.0:
            self.on_target.append(mean_tension_n)
        step = cfg.max_step_pct / 100.0
        wanted = held * min(2.0, max(0.5, ratio)) ** LOG_SLOPE
        bounded = min(self.load_n * (1.0 + step), max(self.load_n * (1.0 - step), wanted))
        self.load_n = min(self.ceiling_n, max(self.floor_n, bounded))
