"""What a profile is told each cycle: where the set stands. A file of its own, so the parts of a
profile (pace, the isometric hold) can take it without importing the profile itself."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ProfileInput:
    now_s: float
    lowering: bool  # past the top of the rep: eccentric load applies
    at_bottom: bool  # between reps
    stalled_s: float  # how long the concentric has been stuck
    failed_reps: int
    completed_reps: int
    last_velocity_loss_pct: float = 0.0
    range_fraction: float | None = None  # where the handle is in the learned range (None: not learned)
    velocity_mps: float = 0.0
    rom_m: float | None = None  # the learned range (None: not learned)
    height_m: float | None = None  # above the bottom of the range (reps.RepTracker.height_m)
    position_m: float = 0.0
