"""A workout as a person asks for it, expanded into the blocks the control process runs one after
the other; and the run of those blocks, with the rest timer between them.

Warm-ups are generated from a step's working load: three sets of falling reps at 40, 60 and 80 %,
without eccentric overload (an eccentric-only step warms up eccentric-only, with its assisted lift).
The rest after each block is the workout's, counted from the moment the block ended at rest.

A workout only goes on by itself after a block that ended as planned. A stop, an e-stop, a fault or
a let-go ends the whole workout: nothing starts on its own after the person or the machine said stop.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import ValidationError

from controller.app.set_request import SetRequestError, requested_profile
from controller.config import ConfigError, ProfileConfig, ProfileKind
from controller.config.loader import describe, validate
from controller.config.workout import WorkoutConfig, WorkoutStepConfig, load_workout
from controller.units import POUND_KG, round_half_kg
from controller.wire import StartSet, StartWorkout

WARMUP_RAMP = ((40, 8), (60, 5), (80, 3))  # (% of the working load, reps)
MIN_WARMUP_KG = 2.0
# Overload sets within this of each other are one training session, not two sessions too close.
SAME_SESSION = timedelta(hours=3)
_NO_WARMUP = (
    ProfileKind.ISOKINETIC,
    ProfileKind.ISOMETRIC,
    ProfileKind.FLYWHEEL,
)  # a disc's pre-reps are its warm-up
_OVERLOADING = (
    ProfileKind.ECCENTRIC_ONLY,
    ProfileKind.FINISHING_NEGATIVES,
    ProfileKind.ADAPTIVE_ECCENTRIC,
    ProfileKind.FLYWHEEL,
)


@dataclass(frozen=True, slots=True)
class PlannedBlock:
    """One block of a workout, its profile resolved (today's load in it; the person's caps not yet)."""

    profile: ProfileConfig
    exercise: str
    label: str
    rest_after_s: float  # before the next block


@dataclass(frozen=True, slots=True)
class PlannedWorkout:
    name: str
    overload_spacing_days: float
    blocks: list[PlannedBlock]


def overloads_eccentric(profile: ProfileConfig) -> bool:
    """A lowering heavier than the lift: the kind of session to space about a week apart."""
    return profile.effective_eccentric_pct > 0 or profile.kind in _OVERLOADING


def warmup_profiles(working: ProfileConfig) -> list[ProfileConfig]:
    """Lighter sets before `working` (whose load_kg is the working load)."""
    if working.kind in _NO_WARMUP:
        raise ValueError(
            f"warmup: a {working.kind.value} step is paced by the machine; warm up on its own step"
        )
    kind = ProfileKind.ECCENTRIC_ONLY if working.kind is ProfileKind.ECCENTRIC_ONLY else ProfileKind.CONSTANT
    base = working.model_dump(mode="json", exclude_none=True)
    for key in ("eccentric_load_kg", "tempo", "stop_at_velocity_loss_pct"):
        base.pop(key, None)
    warmups: list[ProfileConfig] = []
    for pct, reps in WARMUP_RAMP:
        load_kg = round_half_kg(working.load_kg * pct / 100.0)
        if load_kg < MIN_WARMUP_KG:
            continue
        changes = {"name": f"warm-up {pct} %", "kind": kind.value, "load_kg": load_kg, "eccentric_pct": 0.0}
        changes |= {"reps": reps, "sets": 1, "description": f"warm-up for {working.name}"}
        warmups.append(validate(base | changes, ProfileConfig, "warm-up"))
    return warmups


def build_workout(body: StartWorkout) -> PlannedWorkout:
    """The blocks of the workout asked for, or SetRequestError naming the step."""
    try:
        if isinstance(body.workout, str):
            workout = load_workout(body.workout)
        else:
            workout = validate(body.workout, WorkoutConfig, "workout")
    except ConfigError as exc:
        raise SetRequestError(404 if isinstance(body.workout, str) else 422, str(exc)) from None
    return expand(workout, body)


def expand(workout: WorkoutConfig, body: StartWorkout) -> PlannedWorkout:
    loads = body.loads if body.loads is not None else [None] * len(workout.steps)
    if len(loads) != len(workout.steps):
        raise SetRequestError(422, f"loads: give {len(workout.steps)} (one per step, null for the workout's)")
    blocks: list[PlannedBlock] = []
    for index, (step, load) in enumerate(zip(workout.steps, loads, strict=True)):
        try:
            blocks += _step_blocks(step, load, body.unit)
        except (SetRequestError, ValueError) as exc:
            status = exc.status if isinstance(exc, SetRequestError) else 422
            raise SetRequestError(status, f"steps.{index} ({step.exercise}): {exc}") from None
    return PlannedWorkout(workout.name, workout.overload_spacing_days, blocks)


def _step_blocks(
    step: WorkoutStepConfig, load: float | None, unit: Literal["kg", "lb"]
) -> list[PlannedBlock]:
    if load is None and step.load_kg is not None:
        load = step.load_kg if unit == "kg" else round(step.load_kg / POUND_KG)
    fields = {"profile": step.profile, "load": load, "unit": unit, "sets": step.sets, "reps": step.reps}
    try:
        request = StartSet.model_validate(fields | {"rest_s": step.rest_s})
    except ValidationError as exc:
        raise ValueError(describe(exc, StartSet, "set")) from None
    working = requested_profile(request)
    blocks = []
    if step.warmup:
        warmups = warmup_profiles(working)
        for number, warmup in enumerate(warmups, start=1):
            label = f"{step.exercise}: warm-up {number}/{len(warmups)}"
            blocks.append(PlannedBlock(warmup, step.exercise, label, step.warmup_rest_s))
    blocks.append(PlannedBlock(working, step.exercise, step.exercise, step.rest_after_s))
    return blocks


def overload_warning(started: list[str], spacing_days: float, now: datetime) -> str:
    """A warning when the last eccentric overload session (times the store gives, ISO 8601) is
    closer than the spacing; empty when it is not (or within the same training session)."""
    if spacing_days <= 0:
        return ""
    spacing = timedelta(days=spacing_days)
    earlier = [t for t in map(datetime.fromisoformat, started) if SAME_SESSION < now - t < spacing]
    if not earlier:
        return ""
    last = max(earlier)
    ago = (now - last).total_seconds() / 86400.0
    return (
        f"eccentric overload {ago:.1f} days after the last ({last:%Y-%m-%d}); the spacing is "
        f"{spacing_days:g} days: soreness peaks 24-72 h after, and strength needs the rest to come back"
    )


@dataclass(slots=True)
class WorkoutRun:
    """The blocks still to run and the rest timer; the control service starts each when it is due."""

    name: str
    labels: list[str]
    rests_after_s: list[float]
    current: int = 0
    next_at_s: float | None = None  # resting: when the next block starts
    ended: str = ""  # "", "done" or why it stopped

    @property
    def resting(self) -> bool:
        return self.next_at_s is not None

    def block_ended(self, as_planned: bool, now_s: float) -> None:
        if not as_planned:
            self.stop("the set was stopped")
        elif self.current + 1 >= len(self.labels):
            self.ended = "done"
        else:
            self.next_at_s = now_s + self.rests_after_s[self.current]

    def due(self, now_s: float) -> int | None:
        """The index of the block to start now, if its rest is over."""
        if self.ended or self.next_at_s is None or now_s < self.next_at_s:
            return None
        self.next_at_s = None
        self.current += 1
        return self.current

    def skip_rest(self, now_s: float) -> bool:
        if self.ended or self.next_at_s is None:
            return False
        self.next_at_s = now_s
        return True

    def stop(self, why: str) -> None:
        if not self.ended:
            self.ended = why
            self.next_at_s = None

    def status(self, now_s: float) -> dict[str, Any]:
        following = self.current + 1 if self.resting else self.current
        return {
            "name": self.name,
            "block": self.current + 1,
            "blocks": len(self.labels),
            "label": self.labels[self.current],
            "next": self.labels[following] if following < len(self.labels) and self.resting else None,
            "rest_left_s": max(0.0, self.next_at_s - now_s) if self.next_at_s is not None else 0.0,
            "ended": self.ended,
        }
