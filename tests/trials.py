"""Simulated sets that a must-show is measured on, shared by its test and its benchmark so the two
always run the same set."""

from __future__ import annotations

from controller.config import ProfileConfig, ProfileKind, load_athlete, load_machine
from controller.config.profile import AdaptiveConfig
from simulator.simulate import SimulationResult, SimulationSetup, simulate


def honest_adaptive_set(
    target_s: float, load_kg: float, start_pct: float, keep_frames: bool = False
) -> SimulationResult:
    """Adaptive eccentric, 8 reps, the trained athlete at honest maximal effort: they resist every
    lowering as hard as they can (they would take 20 s if they could)."""
    athlete = load_athlete("trained").with_tempo(eccentric_s=20.0)
    config = ProfileConfig(
        name="adaptive",
        kind=ProfileKind.ADAPTIVE_ECCENTRIC,
        load_kg=load_kg,
        eccentric_pct=start_pct,
        reps=8,
        adaptive=AdaptiveConfig(target_eccentric_s=target_s, max_eccentric_pct=100.0),
    )
    return simulate(SimulationSetup(load_machine("home-gym-2kw"), config, athlete), keep_frames)
