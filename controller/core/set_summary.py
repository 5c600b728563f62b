"""What a set was, in the figures a lifter reads after it (the summary card of Tonal, Vitruvian and
the VBT apps): reps, volume, time under tension, velocity and its loss, and how much more the
lowering carried than the lift."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from statistics import fmean

from controller.core.reps import RepMetrics


@dataclass(frozen=True, slots=True)
class SetSummary:
    reps: int  # counted reps: a failed one is not a rep
    failed_reps: int
    load_kg: float
    volume_kg: float  # load x counted reps, as logbooks count it
    time_under_tension_s: float
    best_velocity_mps: float  # mean concentric velocity of the fastest rep
    mean_velocity_mps: float
    velocity_loss_pct: float  # the last counted rep against the fastest
    eccentric_concentric_ratio: float | None  # mean lowering force over mean lifting force
    eccentric_concentric_power_ratio: float | None  # peak lowering power over peak lifting power


def summarise_set(reps: Sequence[RepMetrics], load_kg: float) -> SetSummary | None:
    """None for a set without a single rep: there is nothing to sum up. A flywheel's spin-up reps
    are left out."""
    reps = [r for r in reps if not r.pre_rep]
    if not reps:
        return None
    counted = [r for r in reps if not r.failed]
    velocities = [r.mean_concentric_velocity_mps for r in counted]
    best = max(velocities, default=0.0)
    loss = 100.0 * (best - velocities[-1]) / best if best > 0 else 0.0
    lifting = fmean([r.mean_concentric_force_n for r in counted]) if counted else 0.0
    lowering = fmean([r.mean_eccentric_force_n for r in reps])
    return SetSummary(
        reps=len(counted),
        failed_reps=len(reps) - len(counted),
        load_kg=load_kg,
        volume_kg=load_kg * len(counted),
        time_under_tension_s=sum(r.time_under_tension_s for r in reps),
        best_velocity_mps=best,
        mean_velocity_mps=fmean(velocities) if velocities else 0.0,
        velocity_loss_pct=max(0.0, loss),
        eccentric_concentric_ratio=lowering / lifting if lifting > 0 else None,
        eccentric_concentric_power_ratio=_peak_power_ratio(counted),
    )


def _peak_power_ratio(reps: Sequence[RepMetrics]) -> float | None:
    """The flywheel's own figure of overload (kMeter shows it): measured reps only."""
    lifting = [r.peak_concentric_power_w for r in reps]
    lowering = [r.peak_eccentric_power_w for r in reps]
    if not reps or min(lifting) <= 0.0:
        return None
    return fmean(lowering) / fmean(lifting)
