"""A workout: several steps in a row, each a shipped profile for an exercise, with warm-ups that
can be generated from the step's working load, and the rest before the next step."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator

from controller.config.loader import Section, load

# Eccentric overload about once a week (DOMAIN.md, section 1): a lifter's default spacing.
OVERLOAD_SPACING_DAYS = 7.0


class WorkoutStepConfig(Section):
    exercise: str = Field(min_length=1, max_length=64)
    profile: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9-]+$")
    load_kg: float | None = Field(None, gt=0, le=500)  # default: the profile's
    sets: int | None = Field(None, ge=1, le=20)
    reps: int | None = Field(None, ge=1, le=100)
    rest_s: float | None = Field(None, ge=0, le=1800)  # between this step's own sets
    rest_after_s: float = Field(120.0, ge=0, le=1800)  # before the next step
    warmup: bool = False  # warm-up sets first, generated from this step's working load
    warmup_rest_s: float = Field(60.0, ge=0, le=600)


class WorkoutConfig(Section):
    name: str = Field(min_length=1, max_length=64)
    description: str = ""
    overload_spacing_days: float = Field(OVERLOAD_SPACING_DAYS, ge=0, le=60)  # 0: no spacing warning
    steps: list[WorkoutStepConfig] = Field(min_length=1, max_length=20)

    @model_validator(mode="after")
    def _one_warmup_per_exercise(self) -> WorkoutConfig:
        warmed: set[str] = set()
        for index, step in enumerate(self.steps):
            if step.warmup and step.exercise in warmed:
                raise ValueError(f"steps.{index}.warmup: {step.exercise!r} is warmed up already")
            if step.warmup:
                warmed.add(step.exercise)
        return self


def load_workout(name_or_path: str | Path) -> WorkoutConfig:
    return load("workouts", name_or_path, WorkoutConfig)
