"""Every reading checked against physics before the loop may decide on it.

A misread register (a 32-bit value read in the wrong word order, a wrong counts-per-revolution, a
drive counting the other way) produces numbers that look like motion. Three checks catch them, each
naming the register and the map so the fix is obvious:
- position within the cable: behind the dock or past the cable's end is no place a handle can be;
- speed within the motor's maximum;
- the velocity register (physical: rpm) agreeing with the change of position over a short window.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass

from controller.config import MachineConfig
from controller.drive.base import DriveFeedback

DOCK_MARGIN_M = 0.05  # behind the dock, beyond what the cable can stretch
END_MARGIN_M = 0.1
SPEED_MARGIN = 1.1
AGREEMENT_WINDOW_S = 0.05
AGREEMENT_RELATIVE = 0.3  # a wrong scale is 10x or 13x off; a right one within a few per cent
AGREEMENT_ABSOLUTE_M = 0.005  # velocity quantisation (1 rpm) and one sample of lag over a window


@dataclass(frozen=True, slots=True)
class _Sample:
    time_s: float
    angle_rad: float
    integral_rad: float  # the velocity register integrated since the window began


class FeedbackCheck:
    def __init__(self, machine: MachineConfig, sources: Mapping[str, str]) -> None:
        self._along_cable = machine.payout_sign * machine.metres_per_rad
        self._metres_per_rad = machine.metres_per_rad
        stretch = machine.limits.max_tension_n / machine.cable.stiffness_n_per_m
        self.min_position_m = -(DOCK_MARGIN_M + stretch)
        self.cable_m = machine.cable.length_m
        self.max_position_m = self.cable_m + END_MARGIN_M
        self.max_rpm = machine.motor.max_speed_rpm
        self._max_rad_s = SPEED_MARGIN * self.max_rpm * 2.0 * math.pi / 60.0
        self._sources = sources
        self._window: deque[_Sample] = deque()
        self._last_velocity = 0.0
        self._disagreeing_since: float | None = None

    def source(self, quantity: str) -> str:
        return self._sources.get(quantity, quantity)

    def reset(self) -> None:
        self._window.clear()
        self._disagreeing_since = None

    def problem(self, fb: DriveFeedback) -> str | None:
        """Why this reading cannot be true, or None."""
        values = (fb.angle_rad, fb.velocity_rad_s, fb.torque_nm)
        if not all(math.isfinite(v) for v in values):
            return f"feedback is not a number ({self.source('position')}, {self.source('velocity')})"
        position_m = fb.angle_rad * self._along_cable
        if position_m < self.min_position_m:
            return (
                f"position reads {position_m:+.2f} m, behind the dock ({self.source('position')}): check "
                "[spool] payout in the machine file (the drive may count the other way), and that the "
                "handle was docked when the drive was switched on"
            )
        if position_m > self.max_position_m:
            return (
                f"position reads {position_m:.2f} m, past the {self.cable_m:.1f} m cable "
                f"({self.source('position')}): check the position scale (counts per revolution) and the "
                "word order of 32-bit registers"
            )
        if abs(fb.velocity_rad_s) > self._max_rad_s:
            rpm = fb.velocity_rad_s * 60.0 / (2.0 * math.pi)
            return (
                f"speed reads {rpm:.0f} rpm, above the motor's {self.max_rpm:.0f} rpm "
                f"({self.source('velocity')}): check its scale and the word order of 32-bit registers"
            )
        return self._disagreement(fb)

    def _disagreement(self, fb: DriveFeedback) -> str | None:
        window = self._window
        if window and fb.time_s - window[-1].time_s > AGREEMENT_WINDOW_S:
            self.reset()  # a gap in the readings: start again rather than integrate across it
        integral = 0.0
        if window:
            last = window[-1]
            integral = last.integral_rad + 0.5 * (self._last_velocity + fb.velocity_rad_s) * (
                fb.time_s - last.time_s
            )
        window.append(_Sample(fb.time_s, fb.angle_rad, integral))
        self._last_velocity = fb.velocity_rad_s
        while len(window) > 2 and fb.time_s - window[1].time_s >= AGREEMENT_WINDOW_S:
            window.popleft()
        oldest = window[0]
        span = fb.time_s - oldest.time_s
        if span < AGREEMENT_WINDOW_S:
            return None
        moved = fb.angle_rad - oldest.angle_rad
        integrated = integral - oldest.integral_rad
        tolerance = AGREEMENT_RELATIVE * max(abs(moved), abs(integrated))
        tolerance += AGREEMENT_ABSOLUTE_M / self._metres_per_rad
        if abs(moved - integrated) <= tolerance:
            self._disagreeing_since = None
            return None
        if self._disagreeing_since is None:
            self._disagreeing_since = fb.time_s
        if fb.time_s - self._disagreeing_since < AGREEMENT_WINDOW_S:
            return None  # one odd sample passes through a window; a wrong scale stays
        k = self._metres_per_rad
        return (
            f"velocity and position disagree: {self.source('velocity')} says {integrated * k:+.3f} m "
            f"in {span * 1e3:.0f} ms, {self.source('position')} says {moved * k:+.3f} m: check the "
            "position scale (counts per revolution), the word order of 32-bit registers, and that "
            "both count the same way"
        )
