"""Every shipped Modbus drive map against a fake of that drive built from the vendor's register
semantics on a Modbus server of our own hand (tests/fakes): nothing in these fakes shares our
encode/decode, our drive server or our sign convention. What they measure is what a real drive
would do with our words: the tension they make, the positions we read, the power stage's state."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable

import pytest

from controller.config import DriveMap, MachineConfig, load_drive_map, load_machine, load_profile
from controller.core.loop import ControlLoop, Frame
from controller.drive import DriveFault
from controller.drive.factory import make_drive
from controller.timing import SimulatedClock
from tests.fakes.modbus_wire import RtuServer, TcpServer
from tests.fakes.vendor_drives import A6, Built, Cia402, DeltaB2, FakeServo, Path, held_at

MAPS = {
    "stepperonline-a6-rs": (A6, 100.0),
    "cia402-modbus": (Cia402, 100.0),
    "delta-asda-b2": (DeltaB2, 50.0),
}


def machine_for(map_name: str, payout: str = "positive") -> MachineConfig:
    base = load_machine("a6-diy")
    rate = MAPS[map_name][1]
    return base.model_copy(
        update={
            "spool": base.spool.model_copy(update={"payout": payout}),
            "control": base.control.model_copy(update={"rate_hz": rate}),
            "limits": base.limits.model_copy(update={"stale_feedback_s": 4.0 / rate}),
        }
    )


def out_and_back(t: float) -> tuple[float, float]:
    """Held still at 5 cm for a second (the set loads), then out to 45 cm and back every 2 s."""
    if t < 1.0:
        return 0.05, 0.0
    w = math.pi
    return 0.05 + 0.2 * (1 - math.cos(w * (t - 1.0))), 0.2 * w * math.sin(w * (t - 1.0))


def contract_map(map_name: str, timeout_s: float | None = None) -> DriveMap:
    """The shipped map, less the silence a real bus needs between frames (the Delta's 10 ms): the
    fakes answer at once, and these tests are about what the words mean, not bus timing."""
    drive_map = load_drive_map(map_name)
    if timeout_s is not None:
        drive_map = drive_map.with_timeout(timeout_s)
    return drive_map.model_copy(update={"link": drive_map.link.model_copy(update={"silence_s": 0.0})})


def fake_for(map_name: str, machine: MachineConfig, path: Path, payout: int = 1) -> FakeServo:
    built = Built(machine.metres_per_rad, machine.motor.rated_torque_nm, payout)
    fake: FakeServo = MAPS[map_name][0](built, path, 1.0 / machine.control.rate_hz)
    return fake


def run_set(
    map_name: str,
    fake: FakeServo,
    machine: MachineConfig,
    seconds: float,
    transport: str = "tcp",
    during: Callable[[float], None] = lambda _t: None,
    late_at: float | None = None,
    timeout_s: float | None = None,
) -> tuple[ControlLoop, list[Frame]]:
    async def go() -> tuple[ControlLoop, list[Frame]]:
        server = TcpServer(fake) if transport == "tcp" else RtuServer(fake)
        link = await server.start()
        if transport == "rtu":
            link += "?parity=N"
        clock = SimulatedClock()
        drive_map = contract_map(map_name, timeout_s)
        drive = make_drive(machine, drive_map, link, clock)
        loop = ControlLoop(machine, load_profile("constant"), load_kg=8.0)
        frames: list[Frame] = []
        loop.observers.on_frame.append(frames.append)

        def until(_: ControlLoop) -> bool:
            nonlocal late_at
            during(fake.time_s)
            if late_at is not None and fake.time_s >= late_at:
                late = 1.5 * drive_map.link.timeout_s
                server.late_s = [late, late]  # two replies in a row past their timeout
                late_at = None
            return fake.time_s >= seconds

        try:
            await drive.connect()
            loop.start_set()
            await loop.run(drive, clock, until, seconds + 10.0)
        finally:
            await drive.close()
            await server.stop()
        return loop, frames

    return asyncio.run(go())


@pytest.mark.parametrize("map_name", MAPS)
def test_our_torque_words_pull_the_cable_in_and_never_past_the_limit(map_name):
    machine = machine_for(map_name)
    fake = fake_for(map_name, machine, out_and_back)
    loop, _ = run_set(map_name, fake, machine, seconds=4.0)
    assert loop.fault is None, loop.fault
    assert min(fake.tensions_n) >= 0.0, "a torque word paid the cable out"
    assert max(fake.tensions_n) <= machine.limits.max_tension_n + 1.0
    assert max(fake.tensions_n) > 0.8 * 8.0 * 9.80665, "the set never loaded"
    limit = machine.max_tension_torque_nm
    assert all(abs(limit - x) < 0.01 * limit for x in fake.limit_nm), "drive limits are the tension's"


@pytest.mark.parametrize("map_name", MAPS)
def test_the_positions_we_read_are_where_the_handle_is(map_name):
    machine = machine_for(map_name)
    fake = fake_for(map_name, machine, out_and_back)
    _, frames = run_set(map_name, fake, machine, seconds=3.0)
    read = [(f.feedback.time_s, f.position_m) for f in frames if f.feedback is not None]
    assert len(read) > 100
    # The fake's clock runs on our torque writes, so it may be one period off the loop's.
    period = 1.0 / machine.control.rate_hz
    worst = max(
        min(abs(position - out_and_back(t + k * period)[0]) for k in (-1, 0, 1)) for t, position in read[5:]
    )
    assert worst < 0.002, f"read position off by {worst * 1e3:.1f} mm"


@pytest.mark.parametrize("map_name", MAPS)
def test_enabled_on_connect_disabled_at_the_end_and_nothing_saved_to_eeprom(map_name):
    machine = machine_for(map_name)
    fake = fake_for(map_name, machine, held_at(0.05))
    run_set(map_name, fake, machine, seconds=1.0)
    assert fake.enables == [True, False]
    assert getattr(fake, "eeprom_writes", 0) == 0


def test_cia402_polarity_is_set_at_connect_not_trusted():
    machine = machine_for("cia402-modbus")
    built = Built(machine.metres_per_rad, machine.motor.rated_torque_nm)
    fake = Cia402(built, out_and_back, 1.0 / machine.control.rate_hz, polarity=0xC0)
    loop, _ = run_set("cia402-modbus", fake, machine, seconds=3.0)
    assert loop.fault is None and fake.polarity == 0
    assert min(fake.tensions_n) >= 0.0


@pytest.mark.parametrize("map_name", MAPS)
def test_a_machine_told_the_wrong_payout_never_loads_and_says_why(map_name):
    machine = machine_for(map_name, payout="negative")  # built the other way round
    fake = fake_for(map_name, machine, out_and_back)
    fake.built.payout = 1
    loop, _ = run_set(map_name, fake, machine, seconds=3.0)
    assert loop.fault is not None and "check [spool] payout" in loop.fault
    assert min(fake.tensions_n) >= -machine.limits.idle_tension_n - 1.0, "no more than the take-up, once"
    assert fake.enables[-1] is False and not fake.enabled


@pytest.mark.parametrize("map_name", MAPS)
@pytest.mark.parametrize("fault", ["alarm", "stall", "implausible"])
def test_every_fault_leaves_the_drive_disabled(map_name, fault):
    machine = machine_for(map_name)
    fake = fake_for(map_name, machine, out_and_back)
    injected: list[bool] = []

    def inject(t: float) -> None:
        if t < 2.0 or injected:
            return
        injected.append(True)
        if fault == "alarm":
            fake.fault_code = 0x0201
        elif fault == "stall":
            fake.silent_until = time.monotonic() + 0.3  # then it answers again
        else:
            fake.path = held_at(50.0)

    loop, _ = run_set(map_name, fake, machine, seconds=3.0, during=inject)
    assert loop.fault is not None
    assert not fake.enabled or fake.fault_code, f"{fault}: the power stage was left on"
    if fault == "implausible":
        assert "past the" in loop.fault and "register" in loop.fault and map_name in loop.fault


@pytest.mark.parametrize("map_name", ["stepperonline-a6-rs", "cia402-modbus"])
def test_over_rtu_too(map_name):
    machine = machine_for(map_name)
    fake = fake_for(map_name, machine, out_and_back)
    loop, _ = run_set(map_name, fake, machine, seconds=3.0, transport="rtu")
    assert loop.fault is None, loop.fault
    assert min(fake.tensions_n) >= 0.0 and max(fake.tensions_n) > 0.8 * 8.0 * 9.80665


@pytest.mark.parametrize("map_name", MAPS)
def test_a_drive_stalled_as_the_run_ends_is_disabled_once_it_answers(map_name):
    """Ctrl-C, SIGTERM or a fault end the loop while the drive is not answering: one disable
    attempt is lost on the wire, so it is retried until the drive says its power stage is off."""
    machine = machine_for(map_name)
    fake = fake_for(map_name, machine, out_and_back)

    def stall_at_the_end(t: float) -> None:
        if t >= 2.0 and not fake.silent_until:
            fake.silent_until = time.monotonic() + 0.3

    run_set(map_name, fake, machine, seconds=2.0, during=stall_at_the_end)
    assert fake.enables[-1] is False and not fake.enabled


@pytest.mark.parametrize("transport", ["tcp", "rtu"])
def test_late_replies_are_discarded_not_counted_against_the_next_exchanges(transport):
    """Two replies in a row come after their timeout (a busy host): two failed exchanges, and the
    next ones are on time again; never a fault, and never one request answered by another's reply
    (RTU has no transaction id: the CiA 402 map reads five blocks a cycle, all function 03)."""
    map_name = "cia402-modbus"
    machine = machine_for(map_name)
    fake = fake_for(map_name, machine, out_and_back)
    # Timeouts far above what a loaded machine's scheduling adds, so only the injected replies are late.
    loop, frames = run_set(
        map_name, fake, machine, seconds=3.0, transport=transport, late_at=1.5, timeout_s=0.2
    )
    assert loop.fault is None, loop.fault
    assert loop.link is not None and 1 <= loop.link.counters.transient <= 3
    period = 1.0 / machine.control.rate_hz
    read = [(f.feedback.time_s, f.position_m) for f in frames if f.feedback is not None]
    worst = max(
        min(abs(position - out_and_back(t + k * period)[0]) for k in (-1, 0, 1)) for t, position in read[5:]
    )
    assert worst < 0.002, f"a reply to another request was taken for this one: {worst * 1e3:.0f} mm off"


SHIPPED_MACHINES = ["a6-diy", "a6-rs485", "home-gym-2kw"]
SWEEP_NM = [-1e9, -50.0, -19.1, -3.81, -1.0, -0.01, -0.0, 0.0, 0.01, 1.0, 3.81, 19.1, 50.0, 1e9]


@pytest.mark.parametrize("machine_name", SHIPPED_MACHINES)
@pytest.mark.parametrize("map_name", MAPS)
@pytest.mark.parametrize("payout", ["positive", "negative"])
def test_every_torque_word_any_request_makes_is_tension_within_the_limit(machine_name, map_name, payout):
    """Whatever reaches a drive's write (a bug upstream, a NaN, a huge number), the words the drive
    receives, decoded as the vendor defines them, pull the cable in and never past max_tension_n."""
    base = load_machine(machine_name)
    machine = base.model_copy(update={"spool": base.spool.model_copy(update={"payout": payout})})
    fake = fake_for(map_name, machine, held_at(0.05), payout=1 if payout == "positive" else -1)
    requests = [*SWEEP_NM, *(x * machine.max_tension_torque_nm for x in (-1.01, -0.5, 0.5, 1.01))]

    async def go() -> None:
        server = TcpServer(fake)
        drive = make_drive(machine, contract_map(map_name), await server.start(), SimulatedClock())
        try:
            await drive.connect()
            for torque in [*requests, math.nan, math.inf, -math.inf]:
                await drive.write(torque)
        finally:
            await drive.close()
            await server.stop()

    asyncio.run(go())
    # The references as written, before the drive's own limit registers could hide anything.
    pulled = [-fake.built.payout * t / machine.metres_per_rad for t in fake.torque_writes]
    assert len(pulled) >= len(requests)
    limit = machine.limits.max_tension_n
    quantum = fake.built.rated_torque_nm * 0.01 / machine.metres_per_rad  # the coarsest unit: Delta's 1 %
    assert min(pulled) >= 0.0, "a torque word would pay the cable out"
    assert max(pulled) <= limit + quantum, f"{max(pulled):.1f} N over the {limit:.0f} N limit"
    assert max(pulled) >= limit - quantum, "the sweep should reach the limit"


def test_a_drive_that_refuses_a_setup_write_is_never_enabled():
    """An A6 whose control mode is locked (another master, a firmware that differs) would ignore
    every torque word in position mode: refused at connect, by address."""

    class LockedA6(A6):
        def _write_one(self, address: int, value: int) -> None:
            if address != 0x0000:
                super()._write_one(address, value)

    machine = machine_for("stepperonline-a6-rs")
    fake = LockedA6(Built(machine.metres_per_rad, machine.motor.rated_torque_nm), held_at(0.05), 0.01)

    async def go() -> None:
        server = TcpServer(fake)
        drive = make_drive(
            machine, load_drive_map("stepperonline-a6-rs"), await server.start(), SimulatedClock()
        )
        try:
            with pytest.raises(DriveFault, match=r"0x0000 = 0 after set-up wrote 2"):
                await drive.connect()
        finally:
            await drive.close()
            await server.stop()

    asyncio.run(go())
    assert not fake.enables, "never enabled"


@pytest.mark.parametrize("map_name", MAPS)
def test_an_exception_in_the_loop_leaves_the_drive_disabled(map_name):
    machine = machine_for(map_name)
    fake = fake_for(map_name, machine, out_and_back)

    def bug(t: float) -> None:
        if t >= 2.0:
            raise RuntimeError("a bug in the loop's thread")

    with pytest.raises(RuntimeError, match="a bug"):
        run_set(map_name, fake, machine, seconds=3.0, during=bug)
    assert fake.enables[-1] is False and not fake.enabled
