"""The site server against a real PostgreSQL and a real mosquitto: every rep stored once, whatever
comes twice, whatever was published while the site was down, whichever worker took it."""

from __future__ import annotations

import json
import signal
import uuid
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from controller.cli import main
from controller.config import ConfigError
from controller.config.site import load_site
from controller.site.messages import Refused, parse
from tests.live_dashboard import free_port
from tests.mqtt_harness import MACHINE_ID, broker, fleet_of_one
from tests.postgres_harness import Postgres
from tests.site_harness import (
    SITE_BROKER,
    Message,
    SiteWorker,
    a_site,
    block_done,
    count,
    fresh_database,
    kept_on_disk,
    publish,
    rep,
    site_file,
    wait_until,
)


def reps_of(machine: str, block: str, sets: int, per_set: int) -> list[Message]:
    return [
        (f"eccentrix/{machine}/rep", rep(machine, block, s, i))
        for s in range(1, sets + 1)
        for i in range(1, per_set + 1)
    ]


def test_what_is_published_while_the_site_is_down_is_stored_when_it_is_back_and_duplicates_never_count(
    tmp_path: Path, cluster: Postgres
) -> None:
    with a_site(tmp_path, cluster) as running:
        database, mosquitto, site = running.database, running.broker, running.worker
        before = reps_of("gym-1", uuid.uuid4().hex, 2, 10)
        publish(mosquitto.port, before)
        wait_until(lambda: count(database, "reps") == 20, "the first 20 reps stored")
        site.stop(signal.SIGKILL)  # no goodbye: the broker keeps the session's share
        while_down = reps_of("gym-1", uuid.uuid4().hex, 3, 50) + reps_of("gym-2", uuid.uuid4().hex, 1, 30)
        publish(mosquitto.port, while_down)
        site.start()
        wait_until(lambda: count(database, "reps") == 200, "the 180 reps published while down stored")
        publish(mosquitto.port, before + while_down[:40])  # a bridge's retry, a redelivery
        wait_until(lambda: site.health()["duplicates"] >= 60, "the 60 duplicates seen")
        assert count(database, "reps") == 200
        assert len(site.get("/api/people/ada/reps")) == 200


def test_a_broker_restart_loses_nothing_queued_for_the_site_nor_published_before_it_is_back(
    tmp_path: Path, cluster: Postgres
) -> None:
    with kept_on_disk() as settings, a_site(tmp_path, cluster, settings) as running:
        database, mosquitto, site = running.database, running.broker, running.worker
        site.stop(signal.SIGKILL)  # away: the broker queues for its session
        publish(mosquitto.port, reps_of("gym-1", uuid.uuid4().hex, 2, 20))
        mosquitto.stop()
        mosquitto.start()
        publish(mosquitto.port, reps_of("gym-2", uuid.uuid4().hex, 1, 10))  # the site still away
        site.start()
        wait_until(lambda: count(database, "reps") == 50, "the 50 reps stored")


def test_a_machines_set_reaches_the_site_through_its_bridge_with_its_block_and_person(
    tmp_path: Path, cluster: Postgres
) -> None:
    database = fresh_database(cluster)
    start = {"profile": "constant", "reps": 3, "person": "ada"}
    with (
        fleet_of_one(tmp_path, settings=SITE_BROKER) as fleet,
        SiteWorker(site_file(tmp_path, database, fleet.broker.url)) as site,
    ):
        answer = fleet.subscriber.command("start", set=start)
        assert answer["ok"], answer
        (done,) = fleet.subscriber.filed()  # after a warning: ada is unknown to the machine and the site
        wait_until(lambda: len(site.get("/api/people/ada/blocks")) == 1, "the block at the site")
        reps = site.get("/api/people/ada/reps")
        machines = site.get("/api/machines")
    published = fleet.subscriber.on("rep")
    assert [(r["set_index"], r["rep_index"]) for r in reps] == [(1, 1), (1, 2), (1, 3)]
    assert {r["block"] for r in reps} == {done["block"]} == {p["block"] for p in published}
    assert [r["metrics"]["mean_concentric_power_w"] for r in reps] == [
        p["mean_concentric_power_w"] for p in published
    ]
    assert [m["machine"] for m in machines] == [MACHINE_ID]
    assert machines[0]["online"] is True


