"""An isometric test read back from its recording: the person's pull through the hold, and its peak
force, time to peak and rate of force development (core/isometric.py)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from controller.config import ProfileKind
from controller.core.isometric import IsometricResult, analyse, pulled_force_n
from controller.core.set_lifecycle import SetState
from controller.runtime.recorder import SET_STATES, Recording, RecordingError
from controller.runtime.regression import configs_of

# The hold, with its load-in: the person starts pulling as the load comes in.
HOLD_STATES = (SetState.LOADING, SetState.ACTIVE, SetState.FINISHING)


@dataclass(frozen=True, slots=True)
class IsometricTrace:
    times_s: np.ndarray
    forces_n: np.ndarray
    result: IsometricResult


def isometric_test(recording: Recording) -> IsometricTrace:
    """The person's pull through an isometric test's hold, from its recording."""
    machine, profile = configs_of(recording)
    if profile.kind is not ProfileKind.ISOMETRIC:
        raise RecordingError(f"{recording.source}: a {profile.kind.value} set, not an isometric test")
    holding = np.isin(recording.columns["set_state"], [SET_STATES.index(s) for s in HOLD_STATES])
    if holding.sum() < 2:
        raise RecordingError(f"{recording.source}: the hold never began (no active frames)")
    times = recording.time_s[holding] - recording.time_s[holding][0]
    felt = recording.columns["felt_tension_n"][holding].astype(float)
    velocity = recording.columns["velocity_mps"][holding].astype(float)
    forces = np.array([pulled_force_n(machine, f, v) for f, v in zip(felt, velocity, strict=True)])
    return IsometricTrace(times, forces, analyse(times.tolist(), forces.tolist()))
