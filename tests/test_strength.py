"""A lifter's estimated 1RM from the sets they stored: the load-velocity profile fitted per exercise
(app/strength.py over vbt.py), through the command line and the dashboard, against the simulated
athlete's true 1RM."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import asdict
from pathlib import Path

import pytest

from controller.app.store import SqliteSessionStore
from controller.cli import main
from controller.config import load_athlete
from tests.postgres_harness import Postgres
from tests.sets import run_set
from tests.site_harness import Message, a_site, block_done, count, publish, wait_until
from tests.test_dashboard_api import dash, log_in  # noqa: F401  (dash: the fixture)

TRAINED = load_athlete("trained")
LOADS = [round(TRAINED.one_rm_kg * f, 1) for f in (0.45, 0.65, 0.85)]  # as test_vbt: up to ~85 %


def store_sets(db: Path, person: str, exercise: str, loads: list[float], profile: str = "constant") -> None:
    store = SqliteSessionStore(db)
    try:
        session = store.start_session(store.person_named(person), "home-gym-2kw")
        for load in loads:
            store.add_set(
                session,
                profile,
                load,
                run_set(profile, "trained", reps=3, load_kg=load).reps,
                False,
                exercise,
            )
    finally:
        store.close()


def test_the_command_line_estimates_the_1rm_from_the_stored_sets_of_one_exercise(tmp_path, capsys):
    db = tmp_path / "sessions.sqlite"
    store_sets(db, "ada", "row", LOADS)
    store_sets(db, "ada", "curl", [10.0, 12.0])  # another exercise: not on this profile
    store_sets(db, "ada", "row", [60.0], profile="eccentric-only")  # assisted lifts say nothing of speed
    ask = ["strength", "--db", str(db), "--person", "ada", "--exercise", "row"]
    assert main([*ask, "--mvt", "0.17", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [p["load_kg"] for p in doc["points"]] == LOADS
    assert doc["one_rm_kg"] == pytest.approx(TRAINED.one_rm_kg, rel=0.05)
    assert 0 < doc["one_rm_sd_kg"] < 0.1 * doc["one_rm_kg"] and doc["mvt_mps"] == 0.17
    assert main(ask) == 0
    printed = capsys.readouterr().out
    assert "estimated 1RM" in printed and "0.30 m/s" in printed  # the safe default threshold, said


def test_no_usable_sets_is_a_clear_error(tmp_path, capsys):
    db = tmp_path / "sessions.sqlite"
    store_sets(db, "ada", "row", [60.0], profile="eccentric-only")
    assert main(["strength", "--db", str(db), "--person", "ada", "--exercise", "row"]) == 2
    assert "no sets of 'row' by 'ada' with a complete, unassisted rep" in capsys.readouterr().err


def test_the_dashboard_shows_a_lifter_their_own_estimate_and_nobody_elses(dash, tmp_path):  # noqa: F811
    store_sets(tmp_path / "sessions.sqlite", "lifter", "row", LOADS)
    log_in(dash, "lifter")
    response = dash.get("/api/strength", params={"exercise": "row", "mvt_mps": 0.17})
    assert response.status_code == 200, response.text
    assert response.json()["one_rm_kg"] == pytest.approx(TRAINED.one_rm_kg, rel=0.05)
    assert dash.get("/api/strength", params={"exercise": "row", "person": "ada"}).status_code == 403
    missing = dash.get("/api/strength", params={"exercise": "squat"})
    assert missing.status_code == 409 and "no sets of 'squat'" in missing.json()["detail"]
    assert dash.get("/api/strength", params={"exercise": "row", "mvt_mps": 5}).status_code == 422
    # ... and, over the weeks, the same sets as a trend and records, theirs only
    assert dash.get("/api/exercises").json() == ["row"]
    progress = dash.get("/api/progress", params={"exercise": "row"}).json()
    assert [p["top_load_kg"] for p in progress["sessions"]] == [max(LOADS)]
    assert {r["what"] for r in progress["records"]} >= {"heaviest load", "best estimated 1RM"}
    assert dash.get("/api/progress", params={"exercise": "row", "person": "ada"}).status_code == 403
    assert dash.get("/api/progress", params={"exercise": ""}).status_code == 422


def test_the_site_estimates_from_every_machines_sets_as_one_machine_does_from_its_own(
    tmp_path: Path, cluster: Postgres, capsys: pytest.CaptureFixture[str]
) -> None:
    """One interface, chosen on the command line: the same three sets, on one machine's store, or
    split over two machines and read from their site, give the same profile and estimate."""
    sets = [(load, run_set("constant", "trained", reps=3, load_kg=load).reps) for load in LOADS]
    db = tmp_path / "sessions.sqlite"
    store = SqliteSessionStore(db)
    session = store.start_session(store.person_named("ada"), "gym-a")
    for load, reps in sets:
        store.add_set(session, "constant", load, reps, False, "row")
    store.close()
    said: list[Message] = []
    for n, (load, reps) in enumerate(sets):
        machine, block = ("gym-a", "gym-b")[n % 2], uuid.uuid4().hex
        for rep in reps:
            head = {"v": 1, "machine": machine, "id": uuid.uuid4().hex, "ts": time.time(), "block": block}
            said.append((f"eccentrix/{machine}/rep", head | {"person": "ada", "set": 1, **asdict(rep)}))
        said.append(block_done(machine, block, len(reps), load, "row"))
    with a_site(tmp_path, cluster) as site:
        publish(site.broker.port, said)
        wait_until(lambda: count(site.database, "blocks") == len(sets), "the sets at the site")
        ask = ["strength", "--person", "ada", "--exercise", "row", "--mvt", "0.17", "--json"]
        assert main([*ask, "--db", str(db)]) == 0
        here = json.loads(capsys.readouterr().out)
        assert main([*ask, "--site", str(site.worker.file)]) == 0
        everywhere = json.loads(capsys.readouterr().out)
    assert everywhere == here and here["one_rm_kg"] == pytest.approx(TRAINED.one_rm_kg, rel=0.05)
