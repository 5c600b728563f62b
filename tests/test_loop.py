"""The loop: commands, drive faults, determinism of step, and the run() pacing."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time

import pytest

from controller.config import load_athlete, load_machine, load_profile
from controller.core.loop import ControlLoop, lag_cause
from controller.core.stats import PeriodStats
from controller.drive import DriveFeedback, DriveTimeout
from controller.timing import MonotonicClock, SimulatedClock
from simulator.rig import Rig
from simulator.simulated_drive import SimulatedDrive

MACHINE = load_machine("home-gym-2kw")
PROFILE = load_profile("eccentric-overload-130")
ATHLETE = load_athlete("trained")


class FailingDrive(SimulatedDrive):
    """The simulated drive, whose link dies at a given time."""

    def __init__(self, *args, dies_at_s: float, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.dies_at_s = dies_at_s
        self.written: list[tuple[float, float]] = []

    async def read(self) -> DriveFeedback:
        if self.clock.now() >= self.dies_at_s:
            self.advance_to(self.clock.now())
            raise DriveTimeout("no reply within 5 ms")
        return await super().read()

    async def write(self, torque_nm: float) -> None:
        self.written.append((self.clock.now(), torque_nm))
        await super().write(torque_nm)


def build(drive_cls=SimulatedDrive, **kw):
    clock = SimulatedClock()
    rig = Rig.build(MACHINE, ATHLETE, planned_reps=8)
    loop = ControlLoop(MACHINE, PROFILE)
    drive = drive_cls(rig, clock, MACHINE, **kw)
    return loop, drive, clock, rig


def run(loop, drive, clock, until, max_s):
    async def go():
        await drive.connect()
        loop.start_set()
        return await loop.run(drive, clock, until, max_s)

    return asyncio.run(go())


def test_estop_mid_rep_zeroes_tension_at_once_and_latches():
    loop, drive, clock, _ = build()
    pressed: list[float] = []
    commands: list[tuple[float, float]] = []

    def press_mid_eccentric(frame):
        commands.append((frame.time_s, frame.command_n))
        if not pressed and frame.rep_index == 2 and frame.phase == "eccentric":
            loop.estop()
            pressed.append(frame.time_s)

    loop.observers.on_frame.append(press_mid_eccentric)
    run(loop, drive, clock, lambda lp: bool(pressed) and clock.now() > pressed[0] + 2.0, 60.0)
    after = [c for t, c in commands if t > pressed[0]]
    assert after[0] == 0.0 and all(c == 0.0 for c in after)
    assert loop.lifecycle.state.value == "stopped"
    assert any(e.kind == "estop" for e in loop.safety_events)
    loop.start_set()  # refused while the e-stop is latched
    assert loop.gate.estop


def test_dead_drive_means_zero_torque_within_three_periods_and_the_fault_is_kept():
    loop, drive, clock, _ = build(FailingDrive, dies_at_s=9.0)
    run(loop, drive, clock, lambda lp: clock.now() > 9.5, 60.0)
    assert loop.fault is not None and "no reply" in loop.fault
    kinds = [e.kind for e in loop.safety_events]
    assert "drive_fault" in kinds and "estop" in kinds
    torque_after = [(t, tq) for t, tq in drive.written if t >= 9.0]
    periods = [i for i, (_, tq) in enumerate(torque_after) if tq == 0.0]
    assert periods and periods[0] <= 3
    assert torque_after[-1][1] == 0.0


class StallingClock(SimulatedClock):
    """Simulated time in which the computer stalls once for `stall_s` (a VM pause, a page fault)."""

    def __init__(self, stall_at_s: float, stall_s: float) -> None:
        super().__init__()
        self.stall_at_s, self.stall_s = stall_at_s, stall_s

    def wait_until(self, deadline_s: float) -> None:
        super().wait_until(deadline_s)
        if self.stall_at_s <= self._now:
            self._now += self.stall_s
            self.stall_at_s = float("inf")


@pytest.mark.parametrize(("stall_at_s", "latched"), [(0.2, False), (6.0, True)])
def test_a_late_cycle_stops_a_loaded_set_but_not_a_machine_at_rest(stall_at_s, latched):
    loop, _, _, rig = build()
    clock = StallingClock(stall_at_s, stall_s=0.05)
    drive = SimulatedDrive(rig, clock, loop.machine)
    run(loop, drive, clock, lambda lp: clock.now() > stall_at_s + 0.5, 60.0)
    kinds = [e.kind for e in loop.safety_events]
    assert ("loop_lag" in kinds) is latched
    assert ("loop_lag_unloaded" in kinds) is not latched
    assert loop.gate.estop is latched
    assert (loop.fault is not None) is latched
    (late,) = [e for e in loop.safety_events if e.kind.startswith("loop_lag")]
    assert late.detail.startswith("50.0 ms behind its deadline, woken 50.0 ms late from its wait")


def test_a_late_cycle_says_whether_the_computer_or_the_thread_s_own_work_held_it_back():
    assert "the computer held it back" in lag_cause(0.035, 0.034)
    assert "other work in its thread ran long" in lag_cause(0.035, 0.001)


def test_step_is_deterministic_replay_of_recorded_feedback_gives_the_same_commands():
    loop, drive, clock, _ = build()
    feedback: list[DriveFeedback] = []
    commands: list[float] = []
    original_read = drive.read

    async def recording_read():
        fb = await original_read()
        feedback.append(fb)
        return fb

    drive.read = recording_read
    loop.observers.on_frame.append(lambda f: commands.append(f.command_n))
    run(loop, drive, clock, lambda lp: clock.now() > 20.0, 30.0)
    replayed = ControlLoop(MACHINE, PROFILE)
    replayed.start_set()
    again: list[float] = []
    period = 1.0 / MACHINE.control.rate_hz
    for i, fb in enumerate(feedback):
        again.append(replayed.step(i * period, fb).torque_nm / replayed.kinematics.torque_nm(1.0))
    assert len(again) == len(commands)
    assert again == pytest.approx(commands, abs=1e-9)
    assert [r.index for r in replayed.reps] == [r.index for r in loop.reps]


def test_realtime_mode_paces_the_loop_at_its_rate():
    loop, drive, _, _ = build()
    clock = MonotonicClock()
    drive.clock = clock
    stats = run(loop, drive, clock, lambda lp: False, 0.5)
    # every deadline is either run or counted as missed, however slow the machine is
    assert stats.cycles + stats.missed_deadlines == pytest.approx(0.5 * MACHINE.control.rate_hz, abs=2)
    assert stats.cycles > 0.25 * MACHINE.control.rate_hz
    assert stats.rate_hz == MACHINE.control.rate_hz


def eccentrix(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "controller.cli", *args], capture_output=True, text=True, timeout=300
    )


def test_simulate_json_follows_the_contract():
    done = eccentrix(
        "simulate", "--profile", "eccentric-overload-130", "--athlete", "trained", "--reps", "2", "--json"
    )
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert set(doc) >= {"profile", "athlete", "reps", "safety_events", "loop"}
    assert set(doc["loop"]) >= {"rate_hz", "period_p99_us", "missed_deadlines"}
    assert len(doc["reps"]) == 2
    fields = {
        "index",
        "concentric_s",
        "eccentric_s",
        "rom_m",
        "mean_concentric_force_n",
        "mean_eccentric_force_n",
        "peak_force_n",
        "mean_concentric_velocity_mps",
        "peak_concentric_velocity_mps",
        "mean_concentric_power_w",
        "time_under_tension_s",
        "velocity_loss_pct",
        "assisted",
    }
    assert fields <= set(doc["reps"][0])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--reps", "0"], "--reps 0: allowed 1 to 100"),
        (["--load-kg", "-5"], "--load-kg -5.0: allowed > 0 and <= 500"),
        (["--load-kg", "400"], "more than machine 'home-gym-2kw' can pull"),
        (["--profile", "nope"], "no file or name 'nope'"),
        (["--scenario", "meteor"], "invalid choice: 'meteor'"),
    ],
)
def test_simulate_rejects_bad_input_clearly(args, message):
    done = eccentrix("simulate", *args)
    assert done.returncode == 2
    assert message in done.stderr


def test_loop_figures_can_be_read_while_the_loop_thread_records_them():
    """A status asked for from another thread (tests/test_mqtt.py does) raised "deque mutated during
    iteration" in a few reads in a thousand with the GIL handed over often."""
    stats = PeriodStats(0.002, window=100)
    for _ in range(100):
        stats.record_step(1e-4)
    done = threading.Event()

    def loop_thread() -> None:
        while not done.is_set():
            stats.record_step(1e-4)
            stats.record_lateness(1e-5)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    writer = threading.Thread(target=loop_thread)
    writer.start()
    try:
        reads, until = 0, time.monotonic() + 1.0
        while time.monotonic() < until or reads < 100:
            stats.summary(last=50)
            reads += 1
    finally:
        done.set()
        writer.join()
        sys.setswitchinterval(interval)
