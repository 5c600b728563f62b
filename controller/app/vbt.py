"""Velocity-based training: a load-velocity profile from a few submaximal sets, and the 1RM it
predicts at the lift's minimum velocity threshold (MVT, the speed of a true max), with its
uncertainty.

Each set contributes its fastest rep's mean concentric velocity (the least tired, most honest
effort). The profile is a straight line, as it is for most lifts over 30-90 % of 1RM; the 1RM is
the load where the line reaches the MVT. The uncertainty is the standard error of that inverse
prediction (delta method on the fit's covariance; zero-residual fits fall back to the scatter of
velocities the line could not explain, never less than MIN_VELOCITY_SD_MPS).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from controller.core.reps import RepMetrics

MIN_VELOCITY_SD_MPS = 0.02  # a rep-to-rep spread any real lifter shows


@dataclass(frozen=True, slots=True)
class LoadVelocityProfile:
    slope_mps_per_kg: float  # negative: heavier is slower
    intercept_mps: float  # velocity at zero load, by extrapolation
    points: tuple[tuple[float, float], ...]  # (load kg, best mean concentric velocity m/s)
    residual_sd_mps: float

    def velocity_at(self, load_kg: float) -> float:
        return self.intercept_mps + self.slope_mps_per_kg * load_kg

    def load_at(self, velocity_mps: float) -> float:
        return (velocity_mps - self.intercept_mps) / self.slope_mps_per_kg


@dataclass(frozen=True, slots=True)
class OneRmEstimate:
    kg: float
    sd_kg: float  # one standard error
    mvt_mps: float


class VbtError(ValueError):
    pass


def best_velocity(reps: Sequence[RepMetrics]) -> float:
    good = [r.mean_concentric_velocity_mps for r in reps if not r.failed and not r.assisted]
    if not good:
        raise VbtError("a set with no complete, unassisted rep says nothing about velocity")
    return max(good)


def fit_profile(sets: Sequence[tuple[float, Sequence[RepMetrics]]]) -> LoadVelocityProfile:
    """`sets`: (load kg, the set's reps) for at least two different loads."""
    points = tuple((load, best_velocity(reps)) for load, reps in sets)
    loads = np.array([p[0] for p in points])
    if len(set(loads.tolist())) < 2:
        raise VbtError("a load-velocity profile needs sets at two or more different loads")
    velocities = np.array([p[1] for p in points])
    slope, intercept = np.polyfit(loads, velocities, 1)
    if slope >= 0:
        raise VbtError("velocity did not fall with load: the sets were not all-out efforts")
    residuals = velocities - (intercept + slope * loads)
    dof = max(1, len(points) - 2)
    sd = max(MIN_VELOCITY_SD_MPS, float(np.sqrt(np.sum(residuals**2) / dof)))
    return LoadVelocityProfile(float(slope), float(intercept), points, sd)


def estimate_one_rm(profile: LoadVelocityProfile, mvt_mps: float) -> OneRmEstimate:
    loads = np.array([p[0] for p in profile.points])
    n, mean, sxx = len(loads), float(loads.mean()), float(np.sum((loads - loads.mean()) ** 2))
    estimate = profile.load_at(mvt_mps)
    # inverse prediction of a mean response: x0 = (y0 - b) / m
    sd = (
        profile.residual_sd_mps
        / abs(profile.slope_mps_per_kg)
        * np.sqrt(1.0 / n + (estimate - mean) ** 2 / sxx)
    )
    return OneRmEstimate(estimate, float(sd), mvt_mps)
