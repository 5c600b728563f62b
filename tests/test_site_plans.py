"""Rehab plans held at the site: a clinician assigns one there, a patient checks in on any machine,
and the plan moves on by the sessions done on every machine; a machine cut off from the site holds
(or steps back) alone, and the site goes on from what it decided. A real site process on
PostgreSQL, reps over a real mosquitto, check-ins over HTTP as a machine's dashboard sends them."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from controller.app.accounts import hash_password
from controller.app.clinic import Clinic, SitePlan
from controller.app.progression import Action, Decision
from controller.app.store import SqliteSessionStore
from controller.bridge.signing import sign
from controller.bridge.site_checkin import (
    NO_PLAN_HEADER,
    SiteAccess,
    SiteAway,
    answer_from,
    ask_site,
    check_in,
)
from controller.config.protocol import load_protocol
from controller.config.site_link import SiteLinkConfig
from tests.live_dashboard import dashboard_of, free_port
from tests.mqtt_harness import KEY, MACHINE_ID, broker, fleet_of_one
from tests.postgres_harness import Postgres
from tests.site_harness import (
    SITE_BROKER,
    Message,
    SiteWorker,
    count,
    fresh_database,
    key_dir,
    measured,
    on_machine,
    publish,
    rep,
    site_file,
    wait_until,
)

TOKEN = "site-token-for-tests"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
PROTOCOL = load_protocol("nordic-hamstring")  # stage 1: 2 x 5 lowered in 4 s; 10 kg, +2.5 kg
MACHINE_B, KEY_B = "clinic-b", b"fedcba9876543210fedcba9876543210"


@dataclass(frozen=True, slots=True)
class Timeline:
    """A test's check-ins and reps, seconds after its start: 5 minutes ago, so every check-in is
    within the site's 10 minutes of its clock (taken when the test starts, not when the suite
    collects it: a suite on a loaded machine reaches this file half an hour later)."""

    start: float

    def moment(self, offset_s: float) -> str:
        return datetime.fromtimestamp(self.start + offset_s, UTC).isoformat(timespec="seconds")


@pytest.fixture
def timeline() -> Timeline:
    return Timeline(time.time() - 300)


def machine(site: SiteWorker, machine_id: str, key: bytes) -> SiteAccess:
    """A machine's way to the site, patient with it: these tests are not about a site's speed."""
    return SiteAccess(SiteLinkConfig(url=site.url), machine_id, key, answer_within_s=30.0)


def session(
    timeline: Timeline, machine_id: str, block: str, start_offset_s: float, eccentric_s: float = 4.0
) -> list[Message]:
    """Stage 1's 2 x 5 reps, as the machine's bridge publishes them, done from `start_offset_s` on."""
    stage = PROTOCOL.stages[0]
    messages: list[Message] = []
    for set_index in range(1, stage.sets + 1):
        for index in range(1, stage.reps + 1):
            body = rep(machine_id, block, set_index, index, person="pat")
            ts = timeline.start + start_offset_s + len(messages)
            messages.append((f"eccentrix/{machine_id}/rep", body | {"ts": ts, "eccentric_s": eccentric_s}))
    return messages


def on_tempo_session_in(store: Path) -> None:
    """Stage 2's 3 x 6 reps, every one done and lowered on tempo, filed as a session of machine B."""
    stage = PROTOCOL.stages[1]
    reps = [replace(measured(i), eccentric_s=4.0) for i in range(1, stage.sets * stage.reps + 1)]
    opened = SqliteSessionStore(store)
    try:
        number = opened.start_session(opened.person_named("pat"), MACHINE_B)
        opened.add_set(number, "nordic-hamstring-2", 12.5, reps)
    finally:
        opened.close()


def decided(store: Path, machine_access: SiteAccess | None, soreness: int, at: str) -> Decision:
    opened = SqliteSessionStore(store)
    try:
        return check_in(Clinic(opened), machine_access, "pat", soreness, at).decision
    finally:
        opened.close()


def sources(store: Path) -> list[str]:
    opened = SqliteSessionStore(store)
    try:
        rows = opened.connection.execute("SELECT source FROM decisions ORDER BY id").fetchall()
        return [row[0] for row in rows]
    finally:
        opened.close()


def assign(site: SiteWorker, protocol: str, headers: dict[str, str] = BEARER) -> httpx.Response:
    url = f"{site.url}/api/people/pat/plan"
    return httpx.put(url, json={"protocol": protocol}, headers=headers, timeout=20)


