"""Whose set is whose: the hub's fan-out to browsers (dashboard/views.py), message by message."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dashboard.auth import Role, User
from dashboard.hub import Hub, Subscriber

pytestmark = pytest.mark.fast

STATUS: dict[str, Any] = {
    "type": "status",
    "time_s": 1.0,
    "machine": "rig",
    "estop": False,
    "fault": None,
    "set_state": "concentric",
    "profile": {"name": "constant", "caps": {"max_eccentric_force_n": 700}},
    "load_kg": 30.0,
    "loads_kg": [30.0, 39.0],
    "person": "ann",
    "reps_done": 2,
    "recording": "/recordings/ann.ecxr",
}
SET: list[dict[str, Any]] = [
    {"type": "set_started", "profile": "constant", "by": "clin", "person": "ann"},
    STATUS,
    {"type": "telemetry", "person": "ann", "tension_n": [300.0]},
    {"type": "rep", "set": 1, "peak_force_n": 410.0},
    {"type": "set_done", "set": 1, "reps": 1, "volume_kg": 30.0, "best_velocity_mps": 0.61},
    {"type": "safety", "time_s": 2.0, "kind": "estop", "rep_index": 2, "detail": "by ann"},
    {"type": "block_done", "person": "ann", "reps": [8]},
]


def watch(*viewers: User) -> tuple[Hub, list[Subscriber]]:
    hub = Hub(Path("/nonexistent/control.sock"))
    subscribers = [Subscriber(v) for v in viewers]
    hub.subscribers.update(subscribers)
    for message in SET:
        hub._receive(dict(message))
    return hub, subscribers


def received(subscriber: Subscriber) -> list[dict[str, object]]:
    return [json.loads(subscriber.queue.get_nowait()) for _ in range(subscriber.queue.qsize())]


ANN = User("ann", Role.PATIENT, 0.0)
BOB = User("bob", Role.ATHLETE, 0.0)
CLINICIAN = User("clin", Role.CLINICIAN, 0.0)


def test_the_person_training_and_a_supervisor_see_every_message_whole():
    _, subscribers = watch(ANN, CLINICIAN)
    for subscriber in subscribers:
        assert received(subscriber) == SET


def test_anyone_else_sees_the_machine_busy_and_the_safety_kind_and_nothing_of_the_person():
    hub, (bob,) = watch(BOB)
    got = received(bob)
    assert [m["type"] for m in got] == ["status", "safety"]
    status, safety = got
    assert status["in_use"] and status["set_state"] == "concentric" and status["estop"] is False
    assert safety == {"type": "safety", "time_s": 2.0, "kind": "estop"}
    assert not [word for word in ("ann", "700", "39.0", "0.61") if word in json.dumps(got)]
    assert hub.seen_by(BOB)["reps"] == [] and "ann" not in json.dumps(hub.seen_by(BOB))
    assert hub.seen_by(ANN)["reps"] == SET[3:5] and len(hub.seen_by(ANN)["events"]) == 2


def test_the_last_sets_reps_stay_its_persons_when_the_machine_goes_idle():
    hub, _ = watch()
    hub._receive(STATUS | {"person": None, "set_state": "idle", "profile": None})
    assert hub.seen_by(BOB)["reps"] == [] and hub.seen_by(ANN)["reps"] == SET[3:5]
    assert hub.seen_by(BOB)["status"]["in_use"] is False


def test_telemetry_is_whose_frames_it_carries_not_whose_set_the_last_status_named():
    """An e-stop ends the set, and the next status names nobody: the frames of the tension falling
    are still the person's, to see on their page, and still nobody else's (a CI run under load
    once showed the lifter 529 N for 20 s after their e-stop)."""
    hub, (ann, bob, clinician) = watch(ANN, BOB, CLINICIAN)
    for subscriber in (ann, bob, clinician):
        received(subscriber)
    hub._receive(STATUS | {"person": None, "set_state": "stopped", "estop": True})
    falling = {"type": "telemetry", "person": "ann", "tension_n": [410.0, 0.0]}
    hub._receive(dict(falling))
    assert received(ann)[-1] == falling and received(clinician)[-1] == falling
    assert [m["type"] for m in received(bob)] == ["status"]
    standby = {"type": "telemetry", "person": None, "tension_n": [12.0]}
    hub._receive(dict(standby))
    assert received(ann) == [] and received(bob) == [] and received(clinician) == [standby]
