"""The training and rehab modes' figures against their goals, in fast simulation:
adaptive eccentric convergence (trained athlete at maximal effort), isokinetic speed holding and
the isometric test (rehab patient at full effort), mean propulsive against mean concentric
velocity (with the let-go cuts a light, fast set still gets), and the pure weight feel: the
inertia the person still feels, with the machine's inertia figure right and off.

.venv/bin/python bench/modes.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the measures are shared with tests/
from controller.config import ProfileConfig, ProfileKind, load_athlete, load_machine
from controller.config.profile import FeelConfig, FeelMode, IsokineticConfig
from controller.core.isometric import IsometricResult, analyse, pulled_force_n, symmetry_pct
from simulator.calibration import Device, fit_strength
from simulator.simulate import SimulationResult, SimulationSetup, simulate
from tests.felt import felt_deviation_n, inertia_misconfigured, ringing_n
from tests.trials import honest_adaptive_set

MACHINE = load_machine("home-gym-2kw")


def adaptive(target_s: float, load_kg: float, start_pct: float) -> None:
    result = honest_adaptive_set(target_s, load_kg, start_pct)
    times = [r.eccentric_s for r in result.reps]
    on = [abs(t / target_s - 1) <= 0.10 for t in times]
    first = on.index(True) + 1 if any(on) else None
    print(
        f"adaptive eccentric, target {target_s:g} s from +{start_pct:g} %: lowering times "
        f"{', '.join(f'{t:.2f}' for t in times)} s; on target (+/-10 %) from rep {first} "
        f"(goal: within 5); converged to {result.converged_eccentric_kg or 0:.1f} kg"
    )


def mid_range_means(result: SimulationResult, phase: str) -> list[float]:
    frames = [f for f in result.frames if f.rep_index >= 2 and f.set_state == "active"]
    bottom, top = min(f.position_m for f in frames), max(f.position_m for f in frames)
    low, high = bottom + 0.2 * (top - bottom), bottom + 0.8 * (top - bottom)
    sign = 1.0 if phase == "concentric" else -1.0
    means = []
    for rep in range(2, len(result.reps) + 1):
        speeds = [
            sign * v
            for f, v in zip(result.frames, result.true_handle_speed_mps, strict=True)
            if f.rep_index == rep and f.phase == phase and low <= f.position_m <= high
        ]
        means.append(float(np.mean(speeds)))
    return means


def isokinetic(speed_mps: float) -> None:
    patient = load_athlete("rehab-patient").with_tempo(concentric_s=0.0)
    config = ProfileConfig(
        name="isokinetic",
        kind=ProfileKind.ISOKINETIC,
        load_kg=25.0,
        reps=5,
        isokinetic=IsokineticConfig(speed_mps=speed_mps, start_force_n=30.0),
    )
    result = simulate(SimulationSetup(MACHINE, config, patient), keep_frames=True)
    for phase in ("concentric", "eccentric"):
        errors = [100 * (m / speed_mps - 1) for m in mid_range_means(result, phase)]
        print(
            f"isokinetic {speed_mps:g} m/s {phase}: per-rep mid-range mean speed off by "
            f"{min(errors):+.1f} to {max(errors):+.1f} % (goal +/-10 %)"
        )


def isometric(strength_factor: float) -> tuple[IsometricResult, float]:
    base = load_athlete("rehab-patient")
    weaker = base.model_copy(update={"one_rm_kg": base.one_rm_kg * strength_factor})
    patient = weaker.with_tempo(concentric_s=0.0)
    config = ProfileConfig(name="isometric", kind=ProfileKind.ISOMETRIC, load_kg=40.0, reps=1)
    result = simulate(SimulationSetup(MACHINE, config, patient), keep_frames=True)
    held = [f for f in result.frames if f.set_state in ("loading", "active", "finishing")]
    forces = [pulled_force_n(MACHINE, f.felt_tension_n, f.velocity_mps) for f in held]
    outcome = analyse([f.time_s for f in held], forces)
    at_peak = held[forces.index(outcome.peak_n)].position_m
    truth = fit_strength(patient, Device.of(MACHINE)).capacity(at_peak, 0.0)
    print(
        f"isometric, patient at {strength_factor:.0%} strength: peak {outcome.peak_n:.1f} N vs configured "
        f"{truth:.1f} N ({100 * (outcome.peak_n / truth - 1):+.1f} %, goal within 5 %), "
        f"RFD {outcome.rfd_n_per_s:.0f} N/s"
    )
    return outcome, truth


def propulsive(load_kg: float) -> None:
    """Mean propulsive vs mean concentric velocity: on a cable they differ only where the person
    has to hold the handle back at the top (light loads lifted fast)."""
    config = ProfileConfig(name="constant", kind=ProfileKind.CONSTANT, load_kg=load_kg, reps=3)
    result = simulate(SimulationSetup(MACHINE, config, load_athlete("trained")))
    ratios = [r.mean_propulsive_velocity_mps / r.mean_concentric_velocity_mps for r in result.reps]
    releases = sum(1 for e in result.safety_events if e.kind == "release")
    print(
        f"constant {load_kg:g} kg, trained: MPV / MCV per rep {', '.join(f'{x:.3f}' for x in ratios)} "
        "(free weights: above 1 at submaximal loads, Sanchez-Medina 2010); "
        f"{len(result.reps)} of 3 reps, {releases} let-go cuts"
    )


def feel_set(
    mode: FeelMode, kind: ProfileKind, athlete: str, load_kg: float, inertia: float
) -> SimulationResult:
    """A set on the 2 kW machine configured with `inertia` x its real inertia."""
    overload_pct = 30.0 if kind is ProfileKind.ECCENTRIC_OVERLOAD else 0.0
    config = ProfileConfig(
        name=kind.value,
        kind=kind,
        load_kg=load_kg,
        eccentric_pct=overload_pct,
        reps=4,
        feel=FeelConfig(mode=mode),
    )
    configured = inertia_misconfigured(MACHINE, inertia)
    return simulate(
        SimulationSetup(configured, config, load_athlete(athlete), built=MACHINE), keep_frames=True
    )


def pure_feel(kind: ProfileKind, athlete: str, load_kg: float, inertia: float = 1.0) -> None:
    machine = feel_set(FeelMode.MACHINE, kind, athlete, load_kg, 1.0)
    pure = feel_set(FeelMode.PURE, kind, athlete, load_kg, inertia)
    events = ", ".join(e.kind for e in pure.safety_events) or "none"
    felt, own = felt_deviation_n(pure, feel_only=True), felt_deviation_n(machine, feel_only=True)
    goal = "goal < 0.5x" if inertia == 1.0 else "goal: stable, or switched off"
    print(
        f"pure feel, {kind.value} {load_kg:g} kg, {athlete}, inertia configured x{inertia:g}: "
        f"felt deviation while accelerating {felt:.1f} vs {own:.1f} N = {felt / own:.2f}x ({goal}); "
        f"4-60 Hz {ringing_n(pure):.1f} vs {ringing_n(machine):.1f} N; {len(pure.reps)} of 4 reps; "
        f"events: {events}"
    )


def light_set_feel(load_kg: float) -> None:
    for mode in (FeelMode.MACHINE, FeelMode.PURE):
        result = feel_set(mode, ProfileKind.CONSTANT, "trained", load_kg, 1.0)
        releases = sum(1 for e in result.safety_events if e.kind == "release")
        reps = len(result.reps)
        print(
            f"constant {load_kg:g} kg, trained, feel {mode.value}: {reps} of 4 reps, {releases} let-go cuts"
        )


def main() -> None:
    pure_feel(ProfileKind.CONSTANT, "trained", 40.0)
    pure_feel(ProfileKind.CONSTANT, "trained", 20.0)
    pure_feel(ProfileKind.CONSTANT, "novice", 20.0)
    pure_feel(ProfileKind.ECCENTRIC_OVERLOAD, "trained", 40.0)
    for inertia in (0.7, 1.15, 1.4):
        pure_feel(ProfileKind.CONSTANT, "trained", 40.0, inertia)
    light_set_feel(10.0)
    for load_kg in (10.0, 16.0, 30.0, 60.0):
        propulsive(load_kg)
    adaptive(4.0, 50.0, 30.0)
    adaptive(5.0, 40.0, 40.0)
    for speed in (0.1, 0.2, 0.3):
        isokinetic(speed)
    left, left_truth = isometric(1.0)
    right, right_truth = isometric(0.85)
    measured, truth = symmetry_pct(left, right), 100 * right_truth / left_truth
    print(f"isometric symmetry: {measured:.1f} % vs true {truth:.1f} % (goal within 5 points)")


if __name__ == "__main__":
    main()
