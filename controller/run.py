"""`eccentrix run`: real-time control of a real drive, as the machine file describes it.

The same control process as the demo (service.py) with a real drive: one block of sets, started at
once, then a safe stop. With a broker configured, the MQTT bridge runs beside it in its own process.
"""

from __future__ import annotations

import asyncio
import signal
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from controller.bridge.process import mqtt_config, start_bridge
from controller.config import DriveMap, MachineConfig, ProfileConfig, load_drive_map
from controller.core.reps import RepMetrics
from controller.drive.factory import make_drive
from controller.runtime.service import ControlService, ServiceSetup
from controller.timing import MonotonicClock


@dataclass(frozen=True, slots=True)
class RunSetup:
    machine: MachineConfig
    profile: ProfileConfig
    load_kg: float | None = None
    link: str | None = None  # overrides the machine file's drive.link
    record: Path | None = None
    seconds: float = 3600.0
    machine_ref: str | None = None  # the machine file as given (for the bridge process)
    mqtt: str | None = None  # broker URL, overriding the machine file's [mqtt] url


def drive_link(setup: RunSetup) -> str:
    drive = setup.machine.drive
    if drive.kind == "sim":
        raise ValueError(
            f"machine {setup.machine.name!r} has drive.kind = 'sim': use `eccentrix simulate` or `demo`, "
            "or give the machine file a real drive (kind = 'modbus' or 'serial', map, link)"
        )
    link = setup.link or drive.link
    if link is None:  # the machine config already insists; a --link of "" lands here
        raise ValueError("drive.link: give the drive's address in the machine file or with --link")
    return link


def check_stop_path(machine: MachineConfig, drive_map: DriveMap) -> None:
    """A host that dies leaves the last torque on unless the drive stops by itself: by its own
    communication watchdog, or by the E-stop wired to its STO input."""
    has_watchdog = drive_map.watchdog is not None or drive_map.serial_line is not None
    if not has_watchdog and not machine.drive.sto_wired:
        raise ValueError(
            f"drive map {drive_map.name!r} sets no communication watchdog, so nothing stops the motor "
            "if this computer stops: wire the E-stop to the drive's STO input and say so with "
            "drive.sto_wired = true in the machine file"
        )


def run(setup: RunSetup, on_rep: Callable[[RepMetrics], None] | None = None) -> ControlService:
    link = drive_link(setup)
    clock = MonotonicClock()
    drive_map = load_drive_map(setup.machine.drive.map)
    check_stop_path(setup.machine, drive_map)
    drive = make_drive(setup.machine, drive_map, link, clock)
    folder = Path(tempfile.mkdtemp(prefix="eccentrix-run-"))
    service = ControlService(
        ServiceSetup(setup.machine, folder / "control.sock", drive_link=link), drive, clock
    )
    if on_rep is not None:
        service.rep_listeners.append(on_rep)
    service.stop_after_block = True
    service.start_block(setup.profile, setup.load_kg, "operator", setup.record)
    timer = threading.Timer(setup.seconds, service.stop)
    timer.start()
    signal.signal(signal.SIGTERM, lambda *_: service.stop())
    bridge = None
    if mqtt_config(setup.machine, setup.mqtt) is not None:
        bridge = start_bridge(service.port.path, setup.machine_ref or setup.machine.name, setup.mqtt)
    try:
        asyncio.run(service.serve())
    finally:
        timer.cancel()
        if bridge is not None:
            bridge.terminate()
            bridge.wait(timeout=15)
    return service