def site_keys(folder: Path) -> Path:
    keys = key_dir(folder)
    (keys / f"{MACHINE_B}.key").write_bytes(KEY_B)
    return keys


def test_a_plan_at_the_site_moves_on_by_sessions_on_any_machine_and_a_machine_without_it_holds(
    tmp_path: Path, cluster: Postgres, timeline: Timeline
) -> None:
    (tmp_path / "token").write_text(TOKEN)
    store_a, store_b = tmp_path / "a.sqlite", tmp_path / "b.sqlite"
    with broker(tmp_path, SITE_BROKER) as mosquitto:
        database = fresh_database(cluster)
        file = site_file(
            tmp_path,
            database,
            mosquitto.url,
            token_file=tmp_path / "token",
            key_dir=site_keys(tmp_path),
        )
        with SiteWorker(file, port=free_port()) as site:
            assert assign(site, PROTOCOL.name, headers={}).status_code == 401
            unknown = assign(site, "no-such")
            assert unknown.status_code == 422 and "protocol: 'no-such'" in unknown.text
            assigned = assign(site, PROTOCOL.name)
            assert assigned.status_code == 200, assigned.text
            a, b = machine(site, MACHINE_ID, KEY), machine(site, MACHINE_B, KEY_B)

            first = decided(store_a, a, 2, timeline.moment(0))
            assert (first.action, first.load_kg, first.session_number) == (Action.START, 10.0, 1)
            publish(mosquitto.port, session(timeline, MACHINE_ID, "a-1", 10))  # done on machine A
            wait_until(lambda: count(database, "reps") == 10, "machine A's session at the site")

            # machine B has never seen pat: the site's plan and A's session decide (session 2 is the
            # protocol's second stage)
            second = decided(store_b, b, 2, timeline.moment(60))
            assert (second.action, second.load_kg, second.session_number, second.stage) == (
                Action.ADVANCE,
                12.5,
                2,
                1,
            )
            assert "all 10 reps done on tempo" in second.reason

            site.stop()
            on_tempo_session_in(store_b)  # done on B, which alone would advance on it
            alone = decided(store_b, b, 2, timeline.moment(120))
            assert (alone.action, alone.load_kg) == (Action.HOLD, 12.5)
            assert "decided without the site" in alone.reason
            sore = decided(store_b, b, 7, timeline.moment(130))
            assert (sore.action, sore.load_kg) == (Action.STEP_BACK, 10.5)  # lowering stands alone
            assert sources(store_b) == ["site", "offline", "offline"]

            site.start()
            back = decided(store_b, b, 2, timeline.moment(180))
            # the site goes on from the step back B took alone: not from 12.5, nor up from it
            assert (back.action, back.load_kg) == (Action.HOLD, 10.5), back.reason
            plan = site.get("/api/people/pat/plan")
            made = [(d["machine"], d["source"], d["action"], d["load_kg"]) for d in plan["decisions"]]
            assert made == [
                (MACHINE_ID, "site", "start", 10.0),
                (MACHINE_B, "site", "advance", 12.5),
                (MACHINE_B, "offline", "hold", 12.5),
                (MACHINE_B, "offline", "step_back", 10.5),
                (MACHINE_B, "site", "hold", 10.5),
            ]
            again = ask_site(b, "pat", 2, timeline.moment(180), plan["id"], [])  # a retry: the same answer
            assert again is not None and again.decision.decision() == back
            assert len(site.get("/api/people/pat/plan")["decisions"]) == 5


def test_a_patient_checks_in_on_a_machines_dashboard_and_gets_the_sites_plan(
    tmp_path: Path, cluster: Postgres
) -> None:
    (tmp_path / "token").write_text(TOKEN)
    opened = SqliteSessionStore(tmp_path / "sessions.sqlite")
    opened.add_account("pat", "patient", hash_password("pat-password"))
    opened.close()
    with broker(tmp_path, SITE_BROKER) as mosquitto:
        database = fresh_database(cluster)
        file = site_file(
            tmp_path, database, mosquitto.url, token_file=tmp_path / "token", key_dir=key_dir(tmp_path)
        )
        with (
            SiteWorker(file) as site,
            dashboard_of(tmp_path, machine(site, MACHINE_ID, KEY)) as dashboard,
            httpx.Client(base_url=dashboard.url, timeout=20) as patient,
        ):
            assert patient.post("/api/login", json={"name": "pat", "password": "pat-password"}).is_success
            assert patient.post("/api/today/checkin", json={"soreness": 2}).status_code == 409  # no plan
            assert assign(site, PROTOCOL.name).is_success
            today = patient.post("/api/today/checkin", json={"soreness": 2})
            assert today.status_code == 200, today.text
            body = today.json()
            assert body["action"] == "start" and body["profile"]["load_kg"] == PROTOCOL.start_load_kg
            assert body["profile"]["name"] == "nordic-hamstring-1"
        assert count(database, "decisions") == 1


