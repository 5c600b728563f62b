"""The rehab pages' API against a real control service: a clinician assigns a protocol and caps, the
patient checks in and starts today's set, and each sees only what their role allows."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.test_dashboard_api import dash, log_in, status, wait_until

__all__ = ["dash"]  # the fixture


def test_a_clinician_assigns_and_a_patient_checks_in_and_starts_today(dash: TestClient):
    log_in(dash, "patient")
    assert (
        dash.put("/api/patients/patient/plan", json={"protocol": "older-adult-eccentric"}).status_code == 403
    )
    assert dash.post("/api/today/checkin", json={"soreness": 2}).status_code == 409  # no plan yet
    log_in(dash, "clinician")
    assert dash.put("/api/patients/patient/plan", json={"protocol": "no-such"}).status_code == 404
    assigned = dash.put("/api/patients/patient/plan", json={"protocol": "older-adult-eccentric"})
    assert assigned.status_code == 200, assigned.text
    caps = {
        "max_concentric_force_n": 150.0,
        "max_eccentric_force_n": 180.0,
        "rom_min_m": 0.05,
        "rom_max_m": 0.7,
    }
    assert dash.patch("/api/patients/patient/caps", json={"set": caps}).status_code == 200
    bad = dash.patch("/api/patients/patient/caps", json={"set": {"max_speed_mps": 50}})
    assert bad.status_code == 422 and "max_speed_mps" in bad.text
    listed = dash.get("/api/patients").json()
    assert listed == [
        {"name": "patient", "protocol": "older-adult-eccentric", "caps": caps | {"rom_soft_m": 0.03}}
    ]

    log_in(dash, "patient")
    assert dash.get("/api/patients").status_code == 403
    assert dash.post("/api/today/checkin", json={"soreness": 11}).status_code == 422
    today = dash.post("/api/today/checkin", json={"soreness": 2})
    assert today.status_code == 200, today.text
    body = today.json()
    assert body["action"] == "start" and body["profile"]["load_kg"] == 2.0 and body["profile"]["reps"] == 10
    assert dash.post("/api/today/start").status_code == 200
    wait_until(lambda: (status(dash)["profile"] or {}).get("name") == "older-adult-eccentric-1", "no set")
    running = status(dash)["profile"]
    assert running["caps"]["max_concentric_force_n"] == 150.0 and running["caps"]["rom_max_m"] == 0.7
    assert dash.post("/api/estop").status_code == 200

    report = dash.get("/api/patients/patient/report")
    assert report.status_code == 200 and "<svg" in report.text and "first session" in report.text
    assert dash.get("/api/patients/lifter/report").status_code == 403
    progress = dash.get("/api/patients/patient/progress").json()
    assert [d["action"] for d in progress["decisions"]] == ["start"]


def test_caps_change_field_by_field_and_a_removal_is_named(dash: TestClient):
    """Setting a speed cap used to replace all the caps: the force caps and the window were gone."""
    log_in(dash, "clinician")
    caps = "/api/patients/patient/caps"
    first = {"max_concentric_force_n": 150.0, "rom_min_m": 0.05, "rom_max_m": 0.7}
    assert dash.patch(caps, json={"set": first}).json()["before"] == {}
    speed = dash.patch(caps, json={"set": {"max_speed_mps": 0.4}}).json()
    assert speed["before"] == first | {"rom_soft_m": 0.03}
    assert speed["after"] == first | {"rom_soft_m": 0.03, "max_speed_mps": 0.4}
    removed = dash.patch(caps, json={"remove": ["max_concentric_force_n"]}).json()
    assert "max_concentric_force_n" not in removed["after"] and removed["after"]["rom_max_m"] == 0.7
    both = dash.patch(caps, json={"set": {"max_speed_mps": 0.3}, "remove": ["max_speed_mps"]})
    assert both.status_code == 422 and "max_speed_mps: both set and removed" in both.text
    unknown = dash.patch(caps, json={"remove": ["max_fun"]})
    assert unknown.status_code == 422
    window = dash.patch(caps, json={"set": {"rom_min_m": 0.69}})  # against the kept rom_max_m
    assert window.status_code == 422 and "rom_max_m" in window.text
    assert dash.put(caps, json=first).status_code == 405  # no whole replacement any more
    (listed,) = dash.get("/api/patients").json()
    assert listed["caps"] == {"rom_min_m": 0.05, "rom_max_m": 0.7, "max_speed_mps": 0.4, "rom_soft_m": 0.03}
