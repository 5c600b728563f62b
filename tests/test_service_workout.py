"""A workout through the control port: its blocks one after the other with the rest between them,
the spacing warning, and a stop that ends the whole workout."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from controller.app.store import SqliteSessionStore
from controller.drive import DriveFeedback
from controller.drive.base import DriveAlarm
from tests.service_harness import PacedClock, running_service
from tests.test_service import Listener, with_client


def workout_fields(*steps: dict[str, Any]) -> dict[str, Any]:
    """A whole workout, as a clinician's dashboard sends one; the control process expands it."""
    return {"workout": {"name": "test-workout", "steps": list(steps)}, "person": "ada"}


def seed_overload(folder: Path, days_ago: float) -> None:
    store = SqliteSessionStore(folder / "sessions.sqlite")
    session = store.start_session(store.person_named("ada"), "home-gym-2kw")
    store.add_set(session, "eccentric-only", 60.0, [], eccentric_overload=True)
    started = (datetime.now(UTC) - timedelta(days=days_ago)).isoformat(timespec="seconds")
    with store.connection:
        store.connection.execute("UPDATE sessions SET started = ? WHERE id = ?", (started, session))
    store.close()


def test_a_workout_runs_warmups_and_steps_with_rests_and_warns_of_close_overload(tmp_path):
    fields = workout_fields(
        {"exercise": "row", "profile": "constant", "load_kg": 45.0, "reps": 2, "warmup": True}
        | {"warmup_rest_s": 2.0, "rest_after_s": 4.0},
        {
            "exercise": "row",
            "profile": "eccentric-overload-130",
            "load_kg": 45.0,
            "reps": 2,
            "rest_after_s": 0,
        },
    )

    async def body(listener: Listener) -> Listener:
        reply = await listener.client.request("workout", workout=fields, by="test")
        assert reply["ok"], reply
        assert "2.0 days after the last" in reply["warning"], reply
        await listener.wait_for("block_done", 5, timeout_s=240)
        await listener.wait_for("workout", 2)
        return listener

    with running_service(tmp_path, clock=PacedClock(speed=16.0)) as service:
        seed_overload(tmp_path, days_ago=2.0)
        listener = asyncio.run(with_client(service.port.path, body))
        assert service.workout is None
    workout_events = listener.of("workout")
    assert [m["event"] for m in workout_events] == ["started", "ended"]
    assert workout_events[-1]["ended"] == "done"
    resting = [
        m["workout"] for m in listener.of("status") if m.get("workout") and m["workout"]["rest_left_s"] > 0
    ]
    assert {w["next"] for w in resting} >= {"row: warm-up 2/3", "row: warm-up 3/3", "row"}
    done = listener.of("block_done")
    assert [d["reps"] for d in done] == [8, 5, 3, 2, 2]
    assert [d["profile"] for d in done][-1] == "eccentric-overload-130"
    store = SqliteSessionStore(tmp_path / "sessions.sqlite")
    loads = [store.session(d["session"]).sets[0].load_kg for d in done]
    workouts = [store.session(d["session"]).workout for d in done]
    assert len(store.overload_sessions("ada")) == 2  # the seeded one and the workout's last step
    store.close()
    assert loads == [18.0, 27.0, 36.0, 45.0, 45.0]
    assert workouts == ["test-workout"] * 5  # history by workout: each block is filed under it


def test_a_stop_in_the_rest_ends_the_workout_and_nothing_starts_on_its_own(tmp_path):
    fields = workout_fields(
        {"exercise": "row", "profile": "constant", "load_kg": 40.0, "reps": 1, "rest_after_s": 20.0},
        {"exercise": "curl", "profile": "constant", "load_kg": 20.0, "reps": 1},
    )

    async def body(listener: Listener) -> None:
        assert (await listener.client.request("workout", workout=fields))["ok"]
        await listener.wait_for("block_done", timeout_s=120)
        refused = await listener.client.request("start", start={"profile": "constant"})
        assert not refused["ok"] and "workout 'test-workout' is on" in refused["error"]
        assert (await listener.client.request("stop"))["ok"]
        ended = [m for m in await listener.wait_for("workout", 2) if m["event"] == "ended"]
        assert ended[0]["ended"] == "stopped"
        await asyncio.sleep(20.0 / 8 + 1.0)  # past the rest the second block would have waited
        assert len(listener.of("set_started")) == 1

    with running_service(tmp_path) as service:
        asyncio.run(with_client(service.port.path, body))


