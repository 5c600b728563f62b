from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page

from controller.config import MachineConfig, load_machine
from tests.browser import chromium_page, running_demo
from tests.postgres_harness import Postgres, postgres


@pytest.fixture(scope="session")
def home_gym() -> MachineConfig:
    return load_machine("home-gym-2kw")


@pytest.fixture(scope="session")
def a6_diy() -> MachineConfig:
    return load_machine("a6-diy")


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[str]:
    with running_demo(tmp_path) as url:
        yield url


@pytest.fixture
def page() -> Iterator[Page]:
    with chromium_page() as page:
        yield page


@pytest.fixture(scope="module")
def cluster() -> Iterator[Postgres]:
    """A throwaway PostgreSQL cluster for a module's tests, each of which makes its own database."""
    with postgres() as running:
        yield running
