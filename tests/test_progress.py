"""An exercise over the weeks (app/progress.py): a point per session and the personal records, from
sets built by hand and from sets the simulated athlete lifted and the store kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller.app.progress import progress_of
from controller.app.store import ExerciseSet, SqliteSessionStore
from tests.sets import made_rep
from tests.test_strength import LOADS, TRAINED, store_sets


def lifted(session: int, load_kg: float, reps: int, velocity: float = 0.5, failed: int = 0) -> ExerciseSet:
    done = [made_rep(index=i + 1, mean_concentric_velocity_mps=velocity) for i in range(reps)]
    cut = [made_rep(index=reps + i + 1, failed=True) for i in range(failed)]
    return ExerciseSet(session, f"2026-11-{session:02d}T18:00:00+00:00", load_kg, done + cut)


@pytest.mark.fast
def test_a_point_per_session_and_the_first_session_to_reach_each_record():
    sets = [
        lifted(1, 40.0, 8),
        lifted(1, 40.0, 8),  # session 1: 640 kg
        lifted(2, 50.0, 5, failed=1),  # the heaviest yet; a failed rep lifts nothing
        lifted(3, 50.0, 10),  # as heavy (no new record), more reps, more volume
        lifted(4, 30.0, 0, failed=2),  # nothing lifted: no point
    ]
    progress = progress_of("row", sets)
    assert [p.session for p in progress.sessions] == [1, 2, 3]
    assert [(p.top_load_kg, p.volume_kg, p.reps) for p in progress.sessions] == [
        (40.0, 640.0, 16),
        (50.0, 250.0, 5),
        (50.0, 500.0, 10),
    ]
    records = {r.what: (r.value, r.session) for r in progress.records}
    assert records == {
        "heaviest load": (50.0, 2),
        "most volume in a session": (640.0, 1),
        "most reps in a set": (10, 3),
    }  # one load a session: no 1RM to read, so no 1RM record


@pytest.mark.fast
def test_nothing_stored_is_no_progress_and_no_record():
    progress = progress_of("row", [])
    assert progress.sessions == [] and progress.records == []


def test_a_session_at_three_loads_estimates_the_athletes_1rm(tmp_path: Path):
    db = tmp_path / "sessions.sqlite"
    store_sets(db, "ada", "leg press", LOADS)
    store = SqliteSessionStore(db)
    try:
        progress = progress_of("leg press", store.sets_of("ada", "leg press"))
        assert store.exercises_of("ada") == ["leg press"] and store.exercises_of("bob") == []
    finally:
        store.close()
    (point,) = progress.sessions
    assert point.top_load_kg == max(LOADS)
    assert point.one_rm_kg == pytest.approx(TRAINED.one_rm_kg, rel=0.2)
    assert "best estimated 1RM" in {r.what for r in progress.records}
