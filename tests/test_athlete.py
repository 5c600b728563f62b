"""The simulated person reproduces their configured load-velocity profile, eccentric strength and
reps to failure, on the machine they are simulated on."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from controller.config import load_athlete, load_machine
from controller.units import kg_to_newtons
from simulator.athlete import AthletePhase
from simulator.calibration import full_effort
from simulator.rig import Rig, weight_stack_set

ATHLETE_MACHINES = [
    ("trained", "home-gym-2kw"),
    ("novice", "home-gym-2kw"),
    ("older-adult", "home-gym-2kw"),
    ("rehab-patient", "a6-diy"),
]
LOADS = (0.3, 0.45, 0.6, 0.75, 0.9, 1.0)


@pytest.mark.parametrize(("athlete_name", "machine_name"), ATHLETE_MACHINES)
def test_weight_stack_load_velocity_is_linear_and_hits_the_profile(athlete_name, machine_name):
    athlete = full_effort(load_athlete(athlete_name))
    machine = load_machine(machine_name)
    one_rm = kg_to_newtons(athlete.one_rm_kg)
    velocities = []
    for fraction in LOADS:
        (rep,) = weight_stack_set(machine, athlete, fraction * one_rm, planned_reps=1, max_time_s=30)[:1]
        assert not rep.failed, f"{athlete_name} failed at {fraction:.0%} of 1RM"
        velocities.append(rep.mean_concentric_velocity_mps)
    loads = np.array(LOADS)
    r = np.corrcoef(loads, velocities)[0, 1]
    slope, intercept = np.polyfit(loads, velocities, 1)
    assert r <= -0.95
    assert slope + intercept == pytest.approx(athlete.v_at_1rm_mps, abs=0.05)
    assert intercept == pytest.approx(athlete.v_at_zero_load_mps, abs=0.1)
    configured = athlete.v_at_zero_load_mps + (athlete.v_at_1rm_mps - athlete.v_at_zero_load_mps) * loads
    assert np.max(np.abs(np.array(velocities) - configured)) <= 0.05


@pytest.mark.parametrize(("athlete_name", "machine_name"), ATHLETE_MACHINES[:2])
def test_one_rm_is_a_true_maximum(athlete_name, machine_name):
    athlete = full_effort(load_athlete(athlete_name))
    reps = weight_stack_set(
        load_machine(machine_name), athlete, 1.04 * kg_to_newtons(athlete.one_rm_kg), 1, 30
    )
    assert reps[0].failed


@pytest.mark.parametrize("athlete_name", [name for name, _ in ATHLETE_MACHINES])
def test_eccentric_capacity_ratio_as_configured(athlete_name, home_gym):
    """Overpowered while lowering, the most the person resists (at the strength of their weakest
    point, without fatigue) is eccentric_ratio x 1RM."""
    athlete = load_athlete(athlete_name)
    machine = home_gym  # strong enough to overpower everyone
    rig = Rig.build(machine, athlete, planned_reps=1)
    top = athlete.start_position_m + athlete.rom_m
    rig.plant.place(top)
    load = min(2.0 * kg_to_newtons(athlete.one_rm_kg), machine.limits.max_tension_n)
    rig.athlete.take_load_in_hand(load)
    rig.athlete.state.phase = AthletePhase.ECCENTRIC
    curve = rig.athlete.strength.curve
    resisted = []
    while rig.plant.handle_pos_m > athlete.start_position_m and rig.plant.time_s < 5:
        rig.advance(load / machine.tension_per_torque_n_per_nm)
        state = rig.athlete.state
        resisted.append(state.force_n / (1 - state.fatigue) / curve(rig.plant.handle_pos_m))
    assert rig.plant.handle_pos_m <= athlete.start_position_m, "the load did not overpower them"
    ratio = max(resisted) / kg_to_newtons(athlete.one_rm_kg)
    assert ratio == pytest.approx(athlete.eccentric_ratio, rel=0.05)


@pytest.mark.parametrize("fraction", [0.6, 0.7, 0.8, 0.9])
def test_reps_to_failure_follow_epley(home_gym, fraction):
    athlete = full_effort(load_athlete("trained"))
    reps = weight_stack_set(home_gym, athlete, fraction * kg_to_newtons(athlete.one_rm_kg), 100, 900)
    to_failure = next(i for i, rep in enumerate(reps) if rep.failed)
    epley = 30 * (1 / fraction - 1)
    assert to_failure == pytest.approx(epley, rel=0.3)


def test_velocity_drops_with_fatigue_within_a_set(home_gym):
    athlete = full_effort(load_athlete("trained"))
    reps = weight_stack_set(home_gym, athlete, 0.7 * kg_to_newtons(athlete.one_rm_kg), 6, 120)
    velocities = [rep.mean_concentric_velocity_mps for rep in reps]
    assert len(velocities) == 6
    assert all(a > b for a, b in itertools.pairwise(velocities))
