"""Real-time pacing of the control loop with the in-process simulated drive.

    .venv/bin/python bench/loop_timing.py [--seconds 60] [--rates 500 1000]

Prints, per rate: how late each cycle started against its absolute deadline (p50/p99/max), missed
deadlines, the cost of one step, and the CPU share of the process (the loop sleeps, then spins the
last 0.5 ms before each deadline: see controller/timing.py).
"""

from __future__ import annotations

import argparse
import asyncio
import time

from controller.config import load_athlete, load_machine, load_profile
from controller.core.loop import ControlLoop
from controller.core.stats import LoopStats
from controller.timing import MonotonicClock
from simulator.rig import Rig
from simulator.simulated_drive import SimulatedDrive

GOAL_P99_US = 200.0


async def measure(rate_hz: float, seconds: float) -> tuple[LoopStats, float]:
    base = load_machine("home-gym-2kw")
    machine = base.model_copy(update={"control": base.control.model_copy(update={"rate_hz": rate_hz})})
    profile = load_profile("eccentric-overload-130").model_copy(update={"reps": 100})
    rig = Rig.build(machine, load_athlete("trained"), planned_reps=100)
    clock = MonotonicClock()
    loop = ControlLoop(machine, profile)
    drive = SimulatedDrive(rig, clock, loop.machine)
    await drive.connect()
    loop.start_set()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    stats = await loop.run(drive, clock, lambda lp: False, seconds)
    cpu_share = (time.process_time() - cpu0) / (time.perf_counter() - wall0)
    return stats, cpu_share


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--rates", type=float, nargs="+", default=[500.0, 1000.0])
    args = parser.parse_args()
    print(f"control loop, real time, in-process simulated drive, {args.seconds:.0f} s per rate")
    for rate in args.rates:
        stats, cpu = asyncio.run(measure(rate, args.seconds))
        verdict = ""
        if rate == 500.0:
            met = stats.period_p99_us <= GOAL_P99_US and stats.missed_deadlines == 0
            verdict = f"   goal p99 <= {GOAL_P99_US:.0f} us, 0 missed: {'met' if met else 'NOT met'}"
        print(
            f"  {rate:6.0f} Hz: {stats.cycles} cycles, period error p50 {stats.period_p50_us:6.1f} us  "
            f"p99 {stats.period_p99_us:6.1f} us  max {stats.period_max_us:7.1f} us, "
            f"missed {stats.missed_deadlines}, step p99 {stats.step_p99_us:5.1f} us, CPU {100 * cpu:4.1f} %"
            f"{verdict}"
        )


if __name__ == "__main__":
    main()
