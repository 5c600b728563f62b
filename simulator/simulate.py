"""One closed-loop set against the simulator: the product's loop driving a simulated machine and
person, faster than real time unless asked otherwise."""

from __future__ import annotations

import asyncio
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from controller.bridge.process import mqtt_config, start_bridge, wait_for_bridge
from controller.config import (
    AthleteConfig,
    DriveMap,
    MachineConfig,
    ProfileConfig,
    ProfileKind,
    load_drive_map,
)
from controller.core.loop import Frame, SafetyEvent
from controller.core.profiles import check_fits_machine
from controller.core.reps import RepMetrics
from controller.core.stats import LoopStats
from controller.drive import Drive
from controller.drive.factory import make_drive
from controller.runtime.service import ControlService, ServiceSetup
from controller.timing import Clock, MonotonicClock, SimulatedClock
from simulator.flywheel_intent import FlywheelIntent
from simulator.host import SimDriveHost
from simulator.lifter import SimulatedLifter, planned_reps
from simulator.rig import Rig
from simulator.scenarios import Scenario
from simulator.simulated_drive import SimulatedDrive


@dataclass(frozen=True, slots=True)
class SimulationSetup:
    machine: MachineConfig
    profile: ProfileConfig
    athlete: AthleteConfig
    reps: int | None = None
    load_kg: float | None = None
    scenario: Scenario | None = None
    realtime: bool = False
    record: Path | None = None
    transport: str = "inproc"  # inproc | modbus-tcp | modbus-rtu | serial
    drive_map: DriveMap | None = None  # for a transport; default: the reference map for it
    mqtt: str | None = None  # broker URL: the set's reps go out through an MQTT bridge as a real one's
    machine_ref: str | None = None  # the machine file as given (for the bridge process)
    built: MachineConfig | None = None  # the machine as really built, when its config is wrong


@dataclass(slots=True)
class SimulationResult:
    setup: SimulationSetup
    reps: list[RepMetrics]
    safety_events: list[SafetyEvent]
    loop: LoopStats
    frames: list[Frame] = field(default_factory=list)
    true_tension_n: list[float] = field(default_factory=list)
    true_handle_speed_mps: list[float] = field(default_factory=list)
    athlete_phase: list[str] = field(default_factory=list)
    converged_eccentric_kg: float | None = None  # adaptive eccentric: the load the set converged to

    def to_json(self) -> dict[str, Any]:
        return {
            "profile": self.setup.profile.name,
            "athlete": self.setup.athlete.name,
            "machine": self.setup.machine.name,
            "scenario": self.setup.scenario.kind.value if self.setup.scenario else None,
            "reps": [asdict(rep) for rep in self.reps],
            "safety_events": [asdict(event) for event in self.safety_events],
            "loop": asdict(self.loop),
            "converged_eccentric_kg": self.converged_eccentric_kg,
        }


def build_profile(setup: SimulationSetup) -> ProfileConfig:
    update: dict[str, Any] = {}
    if setup.reps is not None:
        update["reps"] = setup.reps
    profile = setup.profile.model_copy(update=update)
    check_fits_machine(setup.machine, profile, setup.load_kg)
    return profile


def simulate(
    setup: SimulationSetup, keep_frames: bool = False, on_rep: Callable[[RepMetrics], None] | None = None
) -> SimulationResult:
    return asyncio.run(simulate_async(setup, keep_frames, on_rep))


async def simulate_async(
    setup: SimulationSetup, keep_frames: bool = False, on_rep: Callable[[RepMetrics], None] | None = None
) -> SimulationResult:
    """The control service of a real machine, on the simulator's clock, for one block of sets."""
    profile = build_profile(setup)
    built = setup.built or setup.machine
    rig = Rig.build(built, setup.athlete, planned_reps(profile), setup.scenario, dt_s=0.001)
    rig.athlete.flywheel = FlywheelIntent() if profile.kind is ProfileKind.FLYWHEEL else None
    clock: Clock = MonotonicClock() if setup.realtime else SimulatedClock()
    drive, host = _drive(setup, rig, clock, built)
    fleet = mqtt_config(setup.machine, setup.mqtt) is not None
    max_s = 60.0 + 20.0 * planned_reps(profile) * profile.sets + profile.rest_s * (profile.sets - 1)
    service = ControlService(
        ServiceSetup(
            setup.machine,
            Path(tempfile.mkdtemp(prefix="eccentrix-sim-")) / "control.sock" if fleet else None,
            raise_priority=False,
            athlete=setup.athlete,
            scenario=setup.scenario.kind.value if setup.scenario else None,
            max_run_s=max_s,
        ),
        drive,
        clock,
        SimulatedLifter(rig, planned_reps(profile)),
    )
    service.stop_after_block = True
    service.start_block(profile, setup.load_kg, f"simulated {setup.athlete.name}", setup.record)
    result = SimulationResult(setup, [], [], LoopStats(0, 0, 0, 0, 0, 0, 0))

    def watch(frame: Frame) -> None:
        result.frames.append(frame)
        result.true_tension_n.append(rig.plant.tension_n)
        result.true_handle_speed_mps.append(rig.plant.handle_vel_mps)
        result.athlete_phase.append(rig.athlete.state.phase.value)

    if keep_frames:
        service.frame_listeners.append(watch)
    if on_rep is not None:
        service.rep_listeners.append(on_rep)
    bridge = _open_bridge(setup, service) if fleet else None
    try:
        await service.serve()
    finally:
        if host is not None:
            host.stop()
        if bridge is not None:
            _close_bridge(bridge)
    result.reps = service.loop.reps
    result.safety_events = service.loop.safety_events
    result.loop = service.stats.summary()
    result.converged_eccentric_kg = service.loop.lifecycle.profile.converged_eccentric_kg
    return result


def _drive(
    setup: SimulationSetup, rig: Rig, clock: Clock, built: MachineConfig
) -> tuple[Drive, SimDriveHost | None]:
    """The simulated drive in this process, or the simulator served over a real link and the
    product's own drive code talking to it."""
    if setup.transport == "inproc":
        return SimulatedDrive(rig, clock, built), None
    drive_map = setup.drive_map or load_drive_map("odrive-ascii" if setup.transport == "serial" else "sim")
    host = SimDriveHost(drive_map, built, rig, setup.transport, lockstep=not setup.realtime)  # type: ignore[arg-type]
    return make_drive(setup.machine, drive_map, host.start(), clock), host


def _open_bridge(setup: SimulationSetup, service: ControlService) -> subprocess.Popen[bytes]:
    """The MQTT bridge on the service's port, as beside a real machine, listening before the set."""
    service.port.start()
    bridge = start_bridge(service.port.path, setup.machine_ref or setup.machine.name, setup.mqtt)
    wait_for_bridge(service.port, bridge)
    return bridge


def _close_bridge(bridge: subprocess.Popen[bytes]) -> None:
    try:
        bridge.wait(timeout=30)  # it flushes what it holds once the service says "end"
    finally:
        bridge.kill()
