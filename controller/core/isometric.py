"""Isometric strength test: hold the handle still against the person's pull, then peak force,
rate of force development and left/right symmetry from the force trace.

In torque mode "still" is a stiff virtual spring about where the handle was when the test began:
the tension rises with how far it is pulled out (HOLD_STIFFNESS; 150 N moves it 7.5 mm) and with its
speed (damping), from the start force up to the profile's load.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TextIO

import numpy as np

from controller.config import MachineConfig
from controller.config.profile import IsometricConfig
from controller.core.estimator import friction_force_n
from controller.core.profile_input import ProfileInput

HOLD_STIFFNESS_N_PER_M = 8_000.0
HOLD_DAMPING_N_PER_MPS = 400.0
ONSET_ABOVE_N = 10.0  # the pull has begun once the force is this far above its resting level
RFD_WINDOW_S = 0.2  # rate of force development over the first 200 ms, as clinics report it


def pulled_force_n(machine: MachineConfig, felt_tension_n: float, velocity_mps: float) -> float:
    """The person's pull on a held handle. Held still, friction could be anything within its
    Coulomb band and the felt-tension estimate takes it as none; but a handle that was pulled out
    and stopped is held by friction acting fully outward (it keeps its last sign until the pull
    drops by twice the band), so the whole band is the person's."""
    if velocity_mps < 0.0:
        return felt_tension_n
    return felt_tension_n + machine.friction.coulomb_n - friction_force_n(machine, velocity_mps)


class IsometricHold:
    def __init__(self, config: IsometricConfig, level_n: float) -> None:
        self.config = config
        self.level_n = level_n
        self.anchor_m: float | None = None
        self.started_s: float | None = None

    def factor(self, inp: ProfileInput) -> float:
        if self.anchor_m is None:
            self.anchor_m, self.started_s = inp.position_m, inp.now_s
        pulled = max(0.0, inp.position_m - self.anchor_m)
        tension = (
            self.config.start_force_n
            + HOLD_STIFFNESS_N_PER_M * pulled
            + HOLD_DAMPING_N_PER_MPS * inp.velocity_mps
        )
        return min(1.0, max(self.config.start_force_n, tension) / self.level_n)

    def done(self, now_s: float) -> bool:
        return self.started_s is not None and now_s - self.started_s >= self.config.duration_s


@dataclass(frozen=True, slots=True)
class IsometricResult:
    peak_n: float
    time_to_peak_s: float
    rfd_n_per_s: float  # mean rate over the first RFD_WINDOW_S after onset


def analyse(times_s: Sequence[float], forces_n: Sequence[float]) -> IsometricResult:
    t, f = np.asarray(times_s, dtype=float), np.asarray(forces_n, dtype=float)
    if len(t) < 2:
        raise ValueError("an isometric trace needs at least 2 samples")
    baseline = float(np.median(f[: max(1, len(f) // 20)]))
    above = np.nonzero(f > baseline + ONSET_ABOVE_N)[0]
    onset = int(above[0]) if len(above) else 0
    peak = int(np.argmax(f))
    at_window = float(np.interp(t[onset] + RFD_WINDOW_S, t, f))
    return IsometricResult(
        peak_n=float(f[peak]),
        time_to_peak_s=float(t[peak] - t[onset]),
        rfd_n_per_s=(at_window - float(f[onset])) / RFD_WINDOW_S,
    )


def symmetry_pct(left: IsometricResult, right: IsometricResult) -> float:
    """Limb symmetry index: the weaker side's peak as a percentage of the stronger's."""
    stronger = max(left.peak_n, right.peak_n)
    return 100.0 * min(left.peak_n, right.peak_n) / stronger if stronger > 0 else 0.0


def write_trace_csv(
    out: TextIO, times_s: Sequence[float], forces_n: Sequence[float], side: str, header: bool = True
) -> None:
    """`header` False: another side's rows under the first's, one table for both."""
    writer = csv.writer(out)
    if header:
        writer.writerow(["side", "time_s", "force_n"])
    for time_s, force_n in zip(times_s, forces_n, strict=True):
        writer.writerow([side, f"{time_s:.4f}", f"{force_n:.2f}"])
