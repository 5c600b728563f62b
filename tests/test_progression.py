"""Rehab progression: a simulated patient through six weeks of a shipped protocol, and the rules
one by one."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from controller.app.clinic import Clinic
from controller.app.progression import Action, SessionOutcome, decide, stage_profile
from controller.app.report import render_report
from controller.app.store import SqliteSessionStore, StoreError
from controller.config import load_athlete, load_machine
from controller.config.loader import CONFIG_ROOT
from controller.config.protocol import load_protocol
from controller.core.reps import RepMetrics
from controller.units import round_half_kg
from simulator.simulate import SimulationSetup, simulate

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
PROTOCOL = load_protocol("older-adult-eccentric")
STAGE = PROTOCOL.stages[0]


def rep(eccentric_s: float = 4.0, failed: bool = False) -> RepMetrics:
    fields: dict[str, Any] = {f.name: 0 for f in dataclasses.fields(RepMetrics)}
    return RepMetrics(
        **(fields | {"index": 1, "eccentric_s": eccentric_s, "failed": failed, "assisted": True})
    )


def outcome(reps: list[RepMetrics]) -> SessionOutcome:
    return SessionOutcome(STAGE.sets * STAGE.reps, reps, STAGE)


FULL = outcome([rep() for _ in range(30)])


def test_every_shipped_protocol_loads_and_covers_its_weeks():
    names = sorted(p.stem for p in (CONFIG_ROOT / "protocols").glob("*.toml"))
    assert names == [
        "alfredson-heel-drop",
        "decline-squat",
        "nordic-hamstring",
        "older-adult-eccentric",
        "post-acl-eccentric",
    ]
    for name in names:
        protocol = load_protocol(name)
        assert protocol.weeks >= 6
        assert protocol.stage_at(protocol.sessions) == len(protocol.stages) - 1
        assert stage_profile(protocol, decide(protocol, 1, 0, None, None)).load_kg == protocol.start_load_kg


def test_the_rules():
    first = decide(PROTOCOL, 1, 2, None, None)
    assert (first.action, first.load_kg) == (Action.START, PROTOCOL.start_load_kg)
    advance = decide(PROTOCOL, 2, PROTOCOL.pain_limit, 4.0, FULL)
    assert (advance.action, advance.load_kg) == (Action.ADVANCE, 4.0 + PROTOCOL.load_step_kg)
    sore = decide(PROTOCOL, 2, PROTOCOL.pain_limit + 1, 4.0, FULL)
    assert sore.action is Action.HOLD and "soreness" in sore.reason
    back = decide(PROTOCOL, 2, PROTOCOL.step_back_above + 1, 4.0, FULL)
    assert back.action is Action.STEP_BACK
    assert back.load_kg == round_half_kg(4.0 * (1 - PROTOCOL.step_back_pct / 100))
    short = decide(PROTOCOL, 2, 0, 4.0, outcome([rep() for _ in range(28)] + [rep(failed=True)]))
    assert short.action is Action.HOLD and "28 of 30 reps" in short.reason
    rushed = decide(PROTOCOL, 2, 0, 4.0, outcome([rep()] * 27 + [rep(eccentric_s=2.0)] * 3))
    assert rushed.action is Action.HOLD and "3 lowering(s) off" in rushed.reason
    unknown = decide(PROTOCOL, 2, 0, 4.0, None)
    assert unknown.action is Action.HOLD
    top = decide(PROTOCOL, 2, 0, PROTOCOL.max_load_kg, FULL)
    assert (top.action, top.load_kg) == (Action.HOLD, PROTOCOL.max_load_kg)
    with pytest.raises(ValueError, match="soreness = 11: allowed 0 to 10"):
        decide(PROTOCOL, 2, 11, 4.0, FULL)


def test_a_check_in_without_a_plan_is_refused(tmp_path):
    store = SqliteSessionStore(tmp_path / "s.db")
    with pytest.raises(StoreError, match="no protocol assigned"):
        Clinic(store).check_in("ann", 2)


# Soreness at each session's check-in: a bad week after session 5 (7/10: step back), one middling
# report (4/10: hold); otherwise mild.
SORENESS = [2, 1, 2, 2, 3, 7, 2, 4, 2, 1, 2, 2]


def test_six_weeks_of_a_protocol_with_a_simulated_patient(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Twice a week for six weeks; the patient gets a little stronger each session. Each session
    is the decided set run in fast simulation on the RS-485 clinic build, stored as the control
    service stores it. The protocol as shipped but for one set of ten a session instead of three:
    its rules judge reps done of reps planned and the tempo, whatever the number of sets, and
    three sets took 150 s of the suite on a loaded machine."""
    one_set = PROTOCOL.model_copy(
        update={"stages": [stage.model_copy(update={"sets": 1}) for stage in PROTOCOL.stages]}
    )
    monkeypatch.setattr("controller.app.clinic.load_protocol", lambda name: one_set)
    store = SqliteSessionStore(tmp_path / "clinic.db")
    clinic = Clinic(store)
    clinic.assign("ann", PROTOCOL.name, by="dr-lee", at="2026-01-05")
    machine = load_machine("a6-rs485")
    patient = load_athlete("rehab-patient")
    day = date(2026, 1, 5)
    previous: tuple[float, SessionOutcome] | None = None
    for number, soreness in enumerate(SORENESS, start=1):
        decision = clinic.check_in("ann", soreness, at=day.isoformat()).decision
        expected = expected_decision(soreness, previous)
        assert (decision.action, decision.load_kg) == expected, (number, decision.reason)
        profile = stage_profile(one_set, decision)
        stronger = patient.model_copy(update={"one_rm_kg": patient.one_rm_kg * (1 + 0.015 * number)})
        result = simulate(SimulationSetup(machine, profile, stronger))
        session = store.start_session(store.person_named("ann"), machine.name)
        store.add_set(session, profile.name, decision.load_kg, result.reps)
        previous = (decision.load_kg, SessionOutcome(profile.sets * profile.reps, result.reps, STAGE))
        day += timedelta(days=3 if number % 2 else 4)
    plan = clinic.plan_for("ann")
    assert plan is not None
    actions = [d.decision.action for d in clinic.decisions(plan)]
    assert actions[SORENESS.index(7)] is Action.STEP_BACK
    assert actions[SORENESS.index(4)] is Action.HOLD
    assert actions.count(Action.ADVANCE) >= 6
    html = render_report(clinic, "ann")
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "rehab-report.html").write_text(html, encoding="utf-8")  # to look at
    assert "<svg" in html and "polyline" in html and "Older adults" in html
    for record in clinic.decisions(plan):
        assert record.decision.reason in html.replace("&#x27;", "'")


