from __future__ import annotations

import pytest

from controller.config import MachineConfig, load_machine


@pytest.fixture(scope="session")
def home_gym() -> MachineConfig:
    return load_machine("home-gym-2kw")


@pytest.fixture(scope="session")
def a6_diy() -> MachineConfig:
    return load_machine("a6-diy")
