"""The README's first command, used as a person would, in Chromium (tests/browser.py): log in, set up
an eccentric-overload set, watch the reps come in, hit the e-stop; a clinician and a patient; a
workout; every page at phone and tablet sizes."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser import (
    ARTIFACTS,
    PASSWORD,
    PHONE,
    TABLET,
    TABLET_UPRIGHT,
    fits_and_shows_the_estop,
    log_in_as,
    wait_in_page,
)

# Each thing issue 19 found wrong is tried at a phone's size and a tablet's (the default page's)
PHONE_AND_TABLET = pytest.mark.parametrize("size", [PHONE, TABLET], ids=["phone", "tablet"])


def running_profile(page: Page, url: str) -> dict[str, Any]:
    """The set's profile as the control process runs it (the status comes twice a second)."""
    for _ in range(100):
        profile = page.request.get(f"{url}/api/status").json()["status"]["profile"]
        if profile:
            return dict(profile)
        page.wait_for_timeout(100)
    raise AssertionError("no set is running")


@PHONE_AND_TABLET
def test_log_in_run_an_eccentric_overload_set_watch_reps_and_estop(demo, page, size):
    page.set_viewport_size(size)
    page.goto(demo)
    page.fill("#login-name", "lifter")
    page.fill("#login-password", PASSWORD)
    page.click("#login-button")
    expect(page.locator("#who")).to_contain_text("lifter (athlete)")

    page.select_option("#profile", "eccentric-overload-130")
    page.fill("#reps", "0")
    page.click("#start-set")  # a bad value reads as a sentence, not as JSON (issue 19)
    expect(page.locator("#setup-message")).to_contain_text("reps: ")
    assert not set("{[") & set(page.locator("#setup-message").inner_text())
    page.fill("#load", "50")
    page.fill("#eccentric-pct", "50")  # not the profile's own 30: issue 19 found it never sent
    page.fill("#reps", "6")
    page.fill("#exercise", "lat pulldown")
    page.click("#start-set")
    expect(page.locator("#tab-live")).to_be_visible()
    assert running_profile(page, demo)["eccentric_pct"] == 50

    rows = page.locator("#rep-table tbody tr")
    expect(rows.first).to_be_visible(timeout=90_000)
    expect(page.locator("#tempo-cue")).not_to_have_text("-")
    first = rows.first.locator("td")
    assert float(first.nth(6).inner_text()) > 1.2 * float(first.nth(5).inner_text())  # down > up
    page.wait_for_timeout(1500)
    # The chart redraws with the stream: 48-49 frames/s here (README), but the rate is the
    # machine's, and under a CPU hog it fell to 10; this only says it redraws at all.
    assert int(page.locator("#fps").inner_text()) >= 1
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard-live.png"), full_page=True)

    assert float(page.locator("#tension-now").inner_text()) > 200  # a set is under way
    page.click("#estop")
    expect(page.locator("#fault")).to_contain_text("Stopped: all tension is off", timeout=5_000)
    # What the page shows is the subject here, not how fast (tests/test_transports.py holds the drive to
    # zero torque within 3 periods): a loaded machine once took over 5 s to show it
    tension = "document.querySelector('#tension-now').textContent"
    wait_in_page(page, f"Number({tension}) < 25", timeout_ms=20_000, report=tension)
    expect(page.locator("#set-state")).to_contain_text("stopped")
    expect(page.locator("#events")).to_contain_text("Press Reset once the handle is at rest")
    # The counter says reps done: the one the e-stop cut short is not one (it showed the rep in
    # progress, one more than the table; a cut-short rep may still come in as a failed row)
    page.wait_for_timeout(1000)
    assert 1 <= int(page.locator("#rep-count").inner_text()) <= rows.count()


