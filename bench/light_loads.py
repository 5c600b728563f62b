"""Light loads on the machine's own feel: does every rep count, with no cut, and does a let-go still cut?

    .venv/bin/python bench/light_loads.py [--machine home-gym-2kw] [--loads 2,4,6,8,10,12,16]

For each load x simulated athlete x profile (constant, eccentric-only, and the workout's first
warm-up: constant, 8 reps), a set of 3 at the athlete's own tempo (the trained athlete lifts light
loads at up to 2.2 m/s): reps counted of reps the athlete did, slack cuts (the gate's "release"
while the person still held) and how many of them the hand took up again so the set went on at once
(slack_taken_up), load-ins (1: the set loaded once and stayed loaded). Then the same
load let go mid-rep: the time from the hand opening to the cable's tension under 5 % of the load
(below the gate's arming pull, 75 N on the 2 kW build, a let-go is not cut: the handle comes home
under the speed cap with no more than that pull).
Goals (issue 19): every rep counted, no cut, from 2 kg up; a let-go cut within 50 ms.
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from controller.config import load_athlete, load_machine, load_profile
from controller.config.machine import MachineConfig
from controller.config.profile import ProfileConfig
from controller.core.safety import GateLimits
from controller.units import kg_to_newtons
from simulator.scenarios import scenario_by_name
from simulator.simulate import SimulationResult, SimulationSetup, simulate

ATHLETES = ("trained", "rehab-patient")
REPS = 3


def profiles(load_kg: float) -> dict[str, ProfileConfig]:
    return {
        "constant": load_profile("constant").model_copy(update={"load_kg": load_kg, "reps": REPS}),
        "eccentric-only": load_profile("eccentric-only").model_copy(
            update={"load_kg": load_kg, "reps": REPS}
        ),
        "warm-up": load_profile("constant").model_copy(update={"load_kg": load_kg, "reps": 8}),
    }


def done_by_athlete(result: SimulationResult) -> int:
    """Reps the simulated person lowered to the bottom: the truth the counter is held to."""
    phases = result.athlete_phase
    return sum(1 for was, now in itertools.pairwise(phases) if was == "eccentric" and now == "bottom")


def slack_cuts(result: SimulationResult) -> int:
    """The gate's cuts while the person still held the handle (not a real let-go: a patient who
    walks the handle home mid-set and opens the hand is rightly cut)."""
    times = [f.time_s for f in result.frames]
    return sum(
        1
        for e in result.safety_events
        if e.kind == "release" and result.athlete_phase[bisect.bisect_left(times, e.time_s)] != "released"
    )


def load_ins(result: SimulationResult) -> int:
    states = [f.set_state for f in result.frames]
    return sum(1 for was, now in itertools.pairwise(states) if was != "loading" and now == "loading")


def let_go_cut_ms(machine: MachineConfig, profile: ProfileConfig, athlete: str) -> float:
    setup = SimulationSetup(
        machine, profile, load_athlete(athlete), scenario=scenario_by_name("release-mid-rep")
    )
    result = simulate(setup, keep_frames=True)
    load_n = kg_to_newtons(profile.load_kg)
    opened = result.athlete_phase.index("released")
    t0 = result.frames[opened].time_s
    low = next(i for i in range(opened, len(result.frames)) if result.true_tension_n[i] < 0.05 * load_n)
    return (result.frames[low].time_s - t0) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--machine", default="home-gym-2kw")
    parser.add_argument("--loads", default="2,4,6,8,10,12,16")
    args = parser.parse_args()
    machine = load_machine(args.machine)
    print(
        f"{machine.name}: load x athlete x profile -> reps counted / done, slack cuts, load-ins; let-go cut"
    )
    for load_kg in (float(x) for x in args.loads.split(",")):
        for athlete in ATHLETES:
            cells = []
            for name, profile in profiles(load_kg).items():
                result = simulate(SimulationSetup(machine, profile, load_athlete(athlete)), keep_frames=True)
                cuts = slack_cuts(result)
                taken_up = sum(1 for e in result.safety_events if e.kind == "slack_taken_up")
                failed = sum(1 for r in result.reps if r.failed)
                counted = (
                    f"{len(result.reps) - failed} of {done_by_athlete(result)} done ({profile.reps} planned)"
                )
                slack = f"{cuts} cuts ({taken_up} taken up)"
                cells.append(f"{name} {counted}, {slack}, {load_ins(result)} load-in")
            if kg_to_newtons(load_kg) > GateLimits.of(machine).release_arm_n:
                cut = f"let-go cut {let_go_cut_ms(machine, profiles(load_kg)['constant'], athlete):.0f} ms"
            else:
                cut = "let-go: below the arming pull, retracts under the speed cap"
            print(f"{load_kg:4.0f} kg {athlete:13s} | " + " | ".join(cells) + f" | {cut}")


if __name__ == "__main__":
    main()
