"""How a person meets a flywheel: pull as hard as they can to the top, let the disc take them back
into the lowering, then brake late and hard (Tesch et al. 2017; Exxentric's coaching: "delay the
braking to the last third"). Maximal effort both ways, so the eccentric overload is an outcome of
the disc and the person, not a setting."""

from __future__ import annotations

import math

SPIN_UP_MPS = 0.6  # the first pull only starts the disc, as every flywheel coach says
BRAKE_ZONE_FRACTION = 1.0 / 3.0  # of the range: where they brake, at the bottom
HOLD_FRACTION = 0.8  # of the cable's pull: what the hand holds at least, never pushing the handle in
# Riding the disc back, they give way while the cable pulls clearly harder than it did at rest, and
# go no faster once it does not: a hand that ran ahead of the disc would take the machine's least
# tension for a pull and reel in ahead of it.
YIELD_OVER_REST = 1.5
# How much faster than they are moving they let it take them: they go with the disc, never dive
# ahead of it (wanting twice the lift's speed at once, the hand outran the machine's reel-in on a
# light disc and the cable went slack, cut as a let-go at every rep from the second).
YIELD_STEP_MPS = 0.3
ON_DOWN_MPS = 0.3  # at least, on the way down to where they brake


class FlywheelIntent:
    def __init__(self) -> None:
        self.fastest_lift_mps = 0.0
        self._resting_pull_n = 0.0  # what the cable pulled at the bottom
        self._rep_index = 0
        self._braking_from_mps: float | None = None  # the speed they began braking at

    def lifting(self, rep_index: int, velocity_mps: float, wanted_mps: float, tension_n: float) -> float:
        """The lift's speed wanted: flat out, but the first pull only spins the disc up."""
        if rep_index != self._rep_index:
            self._rep_index = rep_index
            self._resting_pull_n = tension_n
            self.fastest_lift_mps = 0.0
            self._braking_from_mps = None
        self.fastest_lift_mps = max(self.fastest_lift_mps, velocity_mps)
        return min(wanted_mps, SPIN_UP_MPS) if rep_index == 1 else wanted_mps

    def lowering(self, height_m: float, rom_m: float, velocity_mps: float, tension_n: float) -> float:
        """The lowering's speed wanted (negative): stop going out, ride, brake to a stop at the bottom."""
        if velocity_mps > 0.0:
            return 0.0
        zone = BRAKE_ZONE_FRACTION * rom_m
        if height_m > zone and self._braking_from_mps is None:
            pulled = tension_n > YIELD_OVER_REST * self._resting_pull_n
            if pulled:
                return max(-2.0 * self.fastest_lift_mps, velocity_mps - YIELD_STEP_MPS)
            return min(velocity_mps, -ON_DOWN_MPS)
        if self._braking_from_mps is None:
            self._braking_from_mps = -velocity_mps
        return -self._braking_from_mps * math.sqrt(max(0.0, height_m) / zone)

    @staticmethod
    def least_pull_n(tension_n: float) -> float:
        return HOLD_FRACTION * tension_n
