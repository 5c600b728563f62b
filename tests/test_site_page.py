"""The site's page in headless Chromium, against a site worker on a real PostgreSQL and mosquitto:
what the machines said, and one patient's progress on two of them and their plan."""

from __future__ import annotations

import hashlib
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from controller.bridge.site_checkin import SiteAccess, ask_site
from controller.config.site_link import SiteLinkConfig
from tests.browser import ARTIFACTS, chromium_page
from tests.mqtt_harness import KEY, MACHINE_ID
from tests.postgres_harness import Postgres
from tests.site_harness import (
    Message,
    SiteWorker,
    a_site,
    block_done,
    count,
    fault,
    key_dir,
    publish,
    rep,
    send_chunk,
    state,
    wait_until,
)

TOKEN = "site-token-for-tests"


def test_the_site_page_shows_each_machine_and_a_patients_progress_across_machines(
    tmp_path: Path, cluster: Postgres
) -> None:
    first, second = uuid.uuid4().hex, uuid.uuid4().hex
    said: list[Message] = [
        state("gym-a", True, "concentric", 4),
        state("gym-b", False),
        fault("gym-b", "slack", "the cable went slack at rep 3"),
        *[("eccentrix/gym-a/rep", rep("gym-a", first, 1, i, velocity_mps=0.6)) for i in (1, 2, 3)],
        block_done("gym-a", first, 3, 40.0, "squat"),
        *[("eccentrix/gym-b/rep", rep("gym-b", second, 1, i, velocity_mps=0.5)) for i in (1, 2)],
        block_done("gym-b", second, 2, 50.0, "squat"),
    ]
    recording = os.urandom(3000)
    recordings = f'folder = "{tmp_path / "recordings"}"'
    (tmp_path / "token").write_text(TOKEN)
    with a_site(
        tmp_path, cluster, key_dir=key_dir(tmp_path), recordings=recordings, token_file=tmp_path / "token"
    ) as running:
        database, mosquitto, site = running.database, running.broker, running.worker
        publish(mosquitto.port, said)  # before the page: Playwright's own event loop owns the thread then
        wait_until(lambda: count(database, "blocks") == 2, "both blocks stored")
        digest = hashlib.sha256(recording).hexdigest()
        assert send_chunk(site, "ada-squat.ecxr", recording, 0, len(recording), digest).is_success
        plan = httpx.put(
            f"{site.url}/api/people/ada/plan",
            json={"protocol": "nordic-hamstring"},
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=20,
        )
        assert plan.is_success, plan.text
        access = SiteAccess(SiteLinkConfig(url=site.url), MACHINE_ID, KEY, answer_within_s=30.0)
        now = datetime.now(UTC).isoformat(timespec="seconds")
        assert ask_site(access, "ada", 2, now, None, []) is not None
        with chromium_page() as page:
            show_the_site(page, site.url)
            listed = page.locator("#recordings tbody tr")
            expect(listed).to_have_count(1)
            expect(listed.first).to_contain_text(MACHINE_ID)
            href = listed.first.get_by_role("link", name="download").get_attribute("href")
            assert href is not None and page.request.get(site.url + href).body() == recording
            expect(page.locator("#plan-protocol")).to_have_text("nordic-hamstring")
            decided = page.locator("#plan tbody tr")
            expect(decided).to_have_count(1)
            expect(decided.first).to_contain_text("first session: the protocol's start load")
            expect(decided.first.locator("td").nth(5)).to_have_text("10.0")
            expect(decided.first.locator("td").nth(8)).to_have_text("by the site")


def show_the_site(page: Page, url: str) -> None:
    page.goto(url)
    machines = page.locator("#machines tbody tr")
    expect(machines).to_have_count(2)
    expect(machines.nth(0)).to_contain_text("online")
    expect(machines.nth(0)).to_contain_text("concentric")
    expect(machines.nth(1)).to_contain_text("offline")
    expect(machines.nth(1).locator(".fault")).to_have_text("slack: the cable went slack at rep 3")
    page.get_by_role("button", name="ada").click()
    expect(page.locator("#progress-machines")).to_have_text("gym-a, gym-b")
    sessions = page.locator("#progress tbody tr")
    expect(sessions).to_have_count(2)
    expect(sessions.nth(0).locator("td").nth(2)).to_have_text("40.0")
    expect(sessions.nth(1).locator("td").nth(2)).to_have_text("50.0")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "site-page.png"), full_page=True)


