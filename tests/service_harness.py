"""A control service with a simulated drive and lifter, running in a thread of the test process, as
`eccentrix demo` runs it (its own event loop, the control port on a real Unix socket)."""

from __future__ import annotations

import asyncio
import gc
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from controller.config import load_athlete, load_machine
from controller.demo import ensure_accounts
from controller.runtime.service import ControlService, ServiceSetup
from controller.timing import Clock, SimulatedClock
from simulator.lifter import SimulatedLifter
from simulator.rig import Rig
from simulator.simulated_drive import SimulatedDrive
from tests.machines import home_gym_file

PASSWORD = "correct horse"


class PacedClock(SimulatedClock):
    """Simulated time that runs `speed` times faster than the wall clock: sets take seconds, and the
    port thread and the dashboard still see a stream of telemetry rather than a burst."""

    def __init__(self, speed: float) -> None:
        super().__init__()
        self.speed = speed
        self._wall0 = time.perf_counter()

    def wait_until(self, deadline_s: float) -> None:
        super().wait_until(deadline_s)
        ahead = deadline_s / self.speed - (time.perf_counter() - self._wall0)
        if ahead > 0:
            time.sleep(ahead)


@contextmanager
def running_service(
    folder: Path, clock: Clock | None = None, athlete: str = "trained"
) -> Iterator[ControlService]:
    machine = load_machine(home_gym_file(folder, name="service-machine.toml"))
    clock = clock or PacedClock(speed=8.0)
    rig = Rig.build(machine, load_athlete(athlete), planned_reps=0)
    drive = SimulatedDrive(rig, clock, machine)
    (folder / "recordings").mkdir(exist_ok=True)
    setup = ServiceSetup(machine, folder / "control.sock", folder / "recordings", folder / "sessions.sqlite")
    ensure_accounts(folder / "sessions.sqlite", PASSWORD)
    service = ControlService(setup, drive, clock, SimulatedLifter(rig, 0, waiting=True))
    # A real control process starts on a fresh heap. Here earlier tests' garbage shares the process,
    # and a full collection of it mid-set stalled a real-time loop by 12 ms (a loop_lag stop).
    gc.collect()
    switch_interval = sys.getswitchinterval()  # the service shortens it process-wide; put it back after
    thread = threading.Thread(target=lambda: asyncio.run(service.serve()), name="control", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not service.port.path.exists():
        assert time.monotonic() < deadline, "the control port did not come up"
        time.sleep(0.01)
    try:
        yield service
    finally:
        service.stop()
        thread.join(timeout=20)
        sys.setswitchinterval(switch_interval)
        assert not thread.is_alive(), "the control service did not stop"
