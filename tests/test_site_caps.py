"""Caps follow the person: set at the site, a machine that has never seen the person enforces them;
with the site gone it still does, and says so; a cap lowered at the site reaches it before the next
set. A real control service with its bridge, a site worker, PostgreSQL and mosquitto."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from controller.app.accounts import hash_password
from controller.bridge.signing import sign
from controller.bridge.site_copies import SiteCopies
from controller.config import CapsConfig
from tests.mqtt_harness import KEY, MACHINE_ID, Subscriber, fleet_of_one
from tests.postgres_harness import Postgres
from tests.site_harness import (
    SITE_BROKER,
    SiteWorker,
    account_copy,
    caps_copy,
    fresh_database,
    key_dir,
    on_machine,
    site_file,
    wait_until,
)

TOKEN = "site-token-for-tests"


def set_caps(site: SiteWorker, person: str, caps: dict[str, Any], token: str = TOKEN) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"}
    return httpx.put(f"{site.url}/api/people/{person}/caps", json=caps, headers=headers, timeout=10)


def start(machine: Subscriber, person: str, load: float, reps: int = 0) -> dict[str, Any]:
    """A set started over MQTT and stopped after `reps` (filed only with one at least): the answer
    is what is checked."""

    def filed() -> int:
        return sum(1 for m in machine.on("set") if m.get("type") == "block_done")

    sets, done = filed(), len(machine.on("rep"))
    answer = machine.command("start", set={"profile": "constant", "load": load, "person": person, "reps": 2})
    if answer["ok"]:
        machine.wait_for("rep", done + reps, timeout_s=120)
        assert machine.command("stop")["ok"]
        wait_until(lambda: filed() > sets, "the set filed: the machine free again")
    return answer


def test_caps_set_at_the_site_are_enforced_on_a_machine_with_and_without_the_site(
    tmp_path: Path, cluster: Postgres
) -> None:
    keys = key_dir(tmp_path)
    (tmp_path / "token").write_text(TOKEN)
    store = tmp_path / "sessions.sqlite"
    database = fresh_database(cluster)
    with fleet_of_one(tmp_path, settings=SITE_BROKER) as fleet:
        machine = fleet.subscriber
        file = site_file(tmp_path, database, fleet.broker.url, token_file=tmp_path / "token", key_dir=keys)
        with SiteWorker(file) as site:
            assert set_caps(site, "pat", {"max_concentric_force_n": 100}, token="wrong").status_code == 401
            first = set_caps(site, "pat", {"max_concentric_force_n": 100}).json()
            wait_until(
                lambda: on_machine(store, lambda c: c.caps_for("pat")) is not None, "the caps on the machine"
            )
            wait_until(lambda: on_machine(store, lambda c: c.site_online()) is True, "the site seen online")
            refused = start(machine, "pat", 20.0)  # 196 N
            assert not refused["ok"] and "max_concentric_force_n" in refused["error"], refused
            allowed = start(machine, "pat", 8.0)  # 78 N
            assert allowed["ok"] and allowed.get("warning", "") == "", allowed
            assert site.stop() == 0  # SIGTERM: the site says it is offline
        wait_until(lambda: on_machine(store, lambda c: c.site_online()) is False, "the site seen offline")
        cut_off = start(machine, "pat", 8.0, reps=1)
        assert cut_off["ok"] and "the site is unreachable" in cut_off["warning"], cut_off
        assert f"revision {first['revision']}" in cut_off["warning"]
        assert not start(machine, "pat", 20.0)["ok"]  # the last copy still holds
        stranger = start(machine, "stranger", 8.0)
        assert stranger["ok"] and "unknown to this machine and its site" in stranger["warning"], stranger
        with SiteWorker(file) as site:
            lower = set_caps(site, "pat", {"max_concentric_force_n": 50}).json()
            assert lower["revision"] > first["revision"]
            wait_until(
                lambda: (
                    on_machine(store, lambda c: c.caps_for("pat")) == CapsConfig(max_concentric_force_n=50)
                ),
                "the lowered cap on the machine",
            )
            lowered = start(machine, "pat", 8.0)
    assert not lowered["ok"] and "max_concentric_force_n" in lowered["error"], lowered
    notes = on_machine(store, lambda c: [c.store.session(i).notes for i in c.store.sessions()])
    assert any("the site is unreachable" in " ".join(n) for n in notes), notes


HASH = hash_password("first-pass")
STRANGER = b"another key, another machine...."


@pytest.mark.parametrize(
    ("topic", "payload", "why"),
    [
        (
            "caps/pat",
            caps_copy(3, key=STRANGER),
            "not signed with this machine's key",
        ),
        ("caps/pat", caps_copy(3, machine="gym-2"), "signed for another machine"),
        ("caps/bo", caps_copy(3), "person: 'pat' is not whom its topic names"),
        ("caps/pat", b'{"v": 1, "machine": "gym-1", "caps": NaN}', "NaN"),
        (
            "accounts/dr-lee",
            account_copy(3, HASH, key=STRANGER),
            "not signed with",
        ),
        ("accounts/dr-lee", account_copy(3, HASH, machine="gym-2"), "signed for another machine"),
        ("accounts/bo", account_copy(3, HASH), "name: 'dr-lee' is not whom its topic names"),
        ("accounts/dr-lee", account_copy(3, "plain-text-password"), "password"),
        ("protocols/pat", caps_copy(3), "no copy of anything from a site is kept from this topic"),
    ],
)
def test_a_copy_from_the_site_that_is_not_this_machines_is_refused(
    topic: str, payload: bytes, why: str
) -> None:
    copies = SiteCopies("eccentrix", MACHINE_ID, KEY, Path("unused.sqlite"))
    with pytest.raises(ValueError, match=why):
        copies.verified(f"eccentrix/{MACHINE_ID}/{topic}", payload)


def test_a_copy_older_than_the_one_kept_changes_nothing(tmp_path: Path) -> None:
    store = tmp_path / "sessions.sqlite"
    copies = SiteCopies("eccentrix", MACHINE_ID, KEY, store)
    on_machine(store, lambda c: None)  # the schema
    topic = f"eccentrix/{MACHINE_ID}/caps/pat"
    copies._keep(copies.verified(topic, caps_copy(5)))
    older = json.loads(caps_copy(4))
    older["caps"] = {"max_concentric_force_n": 300.0}
    resigned = sign({k: v for k, v in older.items() if k != "sig"}, KEY)
    copies._keep(copies.verified(topic, json.dumps(resigned).encode()))
    assert on_machine(store, lambda c: c.caps_for("pat")) == CapsConfig(max_concentric_force_n=80.0)
