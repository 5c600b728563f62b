"""The training screen (issue 19), in Chromium at tablet and phone sizes: a count readable from 2 m,
the phase as a colour, a bar per rep's speed, the lowering counted down, the summary after the set,
sound, a screen kept awake, a light theme, and settings this device remembers."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser import (
    ARTIFACTS,
    PHONE,
    TABLET,
    TABLET_UPRIGHT,
    fits_and_shows_the_estop,
    log_in_as,
    wait_in_page,
)


def what_if_replays_the_recorded_set_on_one_time_axis(page: Page) -> None:
    """Issue 19 item 5: the replay said only "replaying..." for 7 s, and its chart had its own time."""
    page.click("nav button[data-tab=replay]")
    expect(page.locator("#recording option")).to_have_count(1)
    page.click("#open-recording")
    expect(page.locator("#replay-chart canvas")).to_have_count(1)
    page.select_option("#whatif-profile", "eccentric-overload-130")
    page.click("#run-whatif")
    message = page.locator("#whatif-message")
    expect(message).to_contain_text("replaying the set in the simulator")
    expect(message).to_contain_text("replayed", timeout=120_000)
    expect(page.locator("#whatif-table tbody tr").first).to_be_visible()
    assert page.evaluate("state.whatif.original.scales.x.max === state.whatif.replayed.scales.x.max")
    fits_and_shows_the_estop(page, "replay")


def start_constant_set(page: Page, load: str, reps: str, sets: str = "1") -> None:
    page.select_option("#profile", "constant")
    fields = {"#load": load, "#reps": reps, "#sets": sets, "#rest": "600", "#exercise": "row"}
    fields |= {"#tempo-con": "1", "#tempo-pause": "0", "#tempo-ecc": "3"}
    for field, value in fields.items():
        page.fill(field, value)
    page.click("#start-set")
    expect(page.locator("#tab-live")).to_be_visible()


def background(page: Page) -> str:
    return str(page.eval_on_selector("#trainer", "e => getComputedStyle(e).backgroundColor"))


def body_colour(page: Page) -> str:
    return str(page.evaluate("getComputedStyle(document.body).backgroundColor"))


def test_a_set_on_a_tablet_reads_from_two_metres_sounds_and_sums_up(demo, page):
    page.goto(demo)
    log_in_as(page, "lifter")
    page.click("nav button[data-tab=live]")
    page.click("#sound")  # the tap that lets the page make sound
    expect(page.locator("#sound")).to_have_text("Sound on")
    page.click("nav button[data-tab=setup]")
    start_constant_set(page, "20", "2", sets="2")
    expect(page.locator("#trainer-load")).to_have_text("20 kg")
    expect(page.locator("#rep-target")).to_have_text("of 2")
    expect(page.locator("#trainer-set")).to_have_text("1 of 2")

    count = page.locator("#rep-count").bounding_box()
    assert count is not None
    print(f"rep counter at 1024x768: {count['height']:.0f} px high, top at {count['y']:.0f} px")
    assert count["height"] >= TABLET["height"] / 5, "the count cannot be read from 2 m"
    assert count["y"] + count["height"] <= TABLET["height"], "the count is below the fold"

    wait_in_page(page, "document.querySelector('#trainer').dataset.phase === 'concentric'", timeout_ms=60_000)
    lifting = background(page)
    wait_in_page(page, "document.querySelector('#trainer').dataset.phase === 'eccentric'", timeout_ms=30_000)
    assert background(page) != lifting  # lowering is another colour
    expect(page.locator("#phase-word")).to_have_text("Lower")
    expect(page.locator("#countdown")).to_have_text("3")  # the lowering's 3 s, counted down
    wait_in_page(page, "trainer.beeps >= 2", timeout_ms=5_000)

    expect(page.locator("#rep-count")).to_have_text("1", timeout=30_000)
    expect(page.locator("#velocity-bars .bar")).to_have_count(1)
    expect(page.locator("#awake")).not_to_be_empty()  # the screen kept on, or why it cannot be
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "training-tablet.png"))  # mid-set, as the lifter sees it

    summary = page.locator("#set-summary")
    expect(summary).to_be_visible(timeout=60_000)
    expect(summary).to_contain_text("Set 1 of 2 done")
    expect(summary).to_contain_text("Volume40 kg")
    expect(page.locator("#velocity-bars .bar")).to_have_count(2)
    expect(page.locator("#velocity-note")).to_contain_text("% lost")
    said = page.evaluate("trainer.said")
    assert said[-3:] == ["1", "2", "Set complete. 2 reps."], said
    expect(page.locator("#phase-word")).to_contain_text("Rest")
    page.set_viewport_size(TABLET_UPRIGHT)  # turned upright: the chart follows the new width
    wait_in_page(page, "document.querySelector('#live-chart .uplot').getBoundingClientRect().width <= 768")
    fits_and_shows_the_estop(page, "live, upright")
    page.set_viewport_size(TABLET)
    page.click("#skip-rest")
    expect(page.locator("#rep-count")).to_have_text("0")
    expect(page.locator("#velocity-bars .bar")).to_have_count(0)  # set 2 starts its own bars
    page.click("#estop")
    expect(page.locator("#phase-word")).to_have_text("Stopped")
    wait_in_page(page, "trainer.said.at(-1) === 'Stopped.'", timeout_ms=5_000)
    expect(page.locator("#awake")).to_be_empty()  # the screen may sleep again
    what_if_replays_the_recorded_set_on_one_time_axis(page)


def test_on_a_phone_the_screen_fits_and_unit_theme_and_settings_are_remembered(demo, page):
    page.set_viewport_size(PHONE)
    page.emulate_media(color_scheme="dark")  # the phone's own setting, until the lifter picks one
    page.goto(demo)
    log_in_as(page, "lifter")
    assert body_colour(page) == "rgb(16, 20, 24)"
    page.select_option("#unit", "lb")
    start_constant_set(page, "44", "3")
    expect(page.locator("#trainer-load")).to_have_text("44 lb")
    expect(page.locator("#rep-count")).to_have_text("1", timeout=90_000)
    fits_and_shows_the_estop(page, "live, mid-set")
    count = page.locator("#rep-count").bounding_box()
    assert count is not None
    print(f"rep counter at 390x844: {count['height']:.0f} px high")
    assert count["height"] >= PHONE["height"] / 6
    page.click("#theme")
    assert body_colour(page) == "rgb(243, 245, 247)"  # the light screen
    ARTIFACTS.mkdir(exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(ARTIFACTS / "training-phone.png"))
    page.click("#estop")

    page.reload()  # the same device later: its unit, theme and last settings for this profile
    expect(page.locator("#who")).to_contain_text("lifter")
    assert body_colour(page) == "rgb(243, 245, 247)"  # light, though the phone still says dark
    expect(page.locator("#unit")).to_have_value("lb")
    expect(page.locator("#profile")).to_have_value("constant")
    expect(page.locator("#load")).to_have_value("44")
    expect(page.locator("#reps")).to_have_value("3")
    expect(page.locator("#exercise")).to_have_value("row")
    expect(page.locator("#profile option[value=constant]")).to_have_text("Weight stack")
    expect(page.locator("#profile option[value=rehab-early]")).to_have_count(0)  # the clinic's

    page.click("nav button[data-tab=history]")  # the set, over the weeks, in the same unit
    expect(page.locator("#progress-exercise")).to_have_value("row")
    expect(page.locator("#records")).to_contain_text("heaviest load: 44 lb")
    expect(page.locator("#session-table tbody tr")).to_have_count(1)
    fits_and_shows_the_estop(page, "history")
    what_if_replays_the_recorded_set_on_one_time_axis(page)


def test_a_flywheel_set_spins_up_then_counts_and_shows_power_and_its_overload(demo, page):
    """Issue 21: the mode in Set up with its disc, spin-up reps left out of the count, power bars."""
    page.set_viewport_size(TABLET)
    page.goto(demo)
    log_in_as(page, "lifter")
    page.select_option("#profile", "flywheel")
    expect(page.locator("#inertia-field")).to_be_visible()
    expect(page.locator("#tempo-con")).to_be_hidden()  # the disc sets the pace
    for field, value in {"#inertia": "0.075", "#reps": "2", "#sets": "1", "#exercise": "row"}.items():
        page.fill(field, value)
    page.click("#start-set")
    expect(page.locator("#tab-live")).to_be_visible()
    expect(page.locator("#rep-target")).to_have_text("of 2 after 2 to spin up")
    expect(page.locator("#velocity-bars .bar.failed")).to_have_count(2, timeout=90_000)  # the spin-up
    expect(page.locator("#rep-count")).to_have_text("0")
    expect(page.locator("#rep-count")).to_have_text("1", timeout=30_000)
    expect(page.locator("#velocity-note")).to_contain_text("power: best")
    expect(page.locator("#tempo-cue")).to_have_text("-")  # no tempo verdict on a flywheel's rep
    expect(page.locator("#set-summary")).to_contain_text("Peak power down : up", timeout=60_000)
    expect(page.locator("#rep-count")).to_have_text("2")
    page.click("nav button[data-tab=setup]")
    page.select_option("#profile", "constant")  # not a flywheel: no disc to set
    expect(page.locator("#inertia-field")).to_be_hidden()
    expect(page.locator("#tempo-con")).to_be_visible()
