"""Shared helpers for closed-loop set tests: one cached simulation per setup."""

from __future__ import annotations

from functools import lru_cache

from controller.config import load_athlete, load_machine, load_profile
from simulator.scenarios import scenario_by_name
from simulator.simulate import SimulationResult, SimulationSetup, simulate


@lru_cache(maxsize=16)
def run_set(
    profile: str,
    athlete: str = "trained",
    reps: int | None = None,
    load_kg: float | None = None,
    scenario: str | None = None,
    machine: str = "home-gym-2kw",
    transport: str = "inproc",
) -> SimulationResult:
    setup = SimulationSetup(
        machine=load_machine(machine),
        profile=load_profile(profile),
        athlete=load_athlete(athlete),
        reps=reps,
        load_kg=load_kg,
        scenario=scenario_by_name(scenario) if scenario else None,
        transport=transport,
    )
    return simulate(setup, keep_frames=True)
