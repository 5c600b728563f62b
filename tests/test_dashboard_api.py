"""The dashboard's HTTP and WebSocket API against a real control service over its real port."""

from __future__ import annotations

import asyncio
import csv
import io
import time
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from controller.core.safety import Flag
from dashboard.app import create_app
from dashboard.auth import COOKIE, Role
from dashboard.state import Settings
from tests.service_harness import PASSWORD, running_service


@pytest.fixture
def dash(tmp_path: Path) -> Iterator[TestClient]:
    with running_service(tmp_path):
        settings = Settings(tmp_path / "control.sock", tmp_path / "sessions.sqlite", tmp_path / "recordings")
        app = create_app(settings)
        with TestClient(app) as client:
            wait_until(lambda: app.state.hub.status is not None, "no status from the control process")
            yield client


def wait_until(condition: Any, what: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def log_in(client: TestClient, name: str) -> None:
    response = client.post("/api/login", json={"name": name, "password": PASSWORD})
    assert response.status_code == 200, response.text


def status(client: TestClient) -> Any:
    response = client.get("/api/status")
    assert response.status_code == 200
    return response.json()["status"]


def start(client: TestClient, **body: Any) -> Any:
    return client.post("/api/set/start", json={"profile": "eccentric-overload-130", **body})


def test_nothing_without_logging_in(dash):
    assert dash.get("/api/status").status_code == 401
    assert dash.post("/api/set/skip-rest").status_code == 401
    assert start(dash).status_code == 401
    assert dash.post("/api/login", json={"name": "lifter", "password": "wrong"}).status_code == 401
    with pytest.raises(WebSocketDisconnect) as closed, dash.websocket_connect("/ws/telemetry") as ws:
        ws.receive_text()
    assert closed.value.code == 4401


def test_the_estop_needs_no_login_and_its_reset_does(dash):
    """Like the red button on the machine: whoever stands by must not need a password first."""
    stopped = dash.post("/api/estop")
    assert stopped.status_code == 200 and "tension off" in stopped.json()["note"]
    assert dash.post("/api/reset").status_code == 401
    log_in(dash, "lifter")
    wait_until(lambda: status(dash)["estop"], "the e-stop without a login did not latch")
    assert dash.post("/api/reset").status_code == 200


def test_a_patient_starts_only_the_set_their_plan_decides(dash):
    log_in(dash, "patient")
    assert start(dash).status_code == 403
    assert dash.post("/api/workout/start", json={"workout": "upper-negatives"}).status_code == 403
    assert status(dash)["set_state"] == "idle"


def test_roles_decide_who_may_do_what(dash):
    log_in(dash, "lifter")
    assert dash.get("/api/me").json() == {"name": "lifter", "role": "athlete"}
    new = {"name": "pat", "role": "patient", "password": "long enough"}
    assert dash.post("/api/accounts", json=new).status_code == 403
    caps = {"max_eccentric_force_n": 700}
    response = start(dash, caps=caps)
    assert response.status_code == 403 and "clinician" in response.json()["detail"]
    assert start(dash, person="someone-else").status_code == 403
    log_in(dash, "admin")
    assert dash.post("/api/accounts", json=new).status_code == 201
    assert dash.post("/api/accounts", json=new).status_code == 409
    assert dash.post("/api/accounts", json=new | {"name": "x", "role": "god"}).status_code == 422
    log_in(dash, "clinician")
    assert start(dash, caps={"max_eccentric_force_n": 300}, person="pat").status_code == 422  # below the load
    assert start(dash, caps=caps, person="pat", reps=2).status_code == 200
    wait_until(lambda: status(dash)["profile"] is not None, "the set did not start")
    assert status(dash)["profile"]["caps"]["max_eccentric_force_n"] == 700
    assert status(dash)["person"] == "pat"


def test_each_role_picks_from_its_own_profiles_by_their_human_names(dash):
    def listed(name: str) -> dict[str, str]:
        log_in(dash, name)
        return {p["file"]: p["audience"] for p in dash.get("/api/profiles").json()}

    lifter = listed("lifter")
    assert lifter and set(lifter.values()) == {"training"}
    clinician = listed("clinician")
    assert set(clinician.values()) == {"training", "clinic"} and set(lifter) < set(clinician)
    assert listed("patient") == {}
    assert listed("admin") == clinician


@pytest.mark.parametrize(
    ("body", "code", "words"),
    [
        ({"eccentric_pct": 150}, 422, "eccentric_pct"),
        ({"reps": 0}, 422, "reps"),
        ({"unit": "stone"}, 422, "unit"),
        ({"profile": "no-such-profile"}, 404, "no-such-profile"),
        ({"profile": "../machines/a6-diy"}, 422, "profile"),
        ({"colour": "red"}, 422, "colour"),
        ({"load": 400}, 422, "more than machine"),  # out of this machine's range, like any value
        ({"tempo": {"eccentric_s": 99}}, 422, "eccentric_s"),
    ],
)
def test_bad_set_requests_get_a_clear_4xx_and_change_nothing(dash, body, code, words):
    log_in(dash, "lifter")
    response = start(dash, **body)
    assert response.status_code == code, response.text
    assert words in response.text
    assert status(dash)["set_state"] == "idle"


def test_a_set_in_pounds_runs_lands_in_history_and_exports(dash):
    log_in(dash, "lifter")
    assert start(dash, load=100, unit="lb", reps=2, exercise="row").status_code == 200
    # One set at a time: asked at once, while the first cannot be over (on a loaded machine it was,
    # by the time its status had been read)
    assert start(dash).status_code == 409
    wait_until(lambda: status(dash)["load_kg"] is not None, "the set did not start")
    assert status(dash)["load_kg"] == pytest.approx(45.359, abs=0.01)
    wait_until(lambda: dash.get("/api/sessions").json(), "no session in the history", timeout_s=120)
    (row,) = dash.get("/api/sessions").json()
    assert row["person"] == "lifter" and row["reps"] == 2 and row["exercise"] == "row"
    detail = dash.get(f"/api/sessions/{row['id']}").json()
    assert detail["sets"][0]["load_kg"] == pytest.approx(45.359, abs=0.01)
    exported = dash.get(f"/api/sessions/{row['id']}/export.csv")
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [r["index"] for r in rows] == ["1", "2"]
    # a spreadsheet's row: the exercise named, the session's time, figures to 3 decimals (issue 19)
    assert rows[0]["exercise"] == "row" and rows[0]["load_kg"] == "45.359" and rows[0]["started"]
    assert all(len(r["concentric_s"].partition(".")[2]) <= 3 for r in rows)
    assert dash.get("/api/sessions/999").status_code == 404
    log_in(dash, "admin")
    assert dash.get(f"/api/sessions/{row['id']}").status_code == 200


def test_skip_rest_is_refused_outside_a_rest_and_starts_the_next_set_in_one(dash):
    log_in(dash, "lifter")
    refused = dash.post("/api/set/skip-rest")
    assert refused.status_code == 409 and "not resting" in refused.json()["detail"]
    assert start(dash, reps=1, sets=2, rest_s=1800).status_code == 200
    wait_until(lambda: status(dash)["set_state"] == "resting", "the first set did not end", timeout_s=120)
    assert dash.post("/api/set/skip-rest").status_code == 200
    wait_until(lambda: status(dash)["set_index"] == 2, "the second set did not come")
    assert status(dash)["set_state"] != "resting"


def test_replay_lists_traces_and_replays_a_recording_under_another_profile(dash):
    log_in(dash, "lifter")
    assert start(dash, reps=2).status_code == 200
    wait_until(lambda: dash.get("/api/sessions").json(), "the set did not finish", timeout_s=120)
    (recording,) = dash.get("/api/recordings").json()
    trace = dash.get(f"/api/recordings/{recording['name']}/trace").json()
    assert trace["profile"] == "eccentric-overload-130"
    assert len(trace["trace"]["time_s"]) == len(trace["trace"]["felt_tension_n"]) > 100
    assert dash.get("/api/recordings/nope.ecxr/trace").status_code == 404
    response = dash.post(f"/api/recordings/{recording['name']}/what-if", json={"profile": "constant"})
    assert response.status_code == 200, response.text
    doc = response.json()
    assert len(doc["replayed"]) == len(doc["original"]) == 2
    for was, now in zip(doc["original"], doc["replayed"], strict=True):
        assert now["mean_eccentric_force_n"] < 0.85 * was["mean_eccentric_force_n"]  # no overload any more
    assert len(doc["trace"]["time_s"]) > 100


def test_the_telemetry_socket_ends_when_its_browser_leaves_even_with_nothing_to_send(tmp_path):
    """As uvicorn runs it: the browser's leaving comes as a message, and nobody cancels the handler.
    No control process, so nothing to send. Before, the handler waited on its queue alone, and a
    dashboard whose control process had stopped never exited (the demo's 15 s ran out in CI)."""
    app = create_app(Settings(tmp_path / "no-control.sock", tmp_path / "sessions.sqlite", None))
    token = app.state.logins.open("lifter", Role.ATHLETE)
    scope = {
        "type": "websocket",
        "path": "/ws/telemetry",
        "raw_path": b"/ws/telemetry",
        "query_string": b"",
        "headers": [(b"host", b"localhost"), (b"cookie", f"{COOKIE}={token}".encode())],
        "scheme": "ws",
        "server": ("localhost", 80),
        "client": ("127.0.0.1", 50000),
        "subprotocols": [],
    }
    sent: list[MutableMapping[str, Any]] = []

    async def session() -> None:
        browser: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        await browser.put({"type": "websocket.connect"})

        async def send(message: MutableMapping[str, Any]) -> None:
            sent.append(message)
            if message["type"] == "websocket.accept":
                await browser.put({"type": "websocket.disconnect", "code": 1001})

        await asyncio.wait_for(app(scope, browser.get, send), timeout=60)

    asyncio.run(session())
    assert [m["type"] for m in sent] == ["websocket.accept"]
    assert not app.state.hub.subscribers


def test_the_websocket_streams_status_telemetry_and_reps_and_estop_zeroes_tension(dash):
    log_in(dash, "lifter")
    with dash.websocket_connect("/ws/telemetry") as ws:
        assert start(dash, reps=4).status_code == 200
        seen: dict[str, list[dict[str, Any]]] = {}
        deadline = time.monotonic() + 120
        while "rep" not in seen:
            assert time.monotonic() < deadline, "no rep over the websocket"
            message = ws.receive_json()
            seen.setdefault(message["type"], []).append(message)
        assert seen["status"] and seen["telemetry"]
        assert max(seen["telemetry"][-1]["tension_n"]) > 100
        assert dash.post("/api/estop").status_code == 200
        wait_until(lambda: status(dash)["estop"], "the e-stop did not latch")
        batches = [m for m in (ws.receive_json() for _ in range(100)) if m["type"] == "telemetry"]
        stopped = [b for b in batches if b["flags"] & Flag.ESTOP]
        assert stopped, "no telemetry with the e-stop flag"
        assert stopped[0]["command_n"][-1] == 0.0
        assert all(max(b["command_n"]) == 0.0 for b in stopped[1:])
    assert dash.post("/api/reset").status_code == 200


def test_workouts_are_listed_and_a_bad_workout_start_names_what_is_wrong(dash):
    assert dash.post("/api/workout/start", json={"workout": "upper-negatives"}).status_code == 401
    log_in(dash, "lifter")
    listed = {w["file"]: w for w in dash.get("/api/workouts").json()}
    upper = listed["upper-negatives"]
    assert [s["kind"] for s in upper["steps"]] == ["eccentric_overload", "constant", "adaptive_eccentric"]
    assert upper["steps"][0]["load_kg"] == 40.0 and upper["steps"][0]["warmup"]
    unknown = dash.post("/api/workout/start", json={"workout": "no-such"})
    assert unknown.status_code == 404 and "upper-negatives" in unknown.text
    short = dash.post("/api/workout/start", json={"workout": "upper-negatives", "loads": [40]})
    assert short.status_code == 422 and "loads: give 3" in short.text
    heavy = dash.post("/api/workout/start", json={"workout": "upper-negatives", "loads": [None, 400, None]})
    assert heavy.status_code == 422 and "workout.blocks.4 (seated row): profile.load_kg = 400.0" in heavy.text
    assert status(dash)["set_state"] == "idle" and status(dash)["workout"] is None
    started = dash.post("/api/workout/start", json={"workout": "upper-negatives", "loads": [45, None, None]})
    assert started.status_code == 200, started.text
    wait_until(
        lambda: (status(dash)["workout"] or {}).get("label") == "chest press: warm-up 1/3", "no workout"
    )
    again = dash.post("/api/workout/start", json={"workout": "upper-negatives"})
    assert again.status_code == 409