def test_reps_published_while_the_database_is_down_are_stored_once_it_is_back(
    tmp_path: Path, cluster: Postgres
) -> None:
    with a_site(tmp_path, cluster) as running:
        database, mosquitto, site = running.database, running.broker, running.worker
        publish(mosquitto.port, reps_of("gym-1", uuid.uuid4().hex, 1, 10))
        wait_until(lambda: count(database, "reps") == 10, "the first 10 reps stored")
        cluster.stop()
        try:
            publish(mosquitto.port, reps_of("gym-1", uuid.uuid4().hex, 2, 20))
            wait_until(lambda: site.health()["reconnects"] > 0, "the worker noticed the database gone")
        finally:
            cluster.start()
        wait_until(lambda: count(database, "reps") == 50, "the 40 reps from while it was down stored")


def test_a_patients_progress_spans_every_machine_they_used_and_only_their_exercise(
    tmp_path: Path, cluster: Postgres
) -> None:
    first, second, other = (uuid.uuid4().hex for _ in range(3))
    messages: list[Message] = [
        *[("eccentrix/gym-a/rep", rep("gym-a", first, 1, i, velocity_mps=0.6)) for i in (1, 2, 3)],
        block_done("gym-a", first, 3, 40.0, "squat"),
        *[("eccentrix/gym-b/rep", rep("gym-b", second, 1, i, velocity_mps=0.5)) for i in (1, 2, 3)],
        *[("eccentrix/gym-b/rep", rep("gym-b", second, 2, i, velocity_mps=0.45)) for i in (1, 2)],
        block_done("gym-b", second, 5, 50.0, "squat"),
        *[("eccentrix/gym-a/rep", rep("gym-a", other, 1, i, velocity_mps=0.9)) for i in (1, 2)],
        block_done("gym-a", other, 2, 20.0, "row"),
    ]
    with a_site(tmp_path, cluster) as running:
        database, mosquitto, site = running.database, running.broker, running.worker
        publish(mosquitto.port, messages)
        wait_until(lambda: count(database, "blocks") == 3, "3 blocks stored")
        report = site.get("/api/people/ada/progress?exercise=squat")
        people = site.get("/api/people")
    assert report["machines"] == ["gym-a", "gym-b"]
    points = report["sessions"]
    assert [(p["top_load_kg"], p["reps"], p["best_velocity_mps"]) for p in points] == [
        (40.0, 3, 0.6),
        (50.0, 5, 0.5),
    ]
    assert [(p["name"], p["machines"], p["reps"]) for p in people] == [("ada", ["gym-a", "gym-b"], 10)]
    heaviest = next(r for r in report["records"] if r["what"] == "heaviest load")
    assert (heaviest["value"], heaviest["session"]) == (50.0, 2)


def test_two_workers_split_a_shared_subscription_and_neither_stores_a_rep_twice(
    tmp_path: Path, cluster: Postgres
) -> None:
    database = fresh_database(cluster)
    with (
        broker(tmp_path, SITE_BROKER) as mosquitto,
        SiteWorker(site_file(tmp_path, database, mosquitto.url, "site-1", "site")) as first,
        SiteWorker(site_file(tmp_path, database, mosquitto.url, "site-2", "site")) as second,
    ):
        messages = [m for machine in ("a", "b", "c") for m in reps_of(machine, uuid.uuid4().hex, 2, 50)]
        publish(mosquitto.port, messages)
        wait_until(lambda: count(database, "reps") == 300, "300 reps stored")
        took = [first.health()["stored"], second.health()["stored"]]
        assert first.stop() == 0 and second.stop() == 0  # SIGTERM: a clean stop
    assert sum(took) == 300 and min(took) > 0, took


def test_a_malformed_message_is_refused_naming_its_field_and_the_next_good_one_is_stored(
    tmp_path: Path, cluster: Postgres
) -> None:
    good = rep("gym-1", uuid.uuid4().hex, 1, 1)
    hostile: list[Message] = [
        ("eccentrix/gym-1/rep", b"{not json"),
        ("eccentrix/gym-1/rep", good | {"set": 0}),
        ("eccentrix/gym-1/rep", good | {"machine": "gym-2"}),
        (
            "eccentrix/gym-1/rep",
            json.dumps(good).replace('"rom_m": 0.5', '"rom_m": NaN').encode(),
        ),
        ("eccentrix/gym-1/fault", good | {"kind": "x\u0000y"}),
        ("eccentrix/gym-1/rep", good),
    ]
    with a_site(tmp_path, cluster) as running:
        database, mosquitto, site = running.database, running.broker, running.worker
        publish(mosquitto.port, hostile)
        wait_until(lambda: site.health()["stored"] == 1, "the good rep stored")
        health = site.health()
    assert health["refused"] == 5, health
    assert count(database, "reps") == 1 and count(database, "events") == 0


