"""A set as a person or a central system asks for it: a shipped profile, plus what may be changed
for today's set. The dashboard and the MQTT bridge both turn requests into profiles here, so both
are validated against the same rules and the same caps."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from controller.config import CapsConfig, ConfigError, load_profile
from controller.config.loader import validate
from controller.config.profile import ProfileConfig, TempoConfig
from controller.units import POUND_KG

Name = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@ -]+$")]


class SetRequestError(ValueError):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status  # the HTTP status that says it: 403, 404 or 422


class SetStart(BaseModel):
    model_config = ConfigDict(extra="forbid")
    profile: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9-]+$")
    load: float | None = Field(None, gt=0, le=1100, description="in `unit`; default: the profile's")
    unit: Literal["kg", "lb"] = "kg"
    eccentric_pct: float | None = Field(None, ge=0, le=100)
    reps: int | None = Field(None, ge=1, le=100)
    sets: int | None = Field(None, ge=1, le=20)
    rest_s: float | None = Field(None, ge=0, le=1800)
    tempo: TempoConfig | None = None
    exercise: str = Field("", max_length=64)
    person: Name | None = Field(None, description="whose set (clinicians); default: who asks")
    caps: CapsConfig | None = Field(None, description="clinicians and admins only")

    @model_validator(mode="after")
    def _load_step(self) -> SetStart:
        """Loads go in 0.5 kg or 1 lb steps, as on the plates a clinic counts in."""
        step = 1.0 if self.unit == "lb" else 0.5
        if self.load is not None and abs(self.load / step - round(self.load / step)) > 1e-6:
            raise ValueError(f"load = {self.load}: in {self.unit}, loads go in steps of {step:g}")
        return self

    @property
    def load_kg(self) -> float | None:
        return None if self.load is None else self.load * (POUND_KG if self.unit == "lb" else 1.0)


def start_fields(body: SetStart, asker: str, supervising: bool) -> dict[str, Any]:
    """The control port's `start` for this request, or SetRequestError. Only a supervisor
    (clinician, admin) sets caps or starts a set for someone else."""
    if body.caps is not None and not supervising:
        raise SetRequestError(403, "caps are set by a clinician or an admin")
    if body.person not in (None, asker) and not supervising:
        raise SetRequestError(403, "only a clinician or an admin starts a set for someone else")
    return {
        "profile": build_profile(body),
        "load_kg": body.load_kg,
        "person": body.person or asker,
        "exercise": body.exercise,
    }


def with_person_caps(profile: ProfileConfig, caps: CapsConfig | None) -> ProfileConfig:
    """The profile under the tighter of its own caps and the person's (a clinician's), validated
    again: a load or eccentric % beyond them is refused by name (ConfigError), never clipped unseen."""
    if caps is None:
        return profile
    data = profile.model_dump(mode="json", exclude_none=True)
    data["caps"] = profile.caps.tightest(caps).model_dump(mode="json", exclude_none=True)
    return validate(data, ProfileConfig, "the person's caps")


def at_load(profile: ProfileConfig, load_kg: float) -> ProfileConfig:
    """The profile with today's load in it, so its caps are checked against that load. An absolute
    eccentric load becomes the same percentage over the new load, as a Profile given a load does."""
    data = profile.model_dump(mode="json", exclude_none=True)
    if data.pop("eccentric_load_kg", None) is not None:
        data["eccentric_pct"] = profile.effective_eccentric_pct
    return validate(data | {"load_kg": load_kg}, ProfileConfig, "start.load_kg")


def build_profile(body: SetStart) -> dict[str, Any]:
    """The shipped profile with the set's changes, validated here for a precise error."""
    try:
        base = load_profile(body.profile)
    except ConfigError as exc:
        raise SetRequestError(404, str(exc)) from None
    data = base.model_dump(mode="json", exclude_none=True)
    changes = {
        "eccentric_pct": body.eccentric_pct,
        "reps": body.reps,
        "sets": body.sets,
        "rest_s": body.rest_s,
    }
    data.update({key: value for key, value in changes.items() if value is not None})
    if body.tempo is not None:
        data["tempo"] = body.tempo.model_dump(mode="json")
    if body.caps is not None:
        data["caps"] = body.caps.model_dump(mode="json", exclude_none=True)
    try:
        validate(data, ProfileConfig, "profile")
    except ConfigError as exc:
        raise SetRequestError(422, str(exc)) from None
    return data
