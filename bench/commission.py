"""`eccentrix commission` against the simulator with hidden, randomly perturbed true figures (+/-40 %
on inertia and friction): how close identification comes, and whether every wrong sign, word order
and scale is named. Goals (issue 16): inertia within 10 %, friction within 15 %, every fault named.

    .venv/bin/python bench/commission.py [--seeds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from controller.cli import quiet_logging
from controller.config import MachineConfig, load_drive_map, load_machine
from simulator.commissioning import Link, commission_simulated, hidden_truth
from tests.test_commission import friction_at, served


def error_pct(measured: float, truth: float) -> float:
    return 100.0 * (measured - truth) / truth


def identification(machine: MachineConfig, seeds: int, link: Link | None) -> str:
    errors: list[tuple[float, float, float]] = []
    failed = 0
    for seed in range(seeds):
        built = hidden_truth(machine, random.Random(seed))
        result = asyncio.run(commission_simulated(machine, built, link=link))
        if not result.ok:
            failed += 1
            continue
        done = result.commissioned()
        errors.append(
            (
                error_pct(done.reflected_mass_kg, built.reflected_mass_kg),
                error_pct(done.friction.coulomb_n, built.friction.coulomb_n),
                error_pct(friction_at(done, 0.5), friction_at(built, 0.5)),
            )
        )
    worst = [max(abs(e[i]) for e in errors) for i in range(3)] if errors else [float("nan")] * 3
    where = "in process" if link is None else f"{link.transport}, map {link.claimed.name}"
    return (
        f"  {machine.name:12s} {where:34s} {seeds - failed}/{seeds} commissioned; worst error: "
        f"inertia {worst[0]:4.1f} %, Coulomb {worst[1]:4.1f} %, friction at 0.5 m/s {worst[2]:4.1f} %"
    )


def named(case: str, machine: MachineConfig, link: Link | None, flip: bool = False) -> str:
    built = hidden_truth(machine, random.Random(1), flip_payout=flip)
    result = asyncio.run(commission_simulated(machine, built, link=link))
    wrong = [f for f in result.findings if not f.ok]
    verdict = "commissioned (corrected)" if result.ok else "refused"
    detail = f"{wrong[0].check}: {wrong[0].detail}" if wrong else "nothing found"
    return f"  {case:34s} {verdict:24s} {detail}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", type=int, default=10)
    args = parser.parse_args()
    quiet_logging(verbose=False)
    a6_map = load_drive_map("stepperonline-a6-rs")
    print(
        f"identification, {args.seeds} machines each with hidden figures (goals: inertia 10 %, friction 15 %)"
    )
    print(identification(load_machine("a6-diy"), args.seeds, None))
    print(identification(load_machine("home-gym-2kw"), args.seeds, None))
    print(
        identification(load_machine("a6-rs485"), max(3, args.seeds // 2), Link("modbus-tcp", a6_map, a6_map))
    )
    print("what a wrong machine file or drive map gets (A6 map over Modbus TCP, 100 Hz)")
    a6 = load_machine("a6-rs485")
    print(named("payout the other way", load_machine("a6-diy"), None, flip=True))
    for case, drive in [
        ("32-bit words swapped", served(word_order="big")),
        ("131072 counts/turn, map says 10000", served(position=131072 / 10000)),
        ("position scale off by ten", served(position=10.0)),
        ("velocity in rpm, map says rad/s", served(velocity=9.549)),
    ]:
        print(named(case, a6, Link("modbus-tcp", a6_map, drive)))


if __name__ == "__main__":
    main()
