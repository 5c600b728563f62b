"""A rehab protocol: a multi-week plan of stages, the load rules, and when to progress."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator

from controller.config.loader import CONFIG_ROOT, Section, load
from controller.config.profile import CapsConfig, ProfileKind, TempoConfig


class StageConfig(Section):
    """Some weeks of the same work. The load comes from the plan's progression, not from here."""

    name: str = Field(min_length=1, max_length=64)
    weeks: int = Field(ge=1, le=52)
    sessions_per_week: int | None = Field(None, ge=1, le=14)  # default: the protocol's
    kind: ProfileKind = ProfileKind.ECCENTRIC_ONLY
    eccentric_pct: float = Field(0.0, ge=0, le=60)
    sets: int = Field(ge=1, le=10)
    reps: int = Field(ge=1, le=30)
    rest_s: float = Field(90.0, ge=0, le=600)
    tempo: TempoConfig
    effort: str = Field("", max_length=64)  # as the protocol says it ("very light", "hard")
    caps: CapsConfig = CapsConfig()  # this stage's own limits (an ACL range that grows stage by stage)


class ProtocolConfig(Section):
    name: str = Field(min_length=1, max_length=64)
    title: str = Field(min_length=1, max_length=120)
    condition: str = Field(min_length=1, max_length=120)
    source: str = Field(min_length=1, max_length=300)
    sessions_per_week: int = Field(ge=1, le=14)
    start_load_kg: float = Field(ge=0.5, le=200)
    max_load_kg: float = Field(ge=0.5, le=200)
    load_step_kg: float = Field(ge=0.5, le=10)  # added when the patient advances
    step_back_pct: float = Field(15.0, ge=5, le=50)  # taken off when they step back
    pain_limit: int = Field(ge=0, le=10)  # soreness at or below this allows advancing
    step_back_above: int = Field(ge=1, le=10)  # soreness above this steps back
    stages: list[StageConfig] = Field(min_length=1, max_length=12)

    @model_validator(mode="after")
    def _consistent(self) -> ProtocolConfig:
        if self.step_back_above < self.pain_limit:
            raise ValueError(
                f"step_back_above = {self.step_back_above}: must be at least pain_limit ({self.pain_limit})"
            )
        if self.max_load_kg < self.start_load_kg:
            raise ValueError(f"max_load_kg = {self.max_load_kg}: below start_load_kg ({self.start_load_kg})")
        for field in ("start_load_kg", "max_load_kg", "load_step_kg"):
            if not _on_half_kg(getattr(self, field)):
                raise ValueError(f"{field} = {getattr(self, field)}: loads go in 0.5 kg steps")
        return self

    @property
    def weeks(self) -> int:
        return sum(stage.weeks for stage in self.stages)

    def sessions_in(self, stage: StageConfig) -> int:
        return stage.weeks * (stage.sessions_per_week or self.sessions_per_week)

    @property
    def sessions(self) -> int:
        return sum(self.sessions_in(stage) for stage in self.stages)

    def stage_at(self, session_number: int) -> int:
        """The stage (index) of the plan's n-th session (1-based); the last stage carries on."""
        left = session_number - 1
        for index, stage in enumerate(self.stages):
            if left < self.sessions_in(stage):
                return index
            left -= self.sessions_in(stage)
        return len(self.stages) - 1


def _on_half_kg(kg: float) -> bool:
    return abs(kg * 2 - round(kg * 2)) < 1e-9


def load_protocol(name_or_path: str | Path) -> ProtocolConfig:
    return load("protocols", name_or_path, ProtocolConfig)


def shipped_protocols() -> list[ProtocolConfig]:
    """Every protocol in configs/protocols/, by name."""
    return [load_protocol(path) for path in sorted((CONFIG_ROOT / "protocols").glob("*.toml"))]


def protocol_summary(protocol: ProtocolConfig) -> dict[str, str | int]:
    """What a clinician chooses a protocol by."""
    return {
        "name": protocol.name,
        "title": protocol.title,
        "condition": protocol.condition,
        "weeks": protocol.weeks,
    }
