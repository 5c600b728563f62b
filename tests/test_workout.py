"""Workouts: expansion into blocks with generated warm-ups, the overload spacing warning, and the
run of the blocks with its rest timer (WorkoutRun); the control service runs one in test_service."""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from controller.app.schema import MIGRATIONS
from controller.app.set_request import SetRequestError
from controller.app.store import SqliteSessionStore
from controller.app.workout import (
    WARMUP_RAMP,
    PlannedBlock,
    WorkoutRun,
    build_workout,
    expand,
    overload_warning,
    overloads_eccentric,
    warmup_profiles,
)
from controller.config import ConfigError, ProfileKind, load_profile
from controller.config.loader import CONFIG_ROOT, validate
from controller.config.workout import WorkoutConfig, load_workout
from controller.core.reps import RepMetrics
from controller.wire import StartWorkout
from tests.sets import made_rep

pytestmark = pytest.mark.fast

NOW = datetime(2026, 11, 22, 18, 0, tzinfo=UTC)


def some_reps(up_n: float, down_n: float) -> list[RepMetrics]:
    return [made_rep(mean_concentric_force_n=up_n, mean_eccentric_force_n=down_n)]


def workout(*steps: dict[str, object], **fields: object) -> WorkoutConfig:
    return validate({"name": "w", "steps": list(steps), **fields}, WorkoutConfig, "test workout")


def blocks_of(config: WorkoutConfig, **request: Any) -> list[PlannedBlock]:
    return expand(config, StartWorkout(workout="w", **request)).blocks


@pytest.mark.parametrize("name", sorted(p.stem for p in (CONFIG_ROOT / "workouts").glob("*.toml")))
def test_shipped_workouts_expand_into_blocks(name):
    planned = build_workout(StartWorkout(workout=name))
    assert len(planned.blocks) > len(load_workout(name).steps)  # each ships with a warm-up


def test_warmups_climb_to_80_percent_of_the_working_load_without_overload():
    config = workout(
        {
            "exercise": "press",
            "profile": "eccentric-overload-130",
            "load_kg": 41.0,
            "warmup": True,
            "rest_after_s": 200,
        }
    )
    blocks = blocks_of(config)
    warmups, working = blocks[:-1], blocks[-1]
    assert [b.label for b in warmups] == ["press: warm-up 1/3", "press: warm-up 2/3", "press: warm-up 3/3"]
    assert [b.profile.load_kg for b in warmups] == [16.5, 24.5, 33.0]  # 40, 60, 80 % of 41 kg, 0.5 kg steps
    assert [b.profile.reps for b in warmups] == [reps for _, reps in WARMUP_RAMP]
    for block in warmups:
        assert block.profile.kind is ProfileKind.CONSTANT and not overloads_eccentric(block.profile)
        assert block.rest_after_s == 60.0
    assert working.profile.load_kg == 41.0 and working.rest_after_s == 200
    assert working.profile.eccentric_pct == 30.0  # the working set keeps its overload


def test_an_eccentric_only_step_warms_up_eccentric_only_and_light_loads_skip_warmups():
    eccentric_only = load_profile("eccentric-only").model_copy(update={"load_kg": 2.6})
    (only,) = warmup_profiles(eccentric_only)  # 40 and 60 %: 1.0 and 1.5 kg, below the 2 kg floor
    assert only.kind is ProfileKind.ECCENTRIC_ONLY and only.load_kg == 2.0 and only.eccentric_pct == 0.0


def test_a_paced_step_cannot_be_warmed_up_and_the_error_names_the_step():
    config = workout(
        {"exercise": "row", "profile": "constant"},
        {"exercise": "knee", "profile": "rehab-isokinetic", "warmup": True},
    )
    with pytest.raises(SetRequestError) as caught:
        blocks_of(config)
    assert caught.value.status == 422 and "steps.1 (knee)" in str(caught.value)


def test_todays_loads_replace_the_workouts_in_the_units_asked():
    config = workout(
        {"exercise": "row", "profile": "constant", "load_kg": 40.0},
        {"exercise": "curl", "profile": "constant"},
    )
    blocks = blocks_of(config, loads=[100, None], unit="lb")
    assert blocks[0].profile.load_kg == pytest.approx(45.359, abs=1e-3)
    assert blocks[1].profile.load_kg == load_profile("constant").load_kg  # the profile's own
    with pytest.raises(SetRequestError, match="loads: give 2"):
        blocks_of(config, loads=[100])
    with pytest.raises(
        SetRequestError, match=r"(?s)steps.0 \(row\).*load = 100.5: in lb, loads go in steps of 1"
    ):
        blocks_of(config, loads=[100.5, None], unit="lb")
    with pytest.raises(SetRequestError) as unknown:
        build_workout(StartWorkout(workout="no-such-workout"))
    assert unknown.value.status == 404 and "upper-negatives" in str(unknown.value)


