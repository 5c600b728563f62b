"""The plant must be physically honest: no free energy, a cable that only pulls, stable when stiff."""

from __future__ import annotations

import pytest

from controller.config import MachineConfig
from simulator.plant import Plant, PlantParams

pytestmark = pytest.mark.fast


def frictionless(machine: MachineConfig, **cable: float) -> PlantParams:
    friction = machine.friction.model_copy(update={"coulomb_n": 0.0, "viscous_n_s_per_m": 0.0})
    cable_cfg = machine.cable.model_copy(update=cable)
    return PlantParams.from_machine(machine.model_copy(update={"friction": friction, "cable": cable_cfg}))


@pytest.mark.parametrize("stiffness", [5e3, 2e5, 2e6])
@pytest.mark.parametrize("damping", [0.0, 60.0])
def test_passive_plant_without_friction_gains_no_energy(home_gym, stiffness, damping):
    """Sampled while the cable is slack, where the energy is exactly kinetic (while stretched, a
    symplectic integrator's measured energy wobbles around its conserved one without drifting)."""
    plant = Plant(frictionless(home_gym, stiffness_n_per_m=stiffness, damping_n_s_per_m=damping))
    plant.place(1.0)
    plant.handle_vel_mps = 1.2  # handle flung outward: the cable stretches, bounces, goes slack
    plant.spool_vel_mps = -0.4
    start = plant.energy_j()
    peak = start
    slack_samples = 0
    for _ in range(3000):
        plant.step(0.0, 0.0)
        if plant.handle_pos_m < plant.spool_pos_m:
            slack_samples += 1
            peak = max(peak, plant.energy_j())
    assert slack_samples > 100
    assert peak <= start * 1.01  # numerical error at contact transitions, not drift
    if damping > 0:
        assert plant.energy_j() < start


def test_slack_cable_carries_zero_tension(home_gym):
    plant = Plant(PlantParams.from_machine(home_gym))
    plant.place(1.0)
    plant.handle_vel_mps = -1.0  # handle moves toward the machine faster than the spool
    for _ in range(20):
        plant.step(0.0, 0.0)
        assert plant.handle_pos_m < plant.spool_pos_m
        assert plant.tension_n == 0.0


def test_tension_matches_motor_force_at_rest(home_gym):
    plant = Plant(PlantParams.from_machine(home_gym), attached_mass_kg=5.0)
    plant.place(0.5)
    load_n = 500.0
    torque = load_n / home_gym.tension_per_torque_n_per_nm
    for _ in range(2000):
        plant.step(torque, load_n)
    assert plant.tension_n == pytest.approx(load_n, abs=home_gym.friction.coulomb_n + 1.0)
    assert abs(plant.handle_vel_mps) < 1e-3


def test_handle_stops_at_its_dock_and_torque_is_limited(a6_diy):
    plant = Plant(PlantParams.from_machine(a6_diy))
    plant.place(0.3)
    for _ in range(3000):
        plant.step(1000.0, 0.0)  # far beyond peak torque
        assert plant.handle_pos_m >= 0.0
        assert abs(plant.torque_nm) <= a6_diy.motor.peak_torque_nm + 1e-9
    assert plant.handle_pos_m == 0.0


@pytest.mark.parametrize("machine_name", ["home_gym", "a6_diy"])
def test_drive_speed_limit_caps_cable_speed_both_ways(machine_name, request):
    machine = request.getfixturevalue(machine_name)
    plant = Plant(PlantParams.from_machine(machine))
    plant.place(1.5)
    torque = machine.limits.max_tension_n / machine.tension_per_torque_n_per_nm
    fastest_in = fastest_out = 0.0
    for _ in range(500):
        plant.step(torque, 0.0)
        fastest_in = max(fastest_in, -plant.spool_vel_mps)
    plant.place(0.2)
    for _ in range(500):
        plant.step(-torque, 0.0)
        fastest_out = max(fastest_out, plant.spool_vel_mps)
    assert fastest_in == pytest.approx(machine.drive_retract_limit_mps, rel=0.01)
    assert fastest_out == pytest.approx(machine.drive_payout_limit_mps, rel=0.01)


def test_spool_sticks_below_coulomb_friction(home_gym):
    plant = Plant(PlantParams.from_machine(home_gym), attached_mass_kg=5.0)
    plant.place(0.5)
    small = 0.5 * home_gym.friction.coulomb_n / home_gym.tension_per_torque_n_per_nm
    for _ in range(500):
        plant.step(small, 0.0)
    assert plant.spool_vel_mps == 0.0


def test_stiff_cable_uses_substeps(home_gym):
    soft = Plant(frictionless(home_gym, stiffness_n_per_m=5e3))
    steel = Plant(frictionless(home_gym, stiffness_n_per_m=2e6))
    assert soft.substeps == 1
    assert steel.substeps > 1
