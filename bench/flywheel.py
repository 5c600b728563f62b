"""The virtual flywheel against the simulated trained lifter, beside published flywheel figures.

    .venv/bin/python bench/flywheel.py [--machine home-gym-2kw] [--inertias 0.025,0.050,0.075]

Per inertia, one set (2 spin-up reps, 6 measured) at maximal effort both ways (simulator/
flywheel_intent.py): concentric mean and peak power, eccentric mean and peak power, their peak-power
ratio, mean concentric velocity, and the safety events of the set. Then the same on the machine as
it would be with a 3 m/s reel-in limit instead of its 1.5 m/s, to show what the limit costs: the disc
can give back only what it carries at the speed the machine may reel in (here 0.9 x the drive's
1.2 m/s), and a lift spins a light disc well past that. Then a let-go at the top of rep 4 (the disc
at its fastest): the time from the hand opening to the gate's cut and to the idle tension, and the
fastest the handle came home.

Published (squat, kBox): McErlain-Naylor & Beato 2021 (J Sports Sci 39:1136, 0.029-0.121 kg*m^2):
velocities fall as the inertia rises, the eccentric:concentric peak-power ratio rises with it, peak
power does not change significantly. Campo et al. 2025 (JSCR, belt squat, 2 pre-reps then 12, at
0.025/0.050/0.070 kg*m^2): at 0.070, concentric 449-484 W and eccentric 503-587 W (ratio ~1.1-1.2).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from statistics import fmean

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from controller.config import load_athlete, load_machine, load_profile
from controller.config.machine import MachineConfig
from controller.core.reps import RepMetrics
from simulator.scenarios import Scenario, ScenarioKind
from simulator.simulate import SimulationResult, SimulationSetup, simulate

LET_GO = Scenario(ScenarioKind.RELEASE_AT_TOP, rep=4, phase="top", at_fraction=0.0)


def flywheel_set(
    machine: MachineConfig, inertia: float, scenario: Scenario | None = None
) -> SimulationResult:
    profile = load_profile("flywheel")
    profile = profile.model_copy(
        update={"flywheel": profile.flywheel.model_copy(update={"inertia_kgm2": inertia}), "sets": 1}
    )
    setup = SimulationSetup(machine, profile, load_athlete("trained"), scenario=scenario)
    return simulate(setup, keep_frames=scenario is not None)


def row(label: str, inertia: float, result: SimulationResult) -> str:
    measured: list[RepMetrics] = [r for r in result.reps if not r.pre_rep and not r.failed]
    if not measured:
        return f"{label:<26} {inertia:6.3f}  no measured rep; events {[e.kind for e in result.safety_events]}"

    def mean(f: str) -> float:
        return fmean(getattr(r, f) for r in measured)

    ratio = mean("peak_eccentric_power_w") / mean("peak_concentric_power_w")
    events = ", ".join(e.kind for e in result.safety_events) or "none"
    powers = " ".join(
        f"{mean(f):7.0f}"
        for f in (
            "mean_concentric_power_w",
            "peak_concentric_power_w",
            "mean_eccentric_power_w",
            "peak_eccentric_power_w",
        )
    )
    speed = mean("mean_concentric_velocity_mps")
    return f"{label:<26} {inertia:6.3f} {len(measured):5d} {powers} {ratio:6.2f} {speed:6.2f}  {events}"


def let_go(machine: MachineConfig, inertia: float) -> str:
    result = flywheel_set(machine, inertia, LET_GO)
    i = result.athlete_phase.index("released")
    opened = result.frames[i].time_s
    level = max(f.command_n for f in result.frames[max(0, i - 50) : i + 1])
    cut = next((e.time_s for e in result.safety_events if e.kind == "release"), None)
    if cut is None:
        return f"  I {inertia:.3f}: {level:.0f} N as the hand opened; NO CUT"
    idle = machine.limits.idle_tension_n
    at_idle = next(f.time_s for f in result.frames[i:] if f.time_s >= cut and f.command_n <= idle + 0.5)
    on_the_open_hand = max(f.command_n for f in result.frames[i:] if f.time_s < cut)
    speeds = result.true_handle_speed_mps
    coming_in = next(result.frames[k].time_s for k in range(i, len(speeds)) if speeds[k] < -0.1)
    times = (("in", coming_in), ("cut", cut), ("idle", at_idle))
    ms = {name: f"{(t - opened) * 1e3:.0f} ms" for name, t in times}
    return (
        f"  I {inertia:.3f}: {level:.0f} N as the hand opened, up to {on_the_open_hand:.0f} N on the open "
        f"hand while the catch stopped the handle going out; it turned to come in at {ms['in']}; the gate "
        f"cut at {ms['cut']}, to the idle {idle:.0f} N ({100 * idle / level:.0f} % of the level) at "
        f"{ms['idle']}; the handle came home at {max(-v for v in speeds[i:]):.2f} m/s at most"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--machine", default="home-gym-2kw")
    parser.add_argument("--inertias", default="0.025,0.050,0.075")
    args = parser.parse_args()
    machine = load_machine(args.machine)
    faster = machine.model_copy(
        update={"limits": machine.limits.model_copy(update={"max_retract_speed_mps": 3.0})}
    )
    inertias = [float(i) for i in args.inertias.split(",")]
    print(f"flywheel, trained lifter (maximal both ways), {machine.name}; means of the measured reps")
    print(f"{'machine':<26} {'I':>6} {'reps':>5} {'Pcon':>7} {'Pcon pk':>7} {'Pecc':>7} {'Pecc pk':>7} "
          f"{'ecc:con':>6} {'MCV':>6}  safety events")  # fmt: skip
    for label, built in ((machine.name, machine), (f"{machine.name}, 3 m/s reel-in", faster)):
        for inertia in inertias:
            print(row(label, inertia, flywheel_set(built, inertia)), flush=True)
    print("published: velocity falls with inertia, ecc:con peak power rises with it (McErlain-Naylor 2021);")
    print("  0.070 kg*m^2 belt squat: concentric 449-484 W, eccentric 503-587 W (Campo 2025)")
    print(f"let-go at the top of rep 4, {machine.name} (promise: under 5 % of the level within 50 ms):")
    for inertia in inertias:
        print(let_go(machine, inertia), flush=True)


if __name__ == "__main__":
    main()
