"""A simulated person who does the sets the machine runs: comes to the handle when a set starts,
stops when the machine ends the set, rests between sets, and lets go at the end."""

from __future__ import annotations

from controller.config import ProfileConfig, ProfileKind
from controller.core.loop import ControlLoop
from controller.core.set_lifecycle import SetState
from simulator.flywheel_intent import FlywheelIntent
from simulator.rig import Rig

SET_OVER = (SetState.FINISHING, SetState.DELOADING, SetState.RESTING, SetState.DONE, SetState.STOPPED)
LET_GO_FOR_S = 1.0  # how long after letting go the person is gone from the machine


def planned_reps(profile: ProfileConfig) -> int:
    """How many reps the person sets out to do: finishing negatives go on until the machine ends
    the set, however many the profile names; a flywheel's pre-reps come first."""
    if profile.kind is ProfileKind.FINISHING_NEGATIVES:
        return max(profile.reps, 100)
    if profile.kind is ProfileKind.FLYWHEEL:
        return profile.reps + profile.flywheel.pre_reps
    return profile.reps


class SimulatedLifter:
    def __init__(self, rig: Rig, planned_reps: int, waiting: bool = False) -> None:
        self.rig = rig
        self.planned_reps = planned_reps
        self.let_go_at_s: float | None = None
        self._set_index = 1
        self._rest_started_s: float | None = None
        self._away_since_s = rig.plant.time_s
        self._asked = False
        self._ready = not waiting  # at the handle, set up for the first block (a simulation's person)
        if waiting:
            rig.athlete.step_away()

    def ask(self, profile: ProfileConfig) -> None:
        """A new block of sets on a new loop: come back to the handle once done and away from it. A
        person made ready for the first block just begins it."""
        self.planned_reps = planned_reps(profile)
        self.rig.athlete.flywheel = FlywheelIntent() if profile.kind is ProfileKind.FLYWHEEL else None
        self._set_index = 1
        self._rest_started_s = None
        self.let_go_at_s = None
        self._asked = not self._ready
        self._ready = False

    @property
    def finished(self) -> bool:
        let_go = self.let_go_at_s
        return let_go is not None and self.rig.plant.time_s - let_go > LET_GO_FOR_S

    def follow(self, loop: ControlLoop) -> None:
        """Once per control cycle, after the loop has stepped."""
        athlete, now = self.rig.athlete, self.rig.plant.time_s
        lifecycle = loop.lifecycle
        if lifecycle.state in SET_OVER:
            # the machine ended the set: finish the rep in hand and stop
            athlete.planned_reps = min(athlete.planned_reps, athlete.completed_reps)
        if self._asked and athlete.done:
            athlete.resting(now - self._away_since_s)
            athlete.begin_next_set(self.planned_reps)
            self._asked = False
        if lifecycle.state is SetState.RESTING and self._rest_started_s is None:
            self._rest_started_s = now
        if lifecycle.set_index > self._set_index and athlete.done and self._rest_started_s is not None:
            athlete.resting(now - self._rest_started_s)
            athlete.begin_next_set(self.planned_reps)
            self._rest_started_s = None
            self._set_index = lifecycle.set_index
        if athlete.done and self.let_go_at_s is None and lifecycle.state in (SetState.DONE, SetState.STOPPED):
            self.let_go_at_s = now
            self._away_since_s = now
