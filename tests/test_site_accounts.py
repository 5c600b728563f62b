"""Accounts managed once, at the site: added, changed and removed there, and a login on any
machine's dashboard follows. A real control service, its bridge and its dashboard; a site worker on
PostgreSQL; mosquitto between them."""

from __future__ import annotations

from pathlib import Path

import httpx

from controller.app.accounts import hash_password
from controller.app.store import SqliteSessionStore
from controller.bridge.site_copies import SiteCopies
from tests.live_dashboard import dashboard_of
from tests.mqtt_harness import KEY, MACHINE_ID, fleet_of_one
from tests.postgres_harness import Postgres
from tests.site_harness import (
    SITE_BROKER,
    SiteWorker,
    account_copy,
    fresh_database,
    key_dir,
    site_file,
    wait_until,
)

TOKEN = "site-token-for-tests"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


def account_on_machine(store: Path, name: str) -> tuple[str, str] | None:
    opened = SqliteSessionStore(store)
    try:
        return opened.account(name)
    finally:
        opened.close()


def put_account(
    site: SiteWorker, name: str, role: str, password: str, headers: dict[str, str] = BEARER
) -> httpx.Response:
    return httpx.put(
        f"{site.url}/api/accounts/{name}",
        json={"role": role, "password": password},
        headers=headers,
        timeout=20,
    )


def logs_in(dashboard: str, name: str, password: str) -> int:
    response = httpx.post(f"{dashboard}/api/login", json={"name": name, "password": password}, timeout=20)
    return response.status_code


def test_an_account_made_changed_and_removed_at_the_site_logs_in_on_a_machine_accordingly(
    tmp_path: Path, cluster: Postgres
) -> None:
    keys = key_dir(tmp_path)
    (tmp_path / "token").write_text(TOKEN)
    store = tmp_path / "sessions.sqlite"
    with fleet_of_one(tmp_path, settings=SITE_BROKER) as fleet, dashboard_of(tmp_path) as dashboard:
        file = site_file(
            tmp_path, fresh_database(cluster), fleet.broker.url, token_file=tmp_path / "token", key_dir=keys
        )
        with SiteWorker(file) as site:
            accounts = f"{site.url}/api/accounts"
            assert put_account(site, "dr-lee", "clinician", "first-pass", headers={}).status_code == 401
            made = put_account(site, "dr-lee", "clinician", "first-pass")
            assert made.status_code == 200 and made.json()["password"] is None  # never told back
            wait_until(lambda: account_on_machine(store, "dr-lee") is not None, "the account on the machine")
            assert account_on_machine(store, "dr-lee")[0] == "clinician"  # type: ignore[index]
            with httpx.Client(base_url=dashboard.url, timeout=20) as open_login:
                assert open_login.post(
                    "/api/login", json={"name": "dr-lee", "password": "first-pass"}
                ).is_success
                changed = put_account(site, "dr-lee", "clinician", "second-pass")
                assert changed.json()["revision"] > made.json()["revision"]
                wait_until(lambda: logs_in(dashboard.url, "dr-lee", "second-pass") == 200, "the new password")
                assert logs_in(dashboard.url, "dr-lee", "first-pass") == 401
                # a login opened with the old password ends too (checked every few seconds)
                wait_until(lambda: open_login.get("/api/me").status_code == 401, "the old login ended")
            assert httpx.delete(f"{accounts}/dr-lee", headers=BEARER).json()["removed"] is True
            wait_until(
                lambda: account_on_machine(store, "dr-lee") is None, "the account gone from the machine"
            )
            assert logs_in(dashboard.url, "dr-lee", "second-pass") == 401
            listed = httpx.get(accounts, headers=BEARER).json()
    assert [(a["name"], a["removed"], a["password"]) for a in listed] == [("dr-lee", True, None)]
    # the demo's own accounts, made on the machine, are untouched
    assert account_on_machine(store, "admin") is not None


def test_a_site_refuses_an_account_it_cannot_send(tmp_path: Path, cluster: Postgres) -> None:
    (tmp_path / "token").write_text(TOKEN)
    with fleet_of_one(tmp_path, settings=SITE_BROKER) as fleet:
        file = site_file(tmp_path, fresh_database(cluster), fleet.broker.url, token_file=tmp_path / "token")
        with SiteWorker(file) as site:
            accounts = f"{site.url}/api/accounts"
            short = httpx.put(f"{accounts}/bo", json={"role": "athlete", "password": "short"}, headers=BEARER)
            role = httpx.put(
                f"{accounts}/bo", json={"role": "root", "password": "long-enough"}, headers=BEARER
            )
            name = httpx.put(
                f"{accounts}/a+b", json={"role": "athlete", "password": "long-enough"}, headers=BEARER
            )
            gone = httpx.delete(f"{accounts}/nobody", headers=BEARER)
            listed = httpx.get(accounts, headers=BEARER).json()
    assert short.status_code == 422 and "password" in short.text
    assert role.status_code == 422 and "role" in role.text
    assert name.status_code == 422 and gone.status_code == 404
    assert listed == []


HASH = hash_password("first-pass")


def test_an_account_removed_at_the_site_is_not_brought_back_by_an_older_copy(tmp_path: Path) -> None:
    store = tmp_path / "sessions.sqlite"
    SqliteSessionStore(store).close()  # the schema
    copies = SiteCopies("eccentrix", MACHINE_ID, KEY, store)
    topic = f"eccentrix/{MACHINE_ID}/accounts/dr-lee"
    copies._keep(copies.verified(topic, account_copy(4, HASH)))
    assert account_on_machine(store, "dr-lee") == ("clinician", HASH)
    copies._keep(copies.verified(topic, account_copy(5, None)))
    assert account_on_machine(store, "dr-lee") is None
    copies._keep(copies.verified(topic, account_copy(4, HASH)))  # replayed
    assert account_on_machine(store, "dr-lee") is None
