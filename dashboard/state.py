"""What every route can reach: the settings, the hub, and a session-store connection per request
(SQLite connections belong to one thread; routes run on a pool)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from fastapi import Request

from controller.app.store import SqliteSessionStore
from controller.bridge.site_checkin import SiteAccess
from dashboard.hub import Hub


@dataclass(frozen=True, slots=True)
class Settings:
    control_socket: Path
    store: Path
    recordings: Path | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    site: SiteAccess | None = None  # the site that holds rehab plans and decides check-ins


def hub_of(request: Request) -> Hub:
    hub = request.app.state.hub
    assert isinstance(hub, Hub)
    return hub


def settings_of(request: Request) -> Settings:
    settings = request.app.state.settings
    assert isinstance(settings, Settings)
    return settings


def open_store(request: Request) -> Iterator[SqliteSessionStore]:
    store = SqliteSessionStore(settings_of(request).store)
    try:
        yield store
    finally:
        store.close()