SITE_API = [
    "DELETE /api/accounts/{name}",
    "GET /api/accounts",
    "GET /api/health",
    "GET /api/machines",
    "GET /api/machines/{machine}/recordings/{name}",
    "GET /api/machines/{machine}/recordings/{name}/file",
    "GET /api/me",
    "GET /api/people",
    "GET /api/people/{name}/blocks",
    "GET /api/people/{name}/caps",
    "GET /api/people/{name}/plan",
    "GET /api/people/{name}/progress",
    "GET /api/people/{name}/reps",
    "GET /api/protocols",
    "GET /api/recordings",
    "POST /api/login",
    "POST /api/logout",
    "POST /api/machines/{machine}/checkins",
    "PUT /api/accounts/{name}",
    "PUT /api/machines/{machine}/recordings/{name}",
    "PUT /api/people/{name}/caps",
    "PUT /api/people/{name}/plan",
]


def test_no_request_to_the_site_api_makes_a_server_error(tmp_path: Path, cluster: Postgres) -> None:
    """Every route, a site with all its parts: a token for changes, machines' keys, recordings."""
    keys = tmp_path / "keys"
    keys.mkdir()
    (keys / "gym-1.key").write_bytes(b"a key the fuzzer does not know...")
    (tmp_path / "token").write_text("a token the fuzzer does not know")
    recordings = f'folder = "{tmp_path / "recordings"}"'
    with a_site(
        tmp_path, cluster, token_file=tmp_path / "token", key_dir=keys, recordings=recordings
    ) as running:
        database, mosquitto, site = running.database, running.broker, running.worker
        publish(mosquitto.port, reps_of("gym-1", uuid.uuid4().hex, 1, 3))
        wait_until(lambda: count(database, "reps") == 3, "3 reps stored")
        schema = schemathesis.openapi.from_url(f"{site.url}/openapi.json")
        checked = [op.ok() for op in schema.get_all_operations()]  # type: ignore[union-attr]
        for operation in checked:

            @given(case=operation.as_strategy())
            @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
            def fuzz(case: Any) -> None:
                case.call_and_validate(checks=[not_a_server_error], timeout=60)

            fuzz()
    assert sorted(operation.label for operation in checked) == SITE_API


@pytest.mark.parametrize(
    ("topic", "change", "named"),
    [
        ("eccentrix/m/rep", {"set": 0}, "set"),
        ("eccentrix/m/rep", {"index": "one"}, "index"),
        ("eccentrix/m/rep", {"block": "../etc"}, "block"),
        ("eccentrix/m/rep", {"ts": 12}, "ts"),
        ("eccentrix/m/rep", {"v": 2}, "v"),
        ("eccentrix/m/rep", {"machine": "n"}, "machine"),
        ("eccentrix/m/telemetry", {}, "topic"),
    ],
)
def test_parse_refuses_what_does_not_fit_and_names_the_field(
    topic: str, change: dict[str, Any], named: str
) -> None:
    body = rep("m", "b1", 1, 1) | change
    with pytest.raises(Refused, match=named):
        parse(topic, "eccentrix", json.dumps(body).encode())


def test_a_site_whose_database_cannot_be_reached_says_so_in_one_line_and_exits(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    nowhere = f"postgresql://eccentrix@127.0.0.1:{free_port()}/site"
    file = site_file(tmp_path, nowhere, "mqtt://127.0.0.1:1")
    assert main(["site", "--site", str(file)]) == 2
    said = capfd.readouterr().err.strip().splitlines()
    assert len(said) == 1 and said[0].startswith(f"eccentrix: database.url {nowhere}: "), said


def test_the_example_site_file_loads_and_a_password_in_its_url_is_refused(tmp_path: Path) -> None:
    assert load_site("example").mqtt.share_group is None
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\n[database]\nurl = "postgresql://u:secret@h/db"\n[mqtt]\nurl = "mqtt://h:1"\n')
    with pytest.raises(ConfigError, match=r"database\.url.*password_file"):
        load_site(bad)
    assert main(["site", "--site", str(bad)]) == 2  # said on stderr, and nothing started
    open_to_all = tmp_path / "open.toml"
    minimal = 'name = "x"\n[database]\nurl = "postgresql://u@h/db"\n[mqtt]\nurl = "mqtt://h:1"\n'
    open_to_all.write_text(minimal + '[api]\nhost = "0.0.0.0"\n')
    with pytest.raises(ConfigError, match=r"api: .*logins: the site listens on 0\.0\.0\.0, not loopback"):
        load_site(open_to_all)
