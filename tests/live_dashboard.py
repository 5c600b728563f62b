"""A real dashboard (uvicorn on a loopback port) in front of a real control service, for the tests
that come in over HTTP as a browser or a fuzzer does."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from controller.bridge.site_checkin import SiteAccess
from dashboard.app import create_app
from dashboard.state import Settings
from tests.service_harness import running_service


@dataclass(frozen=True, slots=True)
class LiveDashboard:
    url: str
    folder: Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def live_dashboard(folder: Path) -> Iterator[LiveDashboard]:
    with running_service(folder), dashboard_of(folder) as dashboard:
        yield dashboard


@contextmanager
def dashboard_of(folder: Path, site: SiteAccess | None = None) -> Iterator[LiveDashboard]:
    """The dashboard of the control service already running in `folder` (its port, store and
    recordings), served in a thread of this process; `site`: where its check-ins are decided."""
    port = free_port()
    files = (folder / "control.sock", folder / "sessions.sqlite", folder / "recordings")
    settings = Settings(*files, site=site)
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="dashboard", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the dashboard did not start"
        time.sleep(0.05)
    try:
        yield LiveDashboard(f"http://127.0.0.1:{port}", folder)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
