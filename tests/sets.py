"""Shared helpers for closed-loop set tests: one cached simulation per setup (`run_set`), or a fresh
one (`simulate_set`) where a test changes the controller around it."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from controller.config import load_athlete, load_drive_map, load_machine, load_profile
from controller.core.reps import RepMetrics
from simulator.scenarios import scenario_by_name
from simulator.simulate import SimulationResult, SimulationSetup, simulate


def simulate_set(
    profile: str,
    athlete: str = "trained",
    reps: int | None = None,
    load_kg: float | None = None,
    scenario: str | None = None,
    machine: str = "home-gym-2kw",
    transport: str = "inproc",
    link_timeout_s: float | None = None,
) -> SimulationResult:
    """`link_timeout_s`: the reply timeout of the transport's reference drive map, instead of its own."""
    drive_map = None
    if link_timeout_s is not None:
        drive_map = load_drive_map("odrive-ascii" if transport == "serial" else "sim").with_timeout(
            link_timeout_s
        )
    setup = SimulationSetup(
        machine=load_machine(machine),
        profile=load_profile(profile),
        athlete=load_athlete(athlete),
        reps=reps,
        load_kg=load_kg,
        scenario=scenario_by_name(scenario) if scenario else None,
        transport=transport,
        drive_map=drive_map,
    )
    return simulate(setup, keep_frames=True)


run_set = lru_cache(maxsize=16)(simulate_set)


def made_rep(**changes: Any) -> RepMetrics:
    """A plausible rep, changed where a test says: 0.6 m, 1 s up at 500 N and 0.5 m/s, 3 s down at
    650 N, counted and unassisted."""
    plausible: dict[str, Any] = {
        "index": 1,
        "concentric_s": 1.0,
        "eccentric_s": 3.0,
        "rom_m": 0.6,
        "mean_concentric_force_n": 500.0,
        "mean_eccentric_force_n": 650.0,
        "peak_force_n": 780.0,
        "mean_concentric_velocity_mps": 0.5,
        "mean_propulsive_velocity_mps": 0.55,
        "peak_concentric_velocity_mps": 0.8,
        "mean_concentric_power_w": 250.0,
        "time_under_tension_s": 4.2,
        "velocity_loss_pct": 0.0,
        "peak_speed_mps": 0.8,
        "longest_stall_s": 0.0,
        "assisted": False,
        "failed": False,
    }
    return RepMetrics(**(plausible | changes))