def raw_check_in(
    site: SiteWorker, machine_id: str, claim: dict[str, Any], key: bytes = KEY
) -> httpx.Response:
    body = json.dumps(sign(claim, key))
    return httpx.post(f"{site.url}/api/machines/{machine_id}/checkins", content=body, timeout=20)


def test_the_site_decides_only_a_check_in_its_machine_signed_for_today(
    tmp_path: Path, cluster: Postgres, timeline: Timeline
) -> None:
    (tmp_path / "token").write_text(TOKEN)
    with broker(tmp_path, SITE_BROKER) as mosquitto:
        database = fresh_database(cluster)
        file = site_file(
            tmp_path, database, mosquitto.url, token_file=tmp_path / "token", key_dir=key_dir(tmp_path)
        )
        with SiteWorker(file) as site:
            assert assign(site, PROTOCOL.name).is_success
            now = datetime.now(UTC).isoformat(timespec="seconds")
            claim = {
                "machine": MACHINE_ID,
                "person": "pat",
                "soreness": 2,
                "at": now,
                "site_plan": None,
                "offline": [],
            }
            refused = {
                "no key here": (raw_check_in(site, "gym-9", claim | {"machine": "gym-9"}), 403, "no key"),
                "another key": (raw_check_in(site, MACHINE_ID, claim, key=KEY_B), 401, "not signed"),
                "another machine": (
                    raw_check_in(site, MACHINE_ID, claim | {"machine": "gym-2"}),
                    401,
                    "machine",
                ),
                "an hour old": (
                    raw_check_in(site, MACHINE_ID, claim | {"at": timeline.moment(-3300)}),
                    422,
                    "at:",
                ),
                "no offset": (
                    raw_check_in(site, MACHINE_ID, claim | {"at": "2026-12-03T10:00:00"}),
                    422,
                    "at",
                ),
                "too sore": (raw_check_in(site, MACHINE_ID, claim | {"soreness": 11}), 422, "soreness"),
                "too large": (raw_check_in(site, MACHINE_ID, claim | {"pad": "x" * 70_000}), 413, "up to"),
            }
            for what, (response, code, named) in refused.items():
                assert (response.status_code, named in response.text) == (code, True), (what, response.text)
            unplanned = raw_check_in(site, MACHINE_ID, claim | {"person": "kim"})
            assert unplanned.status_code == 404 and unplanned.headers.get(NO_PLAN_HEADER)
            assert raw_check_in(site, MACHINE_ID, claim).status_code == 200
        assert count(database, "decisions") == 1


ANSWER: dict[str, Any] = {
    "v": 1,
    "machine": MACHINE_ID,
    "person": "pat",
    "at": "2026-12-03T10:00:00+00:00",
    "plan": {
        "id": 7,
        "protocol": PROTOCOL.name,
        "assigned_by": "dr-lee",
        "started": "2026-12-01T09:00:00+00:00",
    },
    "decision": {
        "session_number": 1,
        "stage": 0,
        "action": "start",
        "load_kg": 10.0,
        "soreness": 2,
        "reason": "x",
    },
}


@pytest.mark.parametrize(
    ("what", "answer", "key"),
    [
        ("another key", ANSWER, KEY_B),
        ("another machine", ANSWER | {"machine": MACHINE_B}, KEY),
        ("another person", ANSWER | {"person": "kim"}, KEY),
        ("another check-in", ANSWER | {"at": "2026-12-03T10:00:01+00:00"}, KEY),
        ("a load out of range", ANSWER | {"decision": ANSWER["decision"] | {"load_kg": 500.0}}, KEY),
    ],
)
def test_a_machine_takes_no_answer_it_cannot_trust(what: str, answer: dict[str, Any], key: bytes) -> None:
    access = SiteAccess(SiteLinkConfig(url="http://127.0.0.1:9"), MACHINE_ID, KEY)
    with pytest.raises(SiteAway):
        answer_from(json.dumps(sign(answer, key)).encode(), access, "pat", ANSWER["at"])


