"""A simulated person: load-velocity profile, eccentric strength, tempo, fatigue and range."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator

from controller.config.loader import Section, load


class NaturalTempoConfig(Section):
    """How this person lifts when nothing paces them (a profile's TempoConfig is what a coach asks for)."""

    concentric_s: float = Field(0.0, ge=0, le=20, description="0 = as fast as possible")
    pause_top_s: float = Field(0.3, ge=0, le=10)
    eccentric_s: float = Field(3.0, gt=0.3, le=20)
    pause_bottom_s: float = Field(0.6, ge=0, le=10)


class FatigueConfig(Section):
    rate_per_s: float = Field(0.011, ge=0, le=1.0)
    eccentric_cost: float = Field(0.45, ge=0, le=1.0)
    recovery_per_s: float = Field(0.012, ge=0, le=1.0)
    give_up_after_stall_s: float = Field(3.0, gt=0.2, le=20)
    attempts_after_failure: int = Field(1, ge=0, le=20)


class AthleteConfig(Section):
    name: str = Field(min_length=1, max_length=64)
    description: str = ""
    exercise: str = "bench press"
    one_rm_kg: float = Field(gt=0.5, le=500)
    v_at_1rm_mps: float = Field(ge=0.05, le=0.8)
    v_at_zero_load_mps: float = Field(ge=0.3, le=5.0)
    eccentric_ratio: float = Field(1.3, ge=1.2, le=1.8)
    hill_curvature: float = Field(0.5, ge=0.1, le=10.0)
    moving_mass_kg: float = Field(6.0, gt=0.1, le=150)
    rom_m: float = Field(0.45, gt=0.03, le=2.0)
    start_position_m: float = Field(0.12, gt=0.02, le=2.0)
    reaction_time_s: float = Field(0.18, ge=0.05, le=1.0)
    tempo: NaturalTempoConfig = NaturalTempoConfig()
    fatigue: FatigueConfig = FatigueConfig()

    def with_tempo(self, **tempo: float) -> AthleteConfig:
        """The same person with another intent: concentric_s = 0 pushes as fast as they can,
        eccentric_s = 20 resists every lowering as hard as they can."""
        return self.model_copy(update={"tempo": self.tempo.model_copy(update=tempo)})

    @model_validator(mode="after")
    def _profile_consistent(self) -> AthleteConfig:
        if self.v_at_zero_load_mps <= 2 * self.v_at_1rm_mps:
            raise ValueError(
                "v_at_zero_load_mps must be more than twice v_at_1rm_mps "
                f"(got {self.v_at_zero_load_mps} and {self.v_at_1rm_mps})"
            )
        return self


def load_athlete(name_or_path: str | Path) -> AthleteConfig:
    return load("athletes", name_or_path, AthleteConfig)
