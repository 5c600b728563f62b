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
from controller.config import AthleteConfig, DriveMap, MachineConfig, ProfileConfig, load_drive_map
from controller.core.loop import ControlLoop, Frame, SafetyEvent
from controller.core.profiles import check_fits_machine
from controller.core.reps import RepMetrics
from controller.core.stats import LoopStats
from controller.drive import Drive
from controller.drive.factory import make_drive
from controller.runtime.ipc import ControlPort
from controller.runtime.publisher import LoopPublisher
from controller.runtime.recorder import finish_recording, record_loop, recording_header
from controller.timing import Clock, MonotonicClock, SimulatedClock
from simulator.host import SimDriveHost
from simulator.lifter import SimulatedLifter
from simulator.rig import Rig
from simulator.scenarios import Scenario
from simulator.simulated_drive import SimulatedDrive

_AFTER_LET_GO_S = 1.0


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


@dataclass(slots=True)
class FleetLink:
    """A simulated set's own control port and MQTT bridge, so its reps reach the fleet's broker the
    way a real machine's do."""

    port: ControlPort
    publisher: LoopPublisher
    bridge: subprocess.Popen[bytes]

    @classmethod
    def open(cls, setup: SimulationSetup, loop: ControlLoop, profile: ProfileConfig) -> FleetLink:
        port = ControlPort(Path(tempfile.mkdtemp(prefix="eccentrix-sim-")) / "control.sock")
        port.start()
        publisher = LoopPublisher(port, setup.machine.control.rate_hz)
        publisher.attach(loop, profile.tempo)
        bridge = start_bridge(port.path, setup.machine_ref or setup.machine.name, setup.mqtt)
        wait_for_bridge(port, bridge)
        return cls(port, publisher, bridge)

    def close(self, reps: int, record: Path | None) -> None:
        self.publisher.publish_events()
        done = {"type": "block_done", "session": None, "recording": str(record) if record else None}
        self.port.publish(done | {"reps": reps})
        self.port.publish({"type": "end"})  # the bridge flushes what it holds, then exits
        try:
            self.bridge.wait(timeout=30)
        finally:
            self.bridge.kill()
            self.port.stop()


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
    profile = build_profile(setup)
    planned = profile.reps if setup.reps is None else setup.reps
    if profile.kind.value == "finishing_negatives":
        planned = max(planned, 100)  # they keep going until the machine says the set is over
    built = setup.built or setup.machine
    rig = Rig.build(built, setup.athlete, planned, setup.scenario, dt_s=0.001)
    clock: Clock = MonotonicClock() if setup.realtime else SimulatedClock()
    loop = ControlLoop(setup.machine, profile, setup.load_kg)
    host: SimDriveHost | None = None
    drive: Drive
    if setup.transport == "inproc":
        drive = SimulatedDrive(rig, clock, built)
    else:
        drive_map = setup.drive_map or load_drive_map(
            "odrive-ascii" if setup.transport == "serial" else "sim"
        )
        host = SimDriveHost(drive_map, built, rig, setup.transport, lockstep=not setup.realtime)  # type: ignore[arg-type]
        drive = make_drive(setup.machine, drive_map, host.start(), clock)
    result = SimulationResult(setup, [], loop.safety_events, LoopStats(0, 0, 0, 0, 0, 0, 0))

    lifter = SimulatedLifter(rig, planned)

    def watch(frame: Frame) -> None:
        if keep_frames:
            result.frames.append(frame)
            result.true_tension_n.append(rig.plant.tension_n)
            result.true_handle_speed_mps.append(rig.plant.handle_vel_mps)
            result.athlete_phase.append(rig.athlete.state.phase.value)

    loop.observers.on_frame.append(watch)
    if on_rep is not None:
        loop.observers.on_rep.append(on_rep)

    fleet = FleetLink.open(setup, loop, profile) if mqtt_config(setup.machine, setup.mqtt) else None

    def finished(lp: ControlLoop) -> bool:
        lifter.follow(lp)
        if fleet is not None:
            fleet.publisher.publish_events()
        let_go = lifter.let_go_at_s
        return let_go is not None and rig.plant.time_s - let_go > _AFTER_LET_GO_S

    writer = None
    if setup.record is not None:
        scenario = setup.scenario.kind.value if setup.scenario else None
        header = recording_header(setup.machine, profile, setup.load_kg, setup.athlete, scenario)
        writer = record_loop(loop, setup.record, header)
    await drive.connect()
    loop.start_set()
    max_s = 60.0 + 20.0 * planned * profile.sets + profile.rest_s * (profile.sets - 1)
    try:
        result.loop = await loop.run(drive, clock, finished, max_s)
    finally:
        if writer is not None:
            finish_recording(writer, loop, clock.now())
        await drive.close()
        if host is not None:
            host.stop()
        if fleet is not None:
            fleet.close(len(loop.reps), setup.record)
    result.reps = loop.reps
    result.converged_eccentric_kg = loop.lifecycle.profile.converged_eccentric_kg
    return result