def test_a_workout_with_a_block_the_machine_cannot_pull_is_refused_by_name_and_nothing_starts(tmp_path):
    fields = workout_fields(
        {"exercise": "row", "profile": "constant", "load_kg": 40.0},
        {"exercise": "press", "profile": "constant", "load_kg": 200.0},
    )

    async def body(listener: Listener) -> None:
        reply = await listener.client.request("workout", workout=fields)
        assert not reply["ok"]
        assert reply["error"].startswith("workout.blocks.1 (press): profile.load_kg = 200.0"), reply
        await asyncio.sleep(0.5)
        assert listener.of("set_started") == [] and listener.of("workout") == []

    with running_service(tmp_path) as service:
        asyncio.run(with_client(service.port.path, body))
        assert service.workout is None


def test_a_drive_alarm_in_the_rest_ends_the_workout_and_the_stop_stays_latched(tmp_path):
    fields = workout_fields(
        {"exercise": "row", "profile": "constant", "load_kg": 40.0, "reps": 1, "rest_after_s": 20.0},
        {"exercise": "curl", "profile": "constant", "load_kg": 20.0, "reps": 1},
    )

    async def alarm() -> DriveFeedback:
        raise DriveAlarm(0x0E, "overcurrent")

    async def body(listener: Listener) -> None:
        assert (await listener.client.request("workout", workout=fields))["ok"]
        await listener.wait_for("block_done", timeout_s=120)
        service.drive.read = alarm  # type: ignore[method-assign]  # the drive alarms during the rest
        ended = [m for m in await listener.wait_for("workout", 2) if m["event"] == "ended"]
        assert "overcurrent" in ended[0]["ended"]
        await asyncio.sleep(20.0 / 8 + 1.0)
        assert len(listener.of("set_started")) == 1
        assert "overcurrent" in (await listener.client.request("status"))["status"]["fault"]

    with running_service(tmp_path) as service:
        asyncio.run(with_client(service.port.path, body))


async def until_resting(listener: Listener) -> None:
    """Between a block's sets, or between a workout's blocks."""
    while True:
        status = (await listener.client.request("status"))["status"]
        if status["set_state"] == "resting" or (status["workout"] and status["workout"]["rest_left_s"] > 0):
            return
        await asyncio.sleep(0.05)


def test_skip_rest_starts_the_next_set_and_the_next_block_at_once_and_is_refused_when_not_resting(tmp_path):
    long_rest = 1800.0  # the test would time out long before either rest ran out
    fields = workout_fields(
        {"exercise": "row", "profile": "constant", "load_kg": 30.0, "reps": 1, "sets": 2}
        | {"rest_s": long_rest, "rest_after_s": long_rest},
        {"exercise": "curl", "profile": "constant", "load_kg": 15.0, "reps": 1},
    )

    async def body(listener: Listener) -> Listener:
        refused = await listener.client.request("skip_rest")
        assert not refused["ok"] and "not resting" in refused["error"]
        assert (await listener.client.request("workout", workout=fields))["ok"]
        await until_resting(listener)  # between the row's two sets
        assert (await listener.client.request("skip_rest"))["ok"]
        await listener.wait_for("block_done", timeout_s=120)
        await until_resting(listener)  # between the row and the curl
        assert (await listener.client.request("skip_rest"))["ok"]
        await listener.wait_for("block_done", 2, timeout_s=120)
        return listener

    with running_service(tmp_path) as service:
        listener = asyncio.run(with_client(service.port.path, body))
    # only the waiting was skipped: both of the row's sets and the curl ran to their rep
    assert [(d["exercise"], d["reps"]) for d in listener.of("block_done")] == [("row", 2), ("curl", 1)]
    # each set began by telling the lifter it waits for the handle to be held still
    waiting = {
        (m["exercise"], m["set_index"])
        for m in listener.of("status")
        if m["set_state"] == "idle" and m["armed"]
    }
    assert waiting == {("row", 1), ("row", 2), ("curl", 1)}
