"""Holding the handle's speed by trimming the tension: isokinetic work, and the lowering pace of
adaptive eccentric.

The person is a force source; the machine chooses the tension. Going faster than the target on
the way out (or lowering slower than it on the way in) means the tension is below what they push:
more; the other way: less. A PI on the relative speed error gives the factor on the profile's level,
clamped to a band with the integrator held inside it (no wind-up). The integral of the speed error
is the distance behind the planned pace, so the integrator also brings a late start back on
schedule.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from controller.config.profile import AdaptiveConfig, IsokineticConfig
from controller.core.profile_input import ProfileInput

# Relative units: a 10 % speed error moves the factor by KP * 0.1 at once and KI * 0.1 per second.
# Tuned on the simulated rehab patient (2 kW machine, 0.1-0.3 m/s, tests/test_isokinetic.py): the
# integral is what reaches the person's force in the few tenths of a second a slow rep allows; KP
# damps it. At four times these the lift hunts (its mean speed 30 % over the target).
KP = 1.0
KI = 25.0
# The speed asked for rises from rest over this long, as a person's own does: a pace hold that
# wanted full speed at once would yank the handle at the turnaround (and read as a let-go).
RAMP_IN_S = 0.15
# An isokinetic lowering slows to a stop at the bottom of the range at this deceleration, instead
# of pulling the person past the bottom they came from.
BRAKE_MPS2 = 1.0


@dataclass(frozen=True, slots=True)
class PaceBand:
    target_mps: float  # speed to hold, > 0 (the direction comes from the phase)
    low: float  # factor bounds on the level
    high: float
    start: float  # factor at the start of each phase


class PaceHold:
    def __init__(self, band: PaceBand) -> None:
        self.band = band
        self.target_mps = band.target_mps  # adaptive eccentric moves it within a lowering
        self._integral = band.start
        self._last_s: float | None = None
        self._start_s: float | None = None
        self.factor = band.start

    def restart(self) -> None:
        self._integral = self.band.start
        self._last_s = self._start_s = None
        self.factor = self.band.start

    def wanted_mps(self, now_s: float) -> float:
        """The speed to hold by now: the target, reached RAMP_IN_S after the restart."""
        if self._start_s is None:
            self._start_s = now_s
        return self.target_mps * min(1.0, (now_s - self._start_s) / RAMP_IN_S)

    def update(self, now_s: float, short_by_mps: float, high: float | None = None) -> float:
        """`short_by_mps` is positive when the tension is short of what the person pushes: a lift
        faster than the speed wanted, or a lowering slower than it. `high` lowers the band's top
        for this cycle."""
        band = self.band
        top = band.high if high is None else max(band.low, min(band.high, high))
        dt = 0.0 if self._last_s is None else min(0.05, max(0.0, now_s - self._last_s))
        self._last_s = now_s
        error = short_by_mps / self.target_mps
        self._integral = min(top, max(band.low, self._integral + KI * error * dt))
        self.factor = min(top, max(band.low, self._integral + KP * error))
        return self.factor


class Pacing:
    """A profile's pace holds: one for the lift (isokinetic only), one for the lowering, each
    restarted as its part of the rep begins."""

    def __init__(self, lowering: PaceHold, lifting: PaceHold | None, lowering_s: float | None) -> None:
        self.lowering = lowering
        self.lifting = lifting
        self._lowering_s = lowering_s  # a lowering duration to keep (its speed from the learned range)
        self._was_lowering: bool | None = None
        self._sum = 0.0
        self._weight = 0.0
        self._since_s = 0.0

    @classmethod
    def isokinetic(cls, config: IsokineticConfig, level_n: float) -> Pacing:
        floor = min(1.0, config.start_force_n / level_n)
        band = PaceBand(config.speed_mps, floor, 1.0, floor)
        return cls(PaceHold(band), PaceHold(band), None)

    @classmethod
    def adaptive(cls, config: AdaptiveConfig) -> Pacing:
        trim = config.trim_pct / 100.0
        band = PaceBand(1.0, 1.0 - trim, 1.0 + trim, 1.0)
        return cls(PaceHold(band), None, config.target_eccentric_s)

    def lowering_mean(self) -> float:
        """The lowering hold's mean factor over the last lowering (1 before any)."""
        return self._sum / self._weight if self._weight > 0 else 1.0

    def factor(self, inp: ProfileInput) -> float:
        now_s, lowering, velocity_mps = inp.now_s, inp.lowering, inp.velocity_mps
        if lowering != self._was_lowering:
            self._was_lowering = lowering
            self._since_s = now_s
            hold = self.lowering if lowering else self.lifting
            if hold is not None:
                hold.restart()
            if lowering:
                self._sum = self._weight = 0.0
        if not lowering:
            if self.lifting is None:
                return 1.0
            return self.lifting.update(now_s, velocity_mps - self.lifting.wanted_mps(now_s))
        hold = self.lowering
        wanted, high = hold.wanted_mps(now_s), None
        if self._lowering_s is not None:
            if inp.rom_m is None or inp.range_fraction is None:
                return 1.0
            hold.target_mps = self._catch_up_speed(now_s, inp.rom_m, inp.range_fraction)
        elif inp.height_m is not None:
            # the soft stop at the bottom: slower, and the pull easing off to the start force
            braking_mps = math.sqrt(2.0 * BRAKE_MPS2 * max(0.0, inp.height_m))
            wanted = min(wanted, braking_mps)
            band = hold.band
            high = band.low + (band.high - band.low) * braking_mps / hold.target_mps
        factor = hold.update(now_s, wanted + velocity_mps, high)
        self._sum += factor
        self._weight += 1.0
        return factor

    def _catch_up_speed(self, now_s: float, rom_m: float, fraction: float) -> float:
        """The speed that lands at the bottom on time from here: a slow start or a burst through a
        weak point is made up over the rest of the lowering, within half to twice the plain pace."""
        assert self._lowering_s is not None
        plain = rom_m / self._lowering_s
        left_s = self._lowering_s - (now_s - self._since_s)
        if left_s <= 0.0:
            return 2.0 * plain
        return min(2.0 * plain, max(0.5 * plain, fraction * rom_m / left_s))
