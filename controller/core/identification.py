"""The machine's own mechanics from the free handle coming back: least squares on

    m * dv/dt = -F_wind - F_c * sign(v) - b * v

integrated over short windows so no acceleration is differentiated from noisy speed:

    m * (v1 - v0) + F_c * integral(sign v) + b * (x1 - x0) = -integral(F_wind)

m is the reflected inertia of motor and spool, F_c the Coulomb and b the viscous friction, F_wind
the motor's pull on the cable. Only coasting counts: while the spool slows, a free handle (next to
no friction of its own) runs on ahead on a slack cable, so the spool is alone in the equation. While
it speeds up the handle may or may not be riding along yet, so those stretches are left out.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from controller.core.kinematics import CableSample

TRIM_ROUNDS = 3
TRIM_SPREADS = 4.0  # median absolute misfits
MIN_SPEED_MPS = 0.03  # below this the sign of friction is not known
MIN_EQUATIONS = 6


@dataclass(frozen=True, slots=True)
class Identified:
    reflected_mass_kg: float  # motor and spool inertia as felt at the cable
    coulomb_n: float
    viscous_n_s_per_m: float
    residual_n: float  # RMS misfit, as a mean force over a window
    equations: int


class NotEnoughMotion(ValueError):
    pass


def identify(coasts: Sequence[Sequence[CableSample]], window_s: float) -> Identified:
    rows: list[tuple[float, float, float]] = []
    targets: list[float] = []
    spans: list[float] = []
    for coast in coasts:
        for window in _windows(coast, window_s):
            speeds = [s.velocity_mps for s in window]
            if min(speeds) * max(speeds) <= 0 or min(abs(v) for v in speeds) < MIN_SPEED_MPS:
                continue
            sign = 1.0 if speeds[0] > 0 else -1.0
            # A drive reports at each reading the torque it held over the period just ended.
            impulse = 0.0
            for before, after in itertools.pairwise(window):
                impulse += after.motor_force_n * (after.time_s - before.time_s)
            span = window[-1].time_s - window[0].time_s
            rows.append((speeds[-1] - speeds[0], sign * span, window[-1].position_m - window[0].position_m))
            targets.append(-impulse)
            spans.append(span)
    if len(rows) < MIN_EQUATIONS:
        raise NotEnoughMotion(f"only {len(rows)} stretches of coasting: the handle hardly moved")
    return _fit(np.array(rows, dtype=np.float64), np.array(targets, dtype=np.float64), np.array(spans))


def _windows(samples: Sequence[CableSample], window_s: float) -> list[Sequence[CableSample]]:
    out: list[Sequence[CableSample]] = []
    start = 0
    for end in range(1, len(samples)):
        if samples[end].time_s - samples[start].time_s >= window_s:
            out.append(samples[start : end + 1])
            start = end
    return out


def _fit(matrix: np.ndarray, y: np.ndarray, spans: np.ndarray) -> Identified:
    keep = np.ones(len(y), dtype=bool)
    for _ in range(TRIM_ROUNDS):
        # A window the model cannot explain (the spool catching up its handle: the cable snaps
        # taut) pulls a plain least-squares fit off: refit without the outliers.
        solution, *_ = np.linalg.lstsq(matrix[keep], y[keep], rcond=None)
        misfit = (matrix @ solution - y) / spans
        spread = np.median(np.abs(misfit[keep])) + 1e-9
        keep = np.abs(misfit) <= TRIM_SPREADS * spread
    mass, coulomb, viscous = (float(v) for v in solution)
    rms = float(np.sqrt(np.mean(misfit[keep] ** 2)))
    return Identified(mass, coulomb, viscous, rms, int(keep.sum()))
