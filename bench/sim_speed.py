"""Real-time factor of the physics: one athlete on one machine at 1 kHz, on one core.

.venv/bin/python bench/sim_speed.py [--seconds 120]
"""

from __future__ import annotations

import argparse
import time

from controller.config import load_athlete, load_machine
from controller.units import kg_to_newtons
from simulator.calibration import Device, fit_strength
from simulator.rig import Rig

GOAL = 200.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=120.0, help="simulated time")
    args = parser.parse_args()
    machine, athlete = load_machine("home-gym-2kw"), load_athlete("trained")
    fit_strength(athlete, Device.of(machine))  # calibration is cached; time the physics only
    rig = Rig.build(machine, athlete, planned_reps=10_000)
    rig.plant.place(athlete.start_position_m)
    load = 0.5 * kg_to_newtons(athlete.one_rm_kg)
    rig.athlete.take_load_in_hand(load)
    torque = load / machine.tension_per_torque_n_per_nm
    steps = int(args.seconds / rig.plant.dt_s)
    start = time.process_time()
    for _ in range(steps):
        rig.advance(torque)
    cpu = time.process_time() - start
    factor = args.seconds / cpu
    print(f"physics: plant ({rig.plant.substeps} sub-step(s)/ms) + athlete at 1 kHz, one core")
    print(f"  simulated {args.seconds:.0f} s ({rig.athlete.completed_reps} reps) in {cpu:.2f} s CPU")
    verdict = "met" if factor >= GOAL else "NOT met"
    print(f"  real-time factor {factor:.0f}x   (goal >= {GOAL:.0f}x: {verdict})")
    print(f"  cost per physics step {cpu / steps * 1e6:.1f} us")


if __name__ == "__main__":
    main()
