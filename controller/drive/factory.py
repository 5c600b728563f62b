"""The only place that branches on the kind of drive."""

from __future__ import annotations

from controller.config import DriveMap, MachineConfig
from controller.drive.base import Drive
from controller.drive.link import Link
from controller.drive.modbus import ModbusDrive
from controller.drive.serial_line import SerialLineDrive
from controller.timing import Clock


def make_drive(machine: MachineConfig, drive_map: DriveMap, link: str, clock: Clock) -> Drive:
    """A real drive from its map and where it is: `tcp://HOST:PORT`, or a serial device path."""
    if drive_map.protocol == "modbus":
        return ModbusDrive(drive_map, machine, Link.parse(link), clock)
    return SerialLineDrive(drive_map, machine, link.removeprefix("serial://"), clock)
