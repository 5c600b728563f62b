"""Tempo feedback: how each rep's phases compared with the profile's target durations."""

from __future__ import annotations

from dataclasses import dataclass

from controller.config.profile import TempoConfig
from controller.core.reps import RepMetrics


@dataclass(frozen=True, slots=True)
class TempoFeedback:
    lowering: str  # "lower slower" | "lower faster" | "on tempo"
    lifting: str  # "lift slower" | "lift faster" | "on tempo"
    eccentric_error_pct: float
    concentric_error_pct: float

    @property
    def cue(self) -> str:
        """The one thing to say to the lifter: the lowering first, since it is what we train."""
        for cue in (self.lowering, self.lifting):
            if cue != "on tempo":
                return cue
        return "on tempo"


def _error_pct(actual_s: float, target_s: float) -> float:
    return 100.0 * (actual_s - target_s) / target_s


def _cue(verb: str, error_pct: float, tolerance_pct: float) -> str:
    if error_pct < -tolerance_pct:
        return f"{verb} slower"
    if error_pct > tolerance_pct:
        return f"{verb} faster"
    return "on tempo"


def tempo_feedback(rep: RepMetrics, tempo: TempoConfig) -> TempoFeedback:
    eccentric = _error_pct(rep.eccentric_s, tempo.eccentric_s)
    concentric = _error_pct(rep.concentric_s, tempo.concentric_s)
    return TempoFeedback(
        lowering=_cue("lower", eccentric, tempo.tolerance_pct),
        lifting=_cue("lift", concentric, tempo.tolerance_pct),
        eccentric_error_pct=eccentric,
        concentric_error_pct=concentric,
    )
