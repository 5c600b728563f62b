"""Chromium (Debian's, headless, driven by Playwright) in front of the README's first command,
`eccentrix demo`, run in its own process: the fixtures and steps the browser tests share. Their
screenshots are kept in artifacts/."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from playwright.sync_api import Page, ViewportSize, expect, sync_playwright

from tests.live_dashboard import free_port
from tests.machines import home_gym_file

CHROMIUM = os.environ.get("ECCENTRIX_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
PASSWORD = "browser-test-pw"
# The screens issue 19 tried: a tablet on its side (the default page), a tablet upright, a phone
TABLET = ViewportSize(width=1024, height=768)
TABLET_UPRIGHT = ViewportSize(width=768, height=1024)
PHONE = ViewportSize(width=390, height=844)


@contextmanager
def running_demo(folder: Path) -> Iterator[str]:
    """`eccentrix demo` on a free port with its data in `folder`; yields its URL."""
    port = free_port()
    command = [sys.executable, "-m", "controller.cli", "demo", "--data", str(folder), "--port", str(port)]
    command += ["--machine", str(home_gym_file(folder))]
    process = subprocess.Popen([*command, "--password", PASSWORD])
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, "eccentrix demo exited"
            assert time.monotonic() < deadline, "the demo's dashboard did not come up"
            try:
                if httpx.get(url + "/", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        assert process.wait(timeout=30) is not None


@contextmanager
def chromium_page() -> Iterator[Page]:
    """A page of headless Chromium; any script error on it fails the test."""
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: ./dev test installs Debian's chromium"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport=TABLET)
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        yield page
        browser.close()
    assert not errors, errors  # no script error on any page of the test


def wait_in_page(page: Page, expression: str, timeout_ms: float = 10_000, report: str = "") -> None:
    """Until the JavaScript expression is true in the page (`report`: an expression whose value a
    failure shows). Not page.wait_for_function: once its first look is false it polls through eval,
    which the dashboard's Content-Security-Policy forbids, so it failed exactly when the machine
    was slow (run 10 under a CPU hog)."""
    deadline = time.monotonic() + timeout_ms / 1000
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            shown = f" ({report} = {page.evaluate(report)!r})" if report else ""
            raise AssertionError(f"never true in the page: {expression}{shown}")
        page.wait_for_timeout(50)


def log_in_as(page: Page, name: str) -> None:
    expect(page.locator("#login-form")).to_be_visible()
    page.fill("#login-name", name)
    page.fill("#login-password", PASSWORD)
    page.click("#login-button")
    expect(page.locator("#who")).to_contain_text(name)


def fits_and_shows_the_estop(page: Page, where: str) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    viewport = page.viewport_size
    assert viewport is not None and width <= viewport["width"], f"{where}: {width} px wide"
    box = page.locator("#estop").bounding_box()
    assert box is not None, f"{where}: no E-STOP"
    assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"], f"{where}: E-STOP off-screen"
    assert box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"], f"{where}: E-STOP off-screen"
    assert box["height"] >= 48 and box["width"] >= 48, f"{where}: E-STOP under 48 px"
