"""Real drives: one contract over every transport, and what happens when the link misbehaves."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from pymodbus.client import AsyncModbusTcpClient

from controller.config import DriveMap, load_athlete, load_drive_map, load_machine, load_profile
from controller.core.loop import ControlLoop, Frame
from controller.drive.factory import make_drive
from controller.drive.modbus import ModbusDrive
from controller.drive.registers import decode
from controller.timing import SimulatedClock
from simulator.host import SimDriveHost, Transport
from simulator.rig import Rig
from tests.sets import run_set

MACHINE = load_machine("home-gym-2kw")
PROFILE = load_profile("eccentric-overload-130")
ATHLETE = load_athlete("trained")
PATIENT_S = 0.1  # a link's reply timeout where the test is not about timing
METRICS = (
    "mean_concentric_force_n",
    "mean_eccentric_force_n",
    "rom_m",
    "concentric_s",
    "eccentric_s",
    "mean_concentric_velocity_mps",
    "peak_force_n",
)


@pytest.mark.parametrize("transport", ["inproc", "modbus-tcp", "modbus-rtu", "serial"])
def test_the_same_set_over_every_transport(transport):
    reference = run_set("eccentric-overload-130", reps=3)
    # Lockstep on the simulated clock: only the link's wall-clock timeout can see a loaded machine
    # (CI once saw three 20 ms replies in a row missed, a drive_fault, no reps), as in `patient`.
    result = run_set("eccentric-overload-130", reps=3, transport=transport, link_timeout_s=PATIENT_S)
    assert len(result.reps) == len(reference.reps) == 3
    for ours, theirs in zip(result.reps, reference.reps, strict=True):
        for name in METRICS:
            assert getattr(ours, name) == pytest.approx(getattr(theirs, name), rel=0.05), name
    assert not result.safety_events


def patient(drive_map: DriveMap) -> DriveMap:
    """Lockstep runs on the simulated clock, so only wall-clock timeouts can see a loaded machine:
    100 ms instead of the map's tens, far above what a starved thread waits. These tests are about
    what faults do, not about timing."""
    return drive_map.with_timeout(PATIENT_S)


class Timeline:
    """A scripted test: a loop against a drive server in another thread, and events on cue."""

    def __init__(self, transport: Transport, drive_map: str | None = None, lockstep: bool = True) -> None:
        drive_map = drive_map or ("odrive-ascii" if transport == "serial" else "sim")
        self.rig = Rig.build(MACHINE, ATHLETE, planned_reps=8)
        self.host = SimDriveHost(load_drive_map(drive_map), MACHINE, self.rig, transport, lockstep)
        self.clock = SimulatedClock()
        self.loop = ControlLoop(MACHINE, PROFILE)
        self.drive = make_drive(MACHINE, patient(load_drive_map(drive_map)), self.host.start(), self.clock)
        self.frames: list[Frame] = []
        self.loop.observers.on_frame.append(self.frames.append)

    def run(self, cue: Callable[[ControlLoop, float], bool], max_s: float) -> None:
        async def go() -> None:
            await self.drive.connect()
            self.loop.start_set()
            await self.loop.run(self.drive, self.clock, lambda lp: cue(lp, self.clock.now()), max_s)

        try:
            asyncio.run(go())
        finally:
            self.host.stop()

    def first_frame_after(self, t: float) -> int:
        return next(i for i, f in enumerate(self.frames) if f.time_s >= t)


def mid_eccentric(loop: ControlLoop, rep: int = 2) -> bool:
    return loop.lifecycle.tracker.rep_index == rep and loop.lifecycle.tracker.phase.value == "eccentric"


@pytest.mark.parametrize("transport", ["modbus-tcp", "modbus-rtu", "serial"])
def test_drive_killed_mid_rep_means_zero_torque_within_three_periods(transport, tmp_path):
    t = Timeline(transport)
    killed: list[float] = []

    def cue(loop, now):
        if not killed and mid_eccentric(loop):
            t.host.kill()
            killed.append(now)
        return bool(killed) and now > killed[0] + 0.2

    t.run(cue, 60)
    assert t.loop.fault is not None
    after = t.frames[t.first_frame_after(killed[0]) :]
    zero_at = next(i for i, f in enumerate(after) if f.command_n == 0.0)
    assert zero_at <= 3
    assert all(f.command_n == 0.0 for f in after[zero_at:])
    kinds = {e.kind for e in t.loop.safety_events}
    assert kinds & {"drive_link_lost", "drive_fault"}


@pytest.mark.parametrize(
    ("transport", "fault"),
    [
        ("modbus-rtu", "garble_every"),
        ("modbus-tcp", "exception_every"),
        ("modbus-rtu", "drop_every"),
        ("serial", "garble_every"),
    ],
)
def test_occasional_bad_exchanges_are_counted_and_control_continues(transport, fault):
    t = Timeline(transport)
    setattr(t.host.servo.faults, fault, 149)  # odd: the line protocol alternates a query and a command
    t.run(lambda loop, now: len(loop.reps) >= 2, 60)
    assert len(t.loop.reps) == 2
    assert t.loop.fault is None
    assert t.loop.link is not None and t.loop.link.counters.transient >= 5


def test_latency_within_the_timeout_is_harmless():
    t = Timeline("modbus-tcp")
    t.host.servo.faults.latency_s = 0.001
    t.run(lambda loop, now: len(loop.reps) >= 1, 60)
    assert len(t.loop.reps) == 1 and t.loop.fault is None


@pytest.mark.parametrize("drive_map", ["sim", "stepperonline-a6-rs", "cia402-modbus"])
def test_a_drive_alarm_stops_the_set_and_its_text_is_shown(drive_map):
    t = Timeline("modbus-tcp", drive_map)
    raised: list[float] = []
    code = int(next(iter(t.drive.map.faults)), 0)  # type: ignore[attr-defined]

    def cue(loop, now):
        if not raised and mid_eccentric(loop, rep=1):
            t.host.servo.alarm(code)
            raised.append(now)
        return bool(raised) and now > raised[0] + 0.2

    t.run(cue, 60)
    text = t.drive.map.fault_text(code)  # type: ignore[attr-defined]
    alarms = [e for e in t.loop.safety_events if e.kind == "drive_alarm"]
    assert alarms and alarms[0].detail == text and "unknown" not in text
    assert t.loop.fault is not None and text in t.loop.fault
    assert t.frames[-1].command_n == 0.0


def test_reconnect_after_the_link_returns_and_load_only_through_a_new_start():
    t = Timeline("modbus-tcp")
    events: dict[str, float] = {}

    def cue(loop, now):
        if "killed" not in events and mid_eccentric(loop):
            t.host.kill()
            events["killed"] = now
        elif "killed" in events and "revived" not in events and now > events["killed"] + 1.0:
            t.host.revive()
            events["revived"] = now
        elif "revived" in events and "reset" not in events and loop.link and loop.link.link_up:
            still = t.frames and abs(t.frames[-1].velocity_mps) < 0.05
            if loop.gate.estop and still and now > events["revived"] + 0.5:
                loop.reset()  # only honoured at rest
            elif not loop.gate.estop:
                loop.start_set()
                events["reset"] = now
        return "reset" in events and now > events["reset"] + 8.0

    t.run(cue, 90)
    assert t.loop.link is not None and t.loop.link.counters.reconnects >= 1
    between = [f for f in t.frames if events["killed"] < f.time_s < events["reset"]]
    assert all(
        f.command_n <= MACHINE.limits.idle_tension_n for f in between if f.time_s > events["killed"] + 0.01
    )
    states = [f.set_state for f in t.frames if f.time_s > events["reset"]]
    assert "loading" in states, "the load came back only through the normal load-in"
    assert states.index("loading") < (states.index("active") if "active" in states else len(states))


def test_one_owner_per_bus():
    host = SimDriveHost(
        load_drive_map("sim"), MACHINE, Rig.build(MACHINE, ATHLETE, 1), "modbus-tcp", lockstep=True
    )
    link = host.start()
    first = make_drive(MACHINE, load_drive_map("sim"), link, SimulatedClock())
    second = make_drive(MACHINE, load_drive_map("sim"), link, SimulatedClock())

    async def go():
        await first.connect()
        try:
            with pytest.raises(Exception, match="already has an owner"):
                await second.connect()
        finally:
            await first.close()

    try:
        asyncio.run(go())
    finally:
        host.stop()


def test_a_client_that_is_not_ours_reads_the_simulated_drive_by_the_map():
    drive_map = load_drive_map("sim")
    host = SimDriveHost(drive_map, MACHINE, Rig.build(MACHINE, ATHLETE, 1), "modbus-tcp", lockstep=True)
    port = int(host.start().rsplit(":", 1)[1])
    f = drive_map.feedback
    assert f is not None

    async def go():
        client = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=1, retries=0)
        await client.connect()
        status = (await client.read_holding_registers(f.status.address, count=1)).registers[0]
        await client.write_register(drive_map.enable[0].address, drive_map.enable[0].value)
        running = (await client.read_holding_registers(f.status.address, count=1)).registers[0]
        block = await client.read_holding_registers(f.position.address, count=2)
        client.close()
        return status, running, decode(block.registers, f.position)

    try:
        status, running, position = asyncio.run(go())
    finally:
        host.stop()
    assert status == 0 and running == 2
    assert position == pytest.approx(host.servo.position_rad(), abs=0.01)


def test_the_drives_own_watchdog_turns_torque_off_when_commands_stop():
    drive_map = load_drive_map("sim")
    host = SimDriveHost(drive_map, MACHINE, Rig.build(MACHINE, ATHLETE, 1), "modbus-tcp", lockstep=False)
    link = host.start()
    drive = make_drive(MACHINE, drive_map, link, SimulatedClock())
    assert isinstance(drive, ModbusDrive)

    async def go():
        await drive.connect()
        await drive.write(-2.0)  # tension on a machine whose positive counts pay out
        await drive.read()
        assert host.servo.applied_torque_nm == pytest.approx(-2.0, abs=0.01)
        await asyncio.sleep(3 * drive_map.watchdog.timeout_s)  # type: ignore[union-attr]
        host.servo.catch_up()
        torque_after = host.servo.applied_torque_nm
        with pytest.raises(Exception, match="communication watchdog expired"):
            await drive.read()
        await drive.close()
        return torque_after

    try:
        assert asyncio.run(go()) == 0.0
    finally:
        host.stop()
