"""One exercise over the weeks: a point per session (the heaviest load lifted, the volume, the best
speed, and the 1RM the session's own sets predict where they can) and the personal records."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from itertools import groupby
from typing import Any

from controller.app.store import ExerciseSet
from controller.app.strength import mvt_for
from controller.app.vbt import VbtError, estimate_one_rm, fit_profile
from controller.core.set_summary import summarise_set


@dataclass(frozen=True, slots=True)
class SessionPoint:
    session: int
    started: str
    top_load_kg: float  # the heaviest set with a counted rep
    volume_kg: float
    reps: int
    best_velocity_mps: float
    most_reps_in_a_set: int
    one_rm_kg: float | None  # from this session's sets at two loads or more, else unknown


@dataclass(frozen=True, slots=True)
class PersonalRecord:
    what: str
    value: float
    unit: str
    session: int
    started: str


@dataclass(frozen=True, slots=True)
class Progress:
    exercise: str
    sessions: list[SessionPoint]
    records: list[PersonalRecord]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def progress_of(exercise: str, sets: Sequence[ExerciseSet]) -> Progress:
    points = []
    for _, grouped in groupby(sets, key=lambda s: s.session):
        point = _session_point(exercise, list(grouped))
        if point is not None:
            points.append(point)
    return Progress(exercise, points, _records(points))


def _session_point(exercise: str, sets: list[ExerciseSet]) -> SessionPoint | None:
    lifted = [summary for s in sets if (summary := summarise_set(s.reps, s.load_kg)) and summary.reps]
    if not lifted:
        return None  # only failed or cut-short reps: nothing was lifted
    return SessionPoint(
        session=sets[0].session,
        started=sets[0].started,
        top_load_kg=max(s.load_kg for s in lifted),
        volume_kg=sum(s.volume_kg for s in lifted),
        reps=sum(s.reps for s in lifted),
        best_velocity_mps=max(s.best_velocity_mps for s in lifted),
        most_reps_in_a_set=max(s.reps for s in lifted),
        one_rm_kg=_one_rm(exercise, sets),
    )


def _one_rm(exercise: str, sets: list[ExerciseSet]) -> float | None:
    try:
        return estimate_one_rm(fit_profile([(s.load_kg, s.reps) for s in sets]), mvt_for(exercise)).kg
    except VbtError:
        return None  # one load only, or no all-out effort: no profile to read a 1RM from


def _records(points: list[SessionPoint]) -> list[PersonalRecord]:
    """Each best and the first session to reach it (max keeps the first of equals: a tie is no
    new record)."""
    records = []
    if points:
        heaviest = max(points, key=lambda p: p.top_load_kg)
        records.append(
            PersonalRecord("heaviest load", heaviest.top_load_kg, "kg", heaviest.session, heaviest.started)
        )
        most = max(points, key=lambda p: p.volume_kg)
        records.append(
            PersonalRecord("most volume in a session", most.volume_kg, "kg", most.session, most.started)
        )
    estimated = [(p.one_rm_kg, p) for p in points if p.one_rm_kg is not None]
    if estimated:
        kg, best = max(estimated, key=lambda pair: pair[0])
        records.append(PersonalRecord("best estimated 1RM", kg, "kg", best.session, best.started))
    if points:
        top = max(points, key=lambda p: p.most_reps_in_a_set)
        records.append(
            PersonalRecord("most reps in a set", top.most_reps_in_a_set, "reps", top.session, top.started)
        )
    return records