def test_a_signed_decision_its_protocol_could_not_make_is_refused(tmp_path: Path) -> None:
    store = SqliteSessionStore(tmp_path / "machine.sqlite")
    clinic = Clinic(store)
    plan = SitePlan(7, PROTOCOL.name, "dr-lee", "2026-12-01T09:00:00+00:00")
    over = Decision(1, 0, Action.START, PROTOCOL.max_load_kg + 0.5, 2, "x")
    with pytest.raises(ValueError, match="load_kg"):
        clinic.take_site_decision("pat", plan, over, "2026-12-03T10:00:00+00:00")
    with pytest.raises(ValueError, match="stage 9"):
        clinic.take_site_decision(
            "pat", plan, Decision(1, 9, Action.START, 10.0, 2, "x"), "2026-12-03T10:00:00+00:00"
        )
    assert clinic.plan_for("pat") is None  # nothing taken
    store.close()


def test_a_machine_that_never_saw_the_patient_decides_from_the_sites_copy_while_the_site_is_away(
    tmp_path: Path, cluster: Postgres, timeline: Timeline
) -> None:
    """The site sends every machine each plan where it stands; the machine's bridge keeps the copy,
    so a check-in there with the site away holds or steps back from the plan's last decision."""
    (tmp_path / "token").write_text(TOKEN)
    store_b = tmp_path / "b.sqlite"
    with fleet_of_one(tmp_path, settings=SITE_BROKER) as fleet:
        database = fresh_database(cluster)
        file = site_file(
            tmp_path, database, fleet.broker.url, token_file=tmp_path / "token", key_dir=site_keys(tmp_path)
        )
        with SiteWorker(file) as site:
            assert assign(site, PROTOCOL.name).is_success
            b = machine(site, MACHINE_B, KEY_B)
            assert decided(store_b, b, 2, timeline.moment(0)).action is Action.START
            publish(fleet.broker.port, session(timeline, MACHINE_B, "b-1", 10))
            wait_until(lambda: count(database, "reps") == 10, "machine B's session at the site")
            assert decided(store_b, b, 2, timeline.moment(60)).load_kg == 12.5

            def copy_kept() -> bool:
                plan = on_machine(fleet.folder / "sessions.sqlite", lambda c: c.plan_for("pat"))
                return (
                    plan is not None and len(on_machine(fleet.folder / "sessions.sqlite", decisions_of)) == 2
                )

            wait_until(copy_kept, "the plan where it stands on gym-1")
            gym = machine(site, MACHINE_ID, KEY)
        alone = decided(fleet.folder / "sessions.sqlite", gym, 2, timeline.moment(120))  # the site is gone
        assert (alone.action, alone.load_kg, alone.stage) == (Action.HOLD, 12.5, 1)
        sore = decided(fleet.folder / "sessions.sqlite", gym, 7, timeline.moment(130))
        assert (sore.action, sore.load_kg) == (Action.STEP_BACK, 10.5)


def decisions_of(clinic: Clinic) -> list[Decision]:
    plan = clinic.plan_for("pat")
    return [] if plan is None else [record.decision for record in clinic.decisions(plan)]


def test_a_copy_of_a_plan_never_goes_back(tmp_path: Path) -> None:
    """An older copy, or one of a plan since replaced, changes nothing; a decision already kept is
    not kept twice."""
    store = SqliteSessionStore(tmp_path / "machine.sqlite")
    clinic = Clinic(store)
    first = SitePlan(7, PROTOCOL.name, "dr-lee", "2026-12-01T09:00:00+00:00")
    second = SitePlan(8, "alfredson-heel-drop", "dr-lee", "2026-12-02T09:00:00+00:00")
    start = (Decision(1, 0, Action.START, 10.0, 2, "first session"), "2026-12-01T10:00:00+00:00")
    assert clinic.take_site_plan("pat", first, start, revision=3)
    assert clinic.take_site_plan("pat", first, start, revision=4)  # newer, the same decision
    assert len(decisions_of(clinic)) == 1
    assert clinic.take_site_plan("pat", second, None, revision=9)
    assert not clinic.take_site_plan("pat", first, start, revision=5)  # the replaced plan, replayed
    plan = clinic.plan_for("pat")
    assert plan is not None and plan.protocol.name == "alfredson-heel-drop"
    assert decisions_of(clinic) == []
    store.close()
