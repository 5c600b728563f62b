"""What a person can push: force capacity as a function of handle position and speed.

capacity(x, v) = F_min * S(x) * fv(v / vmax)

- fv is Hill's hyperbola on the concentric side, f = (1-u)/(1+u/a), and a Thelen-style eccentric
  branch that rises to the plateau `eccentric_ratio` with twice the concentric slope at u = 0.
- S(x) is a strength curve over the range with its minimum (1.0) at a sticking region 30 % up.
  F_min is the isometric strength there, 5 % above the one-repetition maximum: a heavier load
  stalls at the sticking region, which is why 1RM is a true limit in this model while the mean
  velocity at 1RM stays above zero (the person moves faster where they are stronger), as in real
  lifts. `eccentric_plateau` is relative to F_min, so plateau * F_min = eccentric_ratio * 1RM.
- `amplitude` of S and `vmax` are fitted (calibration.py) so that full-effort lifts against a
  constant tension reproduce the configured load-velocity profile.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

STICKING_FRACTION = 0.3
STICKING_WIDTH = 0.05


@dataclass(frozen=True, slots=True)
class Strength:
    sticking_force_n: float
    amplitude: float
    vmax_mps: float
    hill_a: float
    eccentric_plateau: float
    start_m: float
    rom_m: float

    @property
    def eccentric_k(self) -> float:
        return (2.0 + 2.0 / self.hill_a) / (self.eccentric_plateau - 1.0)

    def curve(self, position_m: float) -> float:
        xi = (position_m - self.start_m) / self.rom_m
        xi = -0.2 if xi < -0.2 else 1.2 if xi > 1.2 else xi
        z = (xi - STICKING_FRACTION) / STICKING_WIDTH
        return 1.0 + self.amplitude * (1.0 - math.exp(-z * z))

    def force_velocity(self, velocity_mps: float) -> float:
        u = velocity_mps / self.vmax_mps
        if u >= 0.0:
            return 0.0 if u >= 1.0 else (1.0 - u) / (1.0 + u / self.hill_a)
        w = -u
        k = self.eccentric_k
        return (1.0 + k * self.eccentric_plateau * w) / (1.0 + k * w)

    def capacity(self, position_m: float, velocity_mps: float) -> float:
        return self.sticking_force_n * self.curve(position_m) * self.force_velocity(velocity_mps)
