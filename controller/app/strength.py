"""What a person's stored sets say about their strength: an exercise's load-velocity profile and
the 1RM it predicts (vbt.py). An isometric test's figures come from its recording
(controller/runtime/isometric_recording.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from controller.app.store import SetHistory
from controller.app.vbt import LoadVelocityProfile, OneRmEstimate, VbtError, estimate_one_rm, fit_profile

# Mean velocity at 1RM by exercise (DOMAIN.md: bench ~0.17, squat ~0.3, leg press ~0.21 m/s). An
# exercise not listed takes the highest: a higher threshold predicts a lower 1RM, the safe error
# for someone choosing loads from it.
MVT_MPS = {"bench press": 0.17, "leg press": 0.21, "squat": 0.30}
DEFAULT_MVT_MPS = max(MVT_MPS.values())
PROFILE_DAYS = 28  # strength changes: a profile from the last four weeks' sets


@dataclass(frozen=True, slots=True)
class StrengthEstimate:
    person: str
    exercise: str
    profile: LoadVelocityProfile
    one_rm: OneRmEstimate

    def to_json(self) -> dict[str, Any]:
        return {
            "person": self.person,
            "exercise": self.exercise,
            "points": [{"load_kg": load, "velocity_mps": v} for load, v in self.profile.points],
            "slope_mps_per_kg": self.profile.slope_mps_per_kg,
            "intercept_mps": self.profile.intercept_mps,
            "one_rm_kg": self.one_rm.kg,
            "one_rm_sd_kg": self.one_rm.sd_kg,
            "mvt_mps": self.one_rm.mvt_mps,
        }


def mvt_for(exercise: str) -> float:
    return MVT_MPS.get(exercise.strip().lower(), DEFAULT_MVT_MPS)


def strength_of(
    store: SetHistory,
    person: str,
    exercise: str,
    mvt_mps: float | None = None,
    days: float = PROFILE_DAYS,
    now: datetime | None = None,
) -> StrengthEstimate:
    """VbtError, saying what is missing, when the sets cannot make a profile."""
    since = ((now or datetime.now(UTC)) - timedelta(days=days)).isoformat(timespec="seconds")
    sets = store.sets_of(person, exercise, since)
    # An assisted or failed rep says nothing of speed under load: eccentric-only sets drop out.
    usable = [(s.load_kg, s.reps) for s in sets if any(not r.failed and not r.assisted for r in s.reps)]
    if not usable:
        raise VbtError(
            f"no sets of {exercise!r} by {person!r} with a complete, unassisted rep in the last {days:g} days"
        )
    profile = fit_profile(usable)
    return StrengthEstimate(person, exercise, profile, estimate_one_rm(profile, mvt_mps or mvt_for(exercise)))
