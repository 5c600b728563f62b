"""`eccentrix run`: real-time control of a real drive, as the machine file describes it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from controller.config import MachineConfig, ProfileConfig, load_drive_map
from controller.drive.factory import make_drive
from controller.loop import ControlLoop
from controller.priority import prefer_control_thread
from controller.recorder import finish_recording, record_loop, recording_header
from controller.reps import RepMetrics
from controller.session import SetState
from controller.stats import LoopStats
from controller.timing import MonotonicClock

_OVER = (SetState.DONE, SetState.STOPPED)


@dataclass(frozen=True, slots=True)
class RunSetup:
    machine: MachineConfig
    profile: ProfileConfig
    load_kg: float | None = None
    link: str | None = None  # overrides the machine file's drive.link
    record: Path | None = None
    seconds: float = 3600.0


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


async def run_machine(
    setup: RunSetup, on_rep: Callable[[RepMetrics], None] | None = None
) -> tuple[ControlLoop, LoopStats]:
    link = drive_link(setup)
    clock = MonotonicClock()
    loop = ControlLoop(setup.machine, setup.profile, setup.load_kg)
    if on_rep is not None:
        loop.observers.on_rep.append(on_rep)
    drive = make_drive(setup.machine, load_drive_map(setup.machine.drive.map), link, clock)
    writer = None
    if setup.record is not None:
        writer = record_loop(
            loop, setup.record, recording_header(setup.machine, setup.profile, setup.load_kg)
        )
    await drive.connect()
    prefer_control_thread()
    loop.start_set()
    try:
        stats = await loop.run(
            drive, clock, lambda lp: lp.session.state in _OVER and bool(lp.reps), setup.seconds
        )
    finally:
        await drive.close()
        if writer is not None:
            finish_recording(writer, loop, clock.now())
    return loop, stats


def run(setup: RunSetup, on_rep: Callable[[RepMetrics], None] | None = None) -> tuple[ControlLoop, LoopStats]:
    return asyncio.run(run_machine(setup, on_rep))