def test_a_workout_file_is_checked_by_name():
    with pytest.raises(ConfigError, match=r"steps\.1\.warmup"):
        workout(
            {"exercise": "row", "profile": "constant", "warmup": True},
            {"exercise": "row", "profile": "vbt-stop-20", "warmup": True},
        )
    with pytest.raises(ConfigError, match=r"steps.0.rest_after_s.*1800"):
        workout({"exercise": "row", "profile": "constant", "rest_after_s": 4000})
    with pytest.raises(ConfigError, match="overload_spacing_days"):
        workout({"exercise": "row", "profile": "constant"}, overload_spacing_days=-1)


@pytest.mark.parametrize(
    ("ago", "spacing_days", "warns"),
    [
        (timedelta(days=2), 7.0, True),
        (timedelta(days=6, hours=23), 7.0, True),
        (timedelta(days=8), 7.0, False),
        (timedelta(hours=1), 7.0, False),  # an earlier set of the same training session
        (timedelta(days=2), 0.0, False),  # no spacing asked for
        (timedelta(days=2), 1.5, False),
    ],
)
def test_overload_spacing_warning(ago, spacing_days, warns):
    warning = overload_warning([(NOW - ago).isoformat()], spacing_days, NOW)
    assert bool(warning) == warns
    if warns:
        assert f"{ago.total_seconds() / 86400:.1f} days" in warning and f"{spacing_days:g} days" in warning


def undone(migration: str) -> str:
    """SQL that takes a migration's columns and tables away again."""
    columns = re.findall(r"ALTER TABLE (\w+) ADD COLUMN (\w+)", migration)
    return "".join(f"ALTER TABLE {table} DROP COLUMN {column};" for table, column in columns) + "".join(
        f"DROP TABLE {table};" for table in re.findall(r"CREATE TABLE (\w+)", migration)
    )


def test_overload_sets_are_stored_as_such_and_an_old_store_is_judged_from_its_reps(tmp_path: Path):
    path = tmp_path / "old.sqlite"
    store = SqliteSessionStore(path)
    ada = store.add_person("ada")
    heavy_down = store.start_session(ada, "m")
    store.add_set(heavy_down, "eccentric-overload-130", 50, some_reps(down_n=650.0, up_n=500.0))
    plain = store.start_session(ada, "m")
    store.add_set(plain, "constant", 50, some_reps(down_n=480.0, up_n=500.0))
    store.close()
    db = sqlite3.connect(path)  # back to schema 4, as a store written before overload was recorded
    db.executescript("".join(undone(migration) for migration in MIGRATIONS[4:]) + "PRAGMA user_version = 4;")
    db.close()
    store = SqliteSessionStore(path)
    assert len(store.overload_sessions("ada")) == 1
    mcv = store.session(plain).sets[0].reps[0]
    assert mcv.mean_propulsive_velocity_mps == mcv.mean_concentric_velocity_mps
    flagged = store.start_session(ada, "m")
    store.add_set(flagged, "eccentric-only", 50, some_reps(down_n=480.0, up_n=500.0), eccentric_overload=True)
    assert len(store.overload_sessions("ada")) == 2 and store.overload_sessions("bob") == []
    store.close()


def test_a_workout_run_rests_between_blocks_and_ends_for_good_on_a_stop():
    run = WorkoutRun("w", ["a", "b", "c"], [30.0, 10.0, 0.0])
    run.block_ended(as_planned=True, now_s=100.0)
    assert run.status(110.0)["rest_left_s"] == 20.0 and run.status(110.0)["next"] == "b"
    assert run.due(129.9) is None
    assert run.due(130.0) == 1 and run.due(131.0) is None
    run.block_ended(as_planned=False, now_s=200.0)
    assert run.ended == "the set was stopped" and run.due(1e9) is None
    done = WorkoutRun("w", ["a"], [0.0])
    done.block_ended(as_planned=True, now_s=1.0)
    assert done.ended == "done"
