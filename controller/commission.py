"""`eccentrix commission`: run the commissioning (commissioner.py) against the machine's drive, or
against the simulator with hidden figures; print the report, and write a commissioned machine file
(the original with what was measured, its comments kept) only when every check passed."""

from __future__ import annotations

import asyncio
import random
import sys
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import tomlkit

from controller.config import MachineConfig, load_drive_map, resolve
from controller.drive import Drive
from controller.drive.factory import make_drive
from controller.runtime.commissioner import Commissioner, Commissioning
from controller.timing import MonotonicClock
from simulator.commissioning import commission_simulated, hidden_truth

_TASKS = {
    "pull": "Pull the handle out to the {mark:.2f} m mark, hold it still there, then press Enter.",
    "let go": "Let go of the handle (it will be wound in gently), then press Enter.",
}


class ConsoleOperator:
    """The person at the machine, told what to do on the terminal, answering with Enter."""

    def __init__(self) -> None:
        self._done = threading.Event()

    def ask(self, task: str, mark_m: float) -> None:
        self._done.clear()
        print(_TASKS[task].format(mark=mark_m), flush=True)
        threading.Thread(target=self._wait_for_enter, daemon=True).start()

    def finished(self, now_s: float) -> bool:
        return self._done.is_set()

    def _wait_for_enter(self) -> None:
        sys.stdin.readline()
        self._done.set()


@dataclass(frozen=True, slots=True)
class CommissionSetup:
    machine: MachineConfig
    machine_ref: str
    out: Path
    mark_m: float = 1.0
    link: str | None = None
    simulate_seed: int | None = None  # commission the simulator, its figures hidden


def commission(setup: CommissionSetup) -> Commissioning:
    if setup.simulate_seed is not None:
        built = hidden_truth(setup.machine, random.Random(setup.simulate_seed))
        result = asyncio.run(commission_simulated(setup.machine, built, setup.mark_m))
        print(f"(simulator, hidden figures from seed {setup.simulate_seed}: {_figures(built)})")
        return result
    link = setup.link or setup.machine.drive.link
    if setup.machine.drive.kind == "sim" or link is None:
        raise ValueError("commission: the machine file names no real drive; use --simulate, or give a link")
    drive_map = load_drive_map(setup.machine.drive.map)
    clock = MonotonicClock()

    def connect(believed: MachineConfig) -> Drive:
        return make_drive(believed, drive_map, link, clock)

    return asyncio.run(Commissioner(setup.machine, connect, clock, ConsoleOperator(), setup.mark_m).run())


def write_files(setup: CommissionSetup, result: Commissioning) -> list[Path]:
    report = setup.out.with_suffix(".report.txt")
    report.write_text(result.report() + "\n")
    if not result.ok:
        return [report]
    setup.out.write_text(commissioned_toml(resolve("machines", setup.machine_ref).read_text(), result))
    return [setup.out, report]


def commissioned_toml(original: str, result: Commissioning) -> str:
    done = result.commissioned()
    document = tomlkit.parse(original)
    figures: dict[str, dict[str, str | float]] = {
        "spool": {"payout": done.spool.payout, "inertia_kgm2": _round(done.spool.inertia_kgm2)},
        "friction": {
            "coulomb_n": _round(done.friction.coulomb_n),
            "viscous_n_s_per_m": _round(done.friction.viscous_n_s_per_m),
        },
    }
    if done.motor.rotor_inertia_kgm2 != result.machine.motor.rotor_inertia_kgm2:
        figures["motor"] = {"rotor_inertia_kgm2": _round(done.motor.rotor_inertia_kgm2)}
    for section, values in figures.items():
        table = document.setdefault(section, tomlkit.table())
        for key, value in values.items():
            measured = tomlkit.item(value)
            measured.comment("commissioned")  # the old comment said where the guess came from
            table[key] = measured
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"# Commissioned {stamp} by `eccentrix commission`\n" + tomlkit.dumps(document)


def _round(value: float) -> float:
    return float(f"{value:.4g}")


def _figures(machine: MachineConfig) -> str:
    return (
        f"payout {machine.spool.payout}, reflected inertia {machine.reflected_mass_kg:.3f} kg, "
        f"Coulomb {machine.friction.coulomb_n:.2f} N, viscous {machine.friction.viscous_n_s_per_m:.2f} N*s/m"
    )
