"""Weight feel: what the person feels of mass as the handle speeds up and slows down.

The person feels the motor's pull, friction (already compensated in the loop) and the machine's
reflected inertia times the acceleration (4.5 kg on the 2 kW build).

`pure` closes a loop on the tension itself: the correction is PURE_GAIN times the gap between the
level and the tension the TensionObserver sees. That cancels PURE_GAIN / (1 + PURE_GAIN) of the
machine's inertia (60 %), through an estimate that knows the motor's force at once. Cancelling
through the filtered acceleration instead made the handle oscillate at ~5 Hz from 55 % on, against
the simulated athlete. The loop rings near 75 %, so 60 % leaves room for a reflected inertia
configured up to ~20 % too high; past that, the ring guard below switches the correction off.
Slower loops get a lower gain (pure_gain).

`weight_stack` adds inertia until the person feels a stack of the load's mass, as on a
plate-loaded machine (a stack lighter than the machine's own inertia feels like the machine). Added
mass is damped, not destabilised, by the acceleration's lag, so it uses the smooth estimate.

Both are bounded (max_correction_pct of the level) and dropped when the handle is reeling in fast --
a let-go -- so the correction never pulls harder on a handle that is flying back.

Whatever the mode, the cable is kept taut on the way out (`taut_take_up_n`). A light handle lifted
fast and stopped at the top leaves the spool coasting: its 4.5 kg is slowed by the level alone (20 N:
4.4 m/s^2), the hand stops harder, and the spool ran on 17 cm past it with the cable slack; reeling
that in looked like a let-go, and the set loaded in again at every rep (issue 19). So while the cable
pays out and carries less than the level, the pure law pulls the gap back in, faded in with the
speed and bounded by TAKE_UP_MOST_MPS2 on the spool. It only ever slows a spool that is running
out, never pulls on one coming in; paced sets (isokinetic, isometric, adaptive) go without it.
"""

from __future__ import annotations

from collections import deque

from controller.config import MachineConfig
from controller.config.profile import FeelConfig, FeelMode
from controller.core.estimator import Motion
from controller.units import STANDARD_GRAVITY_MPS2

LET_GO_SPEED_MPS = -0.5
TAKE_UP_SPEED_MPS = 0.05  # paying out: the handle held still does not count
TAKE_UP_FULL_MPS = 0.5  # faded in above this: a spool about to turn is not pulled harder
# The spool slowed by at most this much more than the level does: a hand stopping at the top of a
# fast lift slows at 9-20 m/s^2 (simulated trained athlete, 2-16 kg); 45 N on the 2 kW build.
TAKE_UP_MOST_MPS2 = 10.0
PURE_GAIN = 1.5
# Below this rate the drive's one-period delay costs phase at the cable's resonance; the gain falls
# linearly to nothing at LOWEST_PURE_RATE_HZ (measured stable at 100 and 200 Hz on the 2 kW build).
FULL_PURE_RATE_HZ = 250.0
LOWEST_PURE_RATE_HZ = 50.0
# A correction that swings past half its bound one way, then the other, this often within the
# window is ringing, not following a person: light, fast sets swing it at most 5 times, a ringing
# loop (10-30 Hz) 10-17 times.
RING_LEVEL = 0.5
RING_SWINGS = 8
RING_WINDOW_S = 0.5


def pure_gain(rate_hz: float) -> float:
    span = FULL_PURE_RATE_HZ - LOWEST_PURE_RATE_HZ
    return PURE_GAIN * max(0.0, min(1.0, (rate_hz - LOWEST_PURE_RATE_HZ) / span))


def inertia_correction_n(feel: FeelConfig, machine: MachineConfig, level_n: float, m: Motion) -> float:
    """Force to add to the motor's request so the person feels the chosen mass (unbounded)."""
    if feel.mode is FeelMode.MACHINE or m.velocity_mps < LET_GO_SPEED_MPS:
        return 0.0
    if feel.mode is FeelMode.PURE:
        return pure_gain(machine.control.rate_hz) * (level_n - m.observed_tension_n)
    added_kg = max(0.0, level_n / STANDARD_GRAVITY_MPS2 - machine.reflected_mass_kg)
    return added_kg * m.acceleration_mps2


def taut_take_up_n(machine: MachineConfig, level_n: float, m: Motion) -> float:
    """Extra pull while the spool pays out faster than the hand takes the cable. Not bounded by the
    feel's max_correction_pct, which at 20 N would be 5 N: the gap is the whole level."""
    if m.velocity_mps <= TAKE_UP_SPEED_MPS:
        return 0.0
    gap = pure_gain(machine.control.rate_hz) * max(0.0, level_n - m.observed_tension_n)
    most = machine.reflected_mass_kg * TAKE_UP_MOST_MPS2
    return min(most, gap) * min(1.0, m.velocity_mps / TAKE_UP_FULL_MPS)


class FeelCorrection:
    """The bounded correction for one set, switched off for the rest of it if it starts ringing (a
    reflected inertia configured too high, a drive slower than modelled)."""

    def __init__(self, feel: FeelConfig, machine: MachineConfig, take_up: bool = True) -> None:
        self.feel = feel
        self.machine = machine
        self.take_up = take_up
        self.ringing = False
        self._last_side = 0  # which way the correction last swung past RING_LEVEL: +1, -1, 0 not yet
        self._swings: deque[float] = deque()

    def correction_n(self, level_n: float, m: Motion) -> float:
        if self.ringing:
            return 0.0
        correction = inertia_correction_n(self.feel, self.machine, level_n, m)
        bound = self.feel.max_correction_pct / 100.0 * level_n
        if bound > 0.0 and abs(correction) >= RING_LEVEL * bound:
            self._note_swing(m.time_s, 1 if correction > 0.0 else -1)
            if self.ringing:
                return 0.0
        bounded = max(-bound, min(bound, correction))
        take_up = taut_take_up_n(self.machine, level_n, m) if self.take_up else 0.0
        return max(bounded, take_up) if take_up > 0.0 else bounded

    def _note_swing(self, time_s: float, side: int) -> None:
        if side == self._last_side:
            return
        if self._last_side:
            self._swings.append(time_s)
        self._last_side = side
        while self._swings and time_s - self._swings[0] > RING_WINDOW_S:
            self._swings.popleft()
        self.ringing = len(self._swings) >= RING_SWINGS