def test_a_site_that_asks_for_logins_shows_its_page_to_a_clinician_only(
    tmp_path: Path, cluster: Postgres
) -> None:
    (tmp_path / "token").write_text(TOKEN)
    with a_site(tmp_path, cluster, token_file=tmp_path / "token", logins=True) as running:
        site = running.worker
        with_accounts(site, ("dr-lee", "clinician"), ("pat", "patient"))
        assert httpx.get(f"{site.url}/api/machines").status_code == 401
        publish(running.broker.port, [state("gym-a", True)])
        wait_until(lambda: count(running.database, "machines") == 1, "the machine stored")
        with chromium_page() as page:
            page.goto(site.url)
            expect(page.locator("#login")).to_be_visible()
            expect(page.locator("#machines")).to_be_hidden()
            log_in(page, "dr-lee", "not-the-password")
            expect(page.locator("#login-error")).to_contain_text("wrong name or password")
            log_in(page, "pat", "pat-password")  # a patient's account: not for the site's page
            expect(page.locator("#login-error")).to_contain_text("wrong name or password")
            log_in(page, "dr-lee", "dr-lee-password")
            expect(page.locator("#machines tbody tr")).to_have_count(1)
            expect(page.locator("#who")).to_have_text("dr-lee (clinician)")
            page.get_by_role("button", name="log out").click()
            expect(page.locator("#login")).to_be_visible()
            expect(page.locator("#machines")).to_be_hidden()


def with_accounts(site: SiteWorker, *accounts: tuple[str, str]) -> None:
    """(name, role) accounts made with the site's token, each with the password NAME-password."""
    for name, role in accounts:
        made = httpx.put(
            f"{site.url}/api/accounts/{name}",
            json={"role": role, "password": f"{name}-password"},
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        assert made.status_code == 200, made.text


def log_in(page: Page, name: str, password: str) -> None:
    page.fill("#login-name", name)
    page.fill("#login-password", password)
    page.get_by_role("button", name="Log in").click()


def test_an_admin_manages_accounts_and_a_clinician_assigns_a_plan_on_the_sites_page(
    tmp_path: Path, cluster: Postgres
) -> None:
    (tmp_path / "token").write_text(TOKEN)
    token = {"Authorization": f"Bearer {TOKEN}"}
    block = uuid.uuid4().hex
    said: list[Message] = [
        *[("eccentrix/gym-a/rep", rep("gym-a", block, 1, i)) for i in (1, 2)],
        block_done("gym-a", block, 2, 20.0, "squat"),
    ]
    with a_site(tmp_path, cluster, token_file=tmp_path / "token", logins=True) as running:
        site = running.worker
        with_accounts(site, ("boss", "admin"), ("dr-lee", "clinician"))
        publish(running.broker.port, said)
        wait_until(lambda: count(running.database, "blocks") == 1, "ada's block stored")
        with chromium_page() as page:
            page.goto(site.url)
            log_in(page, "boss", "boss-password")
            accounts = page.locator("#accounts tbody tr")
            expect(accounts).to_have_count(2)
            page.fill("#account-name", "dr-new")
            page.select_option("#account-role", "clinician")
            page.fill("#account-password", "dr-new-password")
            page.get_by_role("button", name="Save").click()
            expect(accounts).to_have_count(3)
            listed = {a["name"]: a for a in httpx.get(f"{site.url}/api/accounts", headers=token).json()}
            assert listed["dr-new"]["role"] == "clinician" and not listed["dr-new"]["removed"]
            accounts.filter(has_text="dr-new").get_by_role("button", name="remove").click()
            expect(accounts.filter(has_text="dr-new")).to_contain_text("clinician, removed")
            page.get_by_role("button", name="log out").click()

            log_in(page, "dr-lee", "dr-lee-password")
            expect(page.locator("#who")).to_have_text("dr-lee (clinician)")
            expect(page.locator("#accounts")).to_be_hidden()
            refused = page.request.put(
                f"{site.url}/api/accounts/sneaky", data={"role": "admin", "password": "sneaky-password"}
            )
            assert refused.status == 403 and "only admins" in refused.text()
            page.get_by_role("button", name="ada").click()
            page.select_option("#assign-protocol", "nordic-hamstring")
            page.get_by_role("button", name="Assign").click()
            expect(page.locator("#assign-result")).to_contain_text("next check-in on any machine")
            expect(page.locator("#plan-protocol")).to_have_text("nordic-hamstring")
            assert page.request.get(f"{site.url}/api/people/ada/plan").json()["assigned_by"] == "dr-lee"
        listed = {a["name"]: a for a in httpx.get(f"{site.url}/api/accounts", headers=token).json()}
    assert "sneaky" not in listed and listed["dr-new"]["removed"]