@PHONE_AND_TABLET
def test_a_clinician_assigns_a_protocol_and_the_patient_checks_in_starts_stops_and_changes_password(
    demo, page, size
):
    page.set_viewport_size(size)
    page.goto(demo)
    log_in_as(page, "clinician")
    expect(page.locator("nav button[data-tab=today]")).to_be_hidden()
    page.click("nav button[data-tab=clinic]")
    page.select_option("#clinic-patient", "patient")
    page.select_option("#clinic-protocol", "older-adult-eccentric")
    page.click("#assign")
    expect(page.locator("#patient-table")).to_contain_text("older-adult-eccentric")
    page.fill("#cap-con", "150")
    page.fill("#cap-rom-max", "0.7")
    page.click("#set-caps")
    expect(page.locator("#patient-table")).to_contain_text("max_concentric_force_n 150")
    page.click("#logout")  # the page reloads to its login form

    log_in_as(page, "patient")
    expect(page.locator("#tab-today")).to_be_visible()  # a patient lands on today's page
    expect(page.locator("nav button[data-tab=clinic]")).to_be_hidden()
    for tab in ("setup", "replay"):  # a patient trains on the plan their clinician set (issue 19)
        expect(page.locator(f"nav button[data-tab={tab}]")).to_be_hidden()
    page.fill("#soreness", "2")
    page.click("#checkin")
    expect(page.locator("#today-sets")).to_contain_text("3 x 10 at 2 kg")
    page.click("#today-start")
    expect(page.locator("#today-message")).to_contain_text("starting")
    expect(page.locator("#today-live")).to_contain_text("Set 1 of 3")  # how the set goes, as it goes
    page.click("#patient-stop")
    expect(page.locator("#today-message")).to_contain_text("stopped")  # it said "done" (issue 19)
    expect(page.locator("#fault")).to_contain_text("Stopped: all tension is off", timeout=5_000)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard-patient.png"), full_page=True)

    page.click("nav button[data-tab=status]")
    page.click("#account summary")
    page.fill("#password-current", PASSWORD)
    page.fill("#password-new", "my own secret")
    page.click("#password-form button")
    expect(page.locator("#password-message")).to_contain_text("password changed")
    page.click("#logout")
    page.fill("#login-name", "patient")
    page.fill("#login-password", PASSWORD)
    page.click("#login-button")
    expect(page.locator("#login-error")).to_contain_text("wrong name or password")
    page.fill("#login-password", "my own secret")
    page.click("#login-button")
    expect(page.locator("#who")).to_contain_text("patient")


def test_a_lifter_starts_a_workout_follows_it_live_and_stops_it(demo, page):
    page.goto(demo)
    log_in_as(page, "lifter")
    page.select_option("#workout", "upper-negatives")
    expect(page.locator("#workout-steps tbody tr")).to_have_count(3)
    page.fill("#workout-load-0", "45")
    page.click("#start-workout")
    expect(page.locator("#tab-live")).to_be_visible()
    expect(page.locator("#workout-now")).to_contain_text("upper-negatives: chest press: warm-up 1/3 (1/6)")
    expect(page.locator("#rep-table tbody tr").first).to_be_visible(timeout=90_000)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard-workout.png"), full_page=True)
    page.click("nav button[data-tab=setup]")
    page.click("#stop-set")
    expect(page.locator("#workout-now")).to_have_text("-", timeout=10_000)
    page.click("nav button[data-tab=history]")  # the stopped warm-up's reps, filed under the workout
    page.select_option("#progress-exercise", "")
    page.select_option("#history-workout", "upper-negatives")
    expect(page.locator("#session-table tbody tr")).to_have_count(1)
    expect(page.locator("#session-table tbody tr td").nth(2)).to_have_text("upper-negatives")
    expect(page.locator("#session-table tbody tr td").nth(3)).to_have_text("chest press")


