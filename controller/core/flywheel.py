"""A virtual flywheel: the disc of an isoinertial machine (Exxentric's kBox, Desmotec), rendered by
the motor.

A real disc's cord is wound on its shaft: pulling the cord out spins the disc up; at full length the
cord winds back on the still-spinning disc, which pulls the cable in until the lifter has braked it
to a stop. The handle meets the disc as a mass of I / r^2 (0.05 kg*m^2 on a 25 mm shaft: 80 kg).

A motor cannot render that mass by feeding back the handle's measured acceleration: with the
spool's own 4.5 kg on the other side and a few milliseconds of delay, a gain sixteen times the
plant's mass oscillates. The disc is simulated instead, and joined to the cable by a virtual cord
(a stiff spring with damping that can only pull: Colgate's virtual coupling), as a real cord joins a
real disc. The tension is what the stretched cord pulls with.

The cord ends where the lifter stops driving the disc near the learned top, or where the hand stops
going out: the disc is never made to pull the handle in from mid-range by a cord length nobody
chose. Before a range is learned (the calibration lift) nobody knows where the cord ends, so the
disc stops where that lift turns instead of catching a hand that has already stopped: a catch that
late winds the slack in against a hand at rest, a jolt the gate may take for a let-go. The
machine's pull may rise (and fall) only so fast: where the cord would pull harder, it slips on the
shaft, so the disc is braked only by what the hand really meets. The disc stops at the bottom of
the learned range, since a cable cannot push the handle back out as a real disc's rewinding would,
and at once when the gate finds the cable let go, where a real disc whips the cord.
"""

from __future__ import annotations

import math

from controller.config.profile import FlywheelConfig

# The virtual cord: about the steel rope's own stiffness, with damping that settles the spool's side
# (4.5 kg: 10 Hz, damping ratio 0.5) within the 500 Hz loop's margin. Against a rigid pull the 80 kg
# disc rings on it at 2.5 Hz; a hand's own damping settles that, and more damping here (a ratio of
# 0.3 to 0.7 for the disc) made the catch at the top throw the hand ahead of the spool at 0.05-0.075
# kg*m^2 (a slack cable, cut as a let-go: bench/flywheel.py with the trained lifter).
CORD_STIFFNESS_N_PER_M = 20000.0
CORD_DAMPING_N_S_PER_M = 300.0
# The cord is at its end near the learned top once the lifter stops driving the disc (its pull fallen
# to this share of the lift's most), before the hand slows for the top; anywhere, once the hand
# stopped going out.
NEAR_TOP_FRACTION = 0.85
CATCH_PULL_FRACTION = 0.3
TURN_SPEED_MPS = 0.02
BOTTOM_FRACTION = 0.02  # of the learned range: the disc stops here on the way in
MAX_DT_S = 0.01


class VirtualDisc:
    def __init__(self, config: FlywheelConfig, max_winding_in_mps: float, slew_up_n_per_s: float) -> None:
        """`max_winding_in_mps`: the most the disc may reel the cable in at; what it spun up to beyond
        that is lost at the end of the cord. `slew_up_n_per_s`: how fast the machine's pull may rise."""
        self.mass_kg = config.mass_kg
        self.slew_up_n_per_s = slew_up_n_per_s
        self.max_speed_mps = math.sqrt(2.0 * config.max_energy_j / self.mass_kg)  # the energy cap
        self.max_winding_in_mps = min(self.max_speed_mps, max_winding_in_mps)
        self.cord_m: float | None = None  # where the cord's end is; None: the disc is at rest, unjoined
        self.speed_mps = 0.0  # the cord's speed, positive paying out
        self.winding_in = False
        self.spent = False  # the set is over: once stopped, the disc stays stopped
        self._last_s: float | None = None
        self._pull_n = 0.0
        self._most_pull_n = 0.0  # in this lift

    @property
    def energy_j(self) -> float:
        return 0.5 * self.mass_kg * self.speed_mps**2

    def stop(self) -> None:
        """The disc stops dead (a let-go, slack, the bottom): nothing it held is given back."""
        self.speed_mps = 0.0
        self.cord_m = None
        self.winding_in = False
        self._pull_n = self._most_pull_n = 0.0

    def pull_n(
        self, now_s: float, position_m: float, velocity_mps: float, range_fraction: float | None
    ) -> float:
        """The cord's pull on the cable this cycle (on top of the profile's least tension)."""
        dt = 0.0 if self._last_s is None else min(MAX_DT_S, max(0.0, now_s - self._last_s))
        self._last_s = now_s
        if self.spent and not self.winding_in:
            self.stop()
            return 0.0
        self._at_an_end(position_m, velocity_mps, range_fraction)
        if self.cord_m is None or (self.speed_mps == 0.0 and position_m < self.cord_m):
            self.cord_m = position_m  # at rest: the cord joins the cable where it is, never slack
        pull = self._cord_pull_n(position_m, velocity_mps, dt)
        # The cord only ever pulls the disc's rim outward: spinning it up going out, braking it coming in
        self.speed_mps = min(self.max_speed_mps, self.speed_mps + pull / self.mass_kg * dt)
        if self.winding_in and self.speed_mps >= 0.0:
            self.winding_in = False  # braked to a stop: the next pull spins it up again
        self.cord_m += self.speed_mps * dt
        self._pull_n = pull
        self._most_pull_n = max(self._most_pull_n, pull) if not self.winding_in else 0.0
        return pull

    def _cord_pull_n(self, position_m: float, velocity_mps: float, dt: float) -> float:
        """The stretched cord's pull, changing no faster than the machine's pull may rise. Where the
        cord would pull harder, it slips on the shaft: the disc is braked only by what the hand
        really meets, and what it slipped is lost, never stored to come back as a jolt once the
        pull catches up. A taut cord eases off at the same rate: a pull dropped in a cycle leaves the
        hand, still moving in, to run ahead of the spool on a slack cable."""
        assert self.cord_m is not None
        stretch = position_m - self.cord_m
        if stretch <= 0.0:
            return 0.0
        damping = CORD_DAMPING_N_S_PER_M * (velocity_mps - self.speed_mps)
        wanted = max(0.0, CORD_STIFFNESS_N_PER_M * stretch + damping)
        step = self.slew_up_n_per_s * dt
        pull = max(self._pull_n - step, min(wanted, self._pull_n + step))
        if pull < wanted:
            self.cord_m = position_m - max(0.0, pull - damping) / CORD_STIFFNESS_N_PER_M
        return pull

    def _at_an_end(self, position_m: float, velocity_mps: float, range_fraction: float | None) -> None:
        if self.winding_in:
            if range_fraction is not None and range_fraction <= BOTTOM_FRACTION:
                self.stop()
            return
        if self.speed_mps <= 0.0:
            return
        if range_fraction is None:
            if velocity_mps < TURN_SPEED_MPS:
                self.stop()
            return
        near_top = range_fraction >= NEAR_TOP_FRACTION
        let_up = near_top and self._pull_n < CATCH_PULL_FRACTION * self._most_pull_n
        if velocity_mps < TURN_SPEED_MPS or let_up:
            # The cord at its end winds back on the spinning disc. It catches the hand as it slows for
            # the top, as a real strap does, so the cable never goes slack between the two; the slack
            # it ran out is wound in at once, so the catch never comes as a whip.
            self.winding_in = True
            self.speed_mps = -min(self.speed_mps, self.max_winding_in_mps)
            self.cord_m = position_m
