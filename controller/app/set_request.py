"""A set as a person or a central system asks for it (controller/wire.py's StartSet), turned into
the profile to run. The edge (dashboard, MQTT bridge) only decides who may ask for what; everything
else is resolved and validated here, once, in the control process's admission."""

from __future__ import annotations

from typing import Any

from controller.config import CapsConfig, ConfigError, load_profile
from controller.config.loader import validate
from controller.config.profile import ProfileConfig, ProfileKind
from controller.wire import StartSet, StartWorkout


class SetRequestError(ValueError):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status  # the HTTP status that says it: 403, 404 or 422


def authorize(body: StartSet, asker: str, supervising: bool) -> dict[str, Any]:
    """The control port's `start` for this request, or SetRequestError. Only a supervisor
    (clinician, admin) sets caps, writes a whole profile or starts a set for someone else."""
    if body.caps is not None and not supervising:
        raise SetRequestError(403, "caps are set by a clinician or an admin")
    if not isinstance(body.profile, str) and not supervising:
        raise SetRequestError(403, "profile: name a shipped profile; whole profiles come from a clinician")
    _check_person(body.person, asker, supervising)
    return body.model_dump(mode="json", exclude_none=True) | {"person": body.person or asker}


def authorize_workout(body: StartWorkout, asker: str, supervising: bool) -> dict[str, Any]:
    if not isinstance(body.workout, str) and not supervising:
        raise SetRequestError(403, "workout: name a shipped workout; whole workouts come from a clinician")
    _check_person(body.person, asker, supervising)
    return body.model_dump(mode="json", exclude_none=True) | {"person": body.person or asker}


def _check_person(person: str | None, asker: str, supervising: bool) -> None:
    if person not in (None, asker) and not supervising:
        raise SetRequestError(403, "only a clinician or an admin starts a set for someone else")


def requested_profile(start: StartSet) -> ProfileConfig:
    """The profile with today's changes and load; SetRequestError 404 for a profile nobody shipped,
    422 naming the field for anything out of range."""
    if isinstance(start.profile, str):
        try:
            data = load_profile(start.profile).model_dump(mode="json", exclude_none=True)
        except ConfigError as exc:
            raise SetRequestError(404, str(exc)) from None
    else:
        data = dict(start.profile)
    changes = {
        "eccentric_pct": start.eccentric_pct,
        "reps": start.reps,
        "sets": start.sets,
        "rest_s": start.rest_s,
        "tempo": start.tempo.model_dump(mode="json") if start.tempo else None,
        "caps": start.caps.model_dump(mode="json", exclude_none=True) if start.caps else None,
    }
    data.update({key: value for key, value in changes.items() if value is not None})
    if start.inertia_kgm2 is not None:
        if data.get("kind") != ProfileKind.FLYWHEEL:
            raise SetRequestError(422, f"inertia_kgm2: only for a flywheel profile, not {data.get('kind')!r}")
        data["flywheel"] = {**data.get("flywheel", {}), "inertia_kgm2": start.inertia_kgm2}
    try:
        profile = validate(data, ProfileConfig, "profile")
        return profile if start.load_kg is None else at_load(profile, start.load_kg)
    except ConfigError as exc:
        raise SetRequestError(422, str(exc)) from None


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