def expected_decision(soreness: int, previous: tuple[float, SessionOutcome] | None) -> tuple[Action, float]:
    """The rules, restated independently of controller/progression.py."""
    if previous is None:
        return Action.START, PROTOCOL.start_load_kg
    load, last = previous
    if soreness > PROTOCOL.step_back_above:
        return Action.STEP_BACK, max(PROTOCOL.start_load_kg, round(load * 0.85 * 2) / 2)
    done = sum(1 for r in last.reps if not r.failed) >= last.planned_reps
    on_tempo = all(abs(r.eccentric_s / 4.0 - 1) <= 0.25 for r in last.reps)
    if done and on_tempo and soreness <= PROTOCOL.pain_limit:
        return Action.ADVANCE, min(PROTOCOL.max_load_kg, load + PROTOCOL.load_step_kg)
    return Action.HOLD, load


def test_check_ins_without_sessions_do_not_move_a_protocol_on(tmp_path: Path):
    """13 check-ins with no session between them moved post-ACL from stage 1 (eccentric-only,
    0.24 m) to stage 3 (15 % overload, 0.38 m). Only sessions done move it."""
    store = SqliteSessionStore(tmp_path / "clinic.db")
    clinic = Clinic(store)
    clinic.assign("ann", "post-acl-eccentric", by="dr-lee", at="2026-01-05")
    decisions = [clinic.check_in("ann", 1, at=f"2026-01-{day:02d}").decision for day in range(5, 18)]
    store.close()
    assert {d.stage for d in decisions} == {0} and {d.session_number for d in decisions} == {1}
    assert all(d.action in (Action.START, Action.HOLD) for d in decisions)
