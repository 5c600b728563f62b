"""The supervisor between the loop and a drive: faults disable the drive; enabling it again after
a reset is paced, so a drive that will not enable never stalls the loop cycle after cycle."""

from __future__ import annotations

import asyncio

import pytest

from controller.config import load_machine
from controller.drive import DriveFault, DriveFeedback
from controller.drive.supervisor import RECONNECT_EVERY_S, DriveSupervisor

pytestmark = pytest.mark.fast


class StubbornDrive:
    """Reads a position no cable reaches; will not enable again once disabled."""

    def __init__(self) -> None:
        self.sources = {"position": "the stub's position", "velocity": "the stub's velocity"}
        self.connects = 0
        self.disables = 0

    async def connect(self) -> None:
        self.connects += 1
        raise DriveFault("did not report running after the enable sequence")

    async def read(self) -> DriveFeedback:
        return DriveFeedback(0.0, 1e6, 0.0, 0.0)  # far past any cable: implausible

    async def write(self, torque_nm: float) -> None:
        pass

    async def disable(self) -> None:
        self.disables += 1

    async def close(self) -> None:
        pass


def test_a_fault_disables_once_and_rearming_is_paced():
    drive = StubbornDrive()
    faults: list[str] = []
    supervisor = DriveSupervisor(drive, load_machine("a6-diy"), lambda _t, kind, _d: faults.append(kind))

    async def go() -> None:
        for cycle in range(100):
            now = cycle * 0.002
            assert await supervisor.read(now) is None
            await supervisor.rearm(now)

    asyncio.run(go())
    assert faults == ["drive_implausible"], "one fault per arming, not one per cycle"
    assert drive.disables == 1
    assert drive.connects == 1 + int(0.2 / RECONNECT_EVERY_S), "a try every RECONNECT_EVERY_S"