def test_skip_rest_is_offered_only_in_a_rest_and_starts_the_next_set(demo, page):
    page.goto(demo)
    log_in_as(page, "lifter")
    page.select_option("#profile", "constant")
    for field, value in (("#load", "40"), ("#reps", "2"), ("#sets", "2"), ("#rest", "600")):
        page.fill(field, value)
    page.click("#start-set")
    expect(page.locator("#tab-live")).to_be_visible()
    expect(page.locator("#set-index")).to_have_text("1/2")
    expect(page.locator("#skip-rest")).to_be_hidden()
    expect(page.locator("#skip-rest")).to_be_visible(timeout=90_000)  # once set 1's reps are done
    expect(page.locator("#set-state")).to_have_text(re.compile(r"resting \(\d+ s\)"))  # with its countdown
    # Reps done, not the one in progress (issue 19: 7 after a 6-rep set), and the last rep's cue shown
    expect(page.locator("#rep-count")).to_have_text("2")
    expect(page.locator("#tempo-cue")).not_to_have_text("-")
    page.click("#skip-rest")
    expect(page.locator("#set-index")).to_have_text("2/2")
    expect(page.locator("#rep-count")).to_have_text("0")
    expect(page.locator("#tempo-cue")).to_have_text("-")  # set 1's verdict does not carry over
    expect(page.locator("#skip-rest")).to_be_hidden()
    expect(page.locator("#set-state")).to_have_text("idle: hold the handle still to load")  # ~1.5 s of it
    expect(page.locator("#set-state")).to_have_text("done", timeout=90_000)
    page.wait_for_timeout(1500)  # the lifter walks the handle home: that is no third rep
    expect(page.locator("#rep-count")).to_have_text("2")


@pytest.mark.parametrize("size", [PHONE, TABLET_UPRIGHT], ids=["phone", "tablet-upright"])
def test_caps_change_field_by_field_and_a_removal_is_confirmed(demo, page, size):
    """Issue 19: setting a speed cap replaced every cap; the form was not even filled in."""
    page.set_viewport_size(size)
    page.goto(demo)
    log_in_as(page, "clinician")
    page.click("nav button[data-tab=clinic]")
    page.select_option("#clinic-patient", "patient")
    page.fill("#cap-con", "150")
    page.fill("#cap-rom-max", "0.7")
    page.click("#set-caps")
    expect(page.locator("#patient-table")).to_contain_text("max_concentric_force_n 150")
    page.reload()  # a fresh page: the form shows what is in force, not what was typed
    page.click("nav button[data-tab=clinic]")
    page.select_option("#clinic-patient", "patient")
    expect(page.locator("#cap-con")).to_have_value("150")
    expect(page.locator("#cap-rom-max")).to_have_value("0.7")
    page.fill("#cap-speed", "0.4")
    page.click("#set-caps")
    table = page.locator("#patient-table")
    expect(table).to_contain_text("max_speed_mps 0.4")
    expect(table).to_contain_text("max_concentric_force_n 150")
    expect(table).to_contain_text("rom_max_m 0.7")
    expect(page.locator("#clinic-message")).to_contain_text("caps were max_concentric_force_n 150")
    page.fill("#cap-con", "")
    page.once("dialog", lambda dialog: dialog.dismiss())  # asked, and declined: nothing changes
    page.click("#set-caps")
    expect(table).to_contain_text("max_concentric_force_n 150")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#set-caps")
    expect(table).not_to_contain_text("max_concentric_force_n")
    expect(table).to_contain_text("max_speed_mps 0.4")


@pytest.mark.parametrize("size", [PHONE, TABLET_UPRIGHT, TABLET], ids=["phone", "tablet", "tablet-wide"])
def test_every_page_fits_the_screen_and_the_estop_is_on_it_even_before_a_login(demo, page, size):
    """Issue 19: at 390 px the pages were 514-524 px wide, E-STOP, Clinic and Log out off-screen;
    E-STOP on the login page only said "log in first"."""
    page.set_viewport_size(size)
    page.goto(demo)
    fits_and_shows_the_estop(page, "login")
    page.click("#estop")
    expect(page.locator("#notice")).to_contain_text("stopped")
    for name in ("clinician", "lifter"):
        log_in_as(page, name)
        expect(page.locator("#tabs")).to_be_visible()
        shown = "bs => bs.filter(b => b.offsetParent !== null).map(b => b.dataset.tab)"
        for tab in page.eval_on_selector_all("nav button[data-tab]", shown):
            page.click(f"nav button[data-tab={tab}]")
            fits_and_shows_the_estop(page, f"{name}: {tab}")
        logout = page.locator("#logout").bounding_box()
        assert logout is not None and logout["x"] + logout["width"] <= size["width"], "Log out off-screen"
        page.click("#logout")
