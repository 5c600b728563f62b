"""Filtered cable motion and the tension the person actually feels.

The person feels the motor's pull plus friction (which opposes the cable's motion) plus the
spool's reflected inertia; the drive reports only the motor's part. Metrics use the felt tension.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from controller.config import MachineConfig
from controller.kinematics import CableSample

# Below this speed friction is treated as rising smoothly from zero, not as a sign flip.
FRICTION_SMOOTHING_MPS = 0.02


@dataclass(frozen=True, slots=True)
class Motion:
    time_s: float
    position_m: float
    velocity_mps: float
    acceleration_mps2: float
    motor_force_n: float
    felt_tension_n: float
    pull_n: float  # the person's pull on the handle: the cable's tension plus what accelerates the handle


def friction_force_n(machine: MachineConfig, velocity_mps: float) -> float:
    """Friction at the cable as the person feels it: adds to their load going out, subtracts coming in."""
    coulomb = machine.friction.coulomb_n * velocity_mps / (abs(velocity_mps) + FRICTION_SMOOTHING_MPS)
    return coulomb + machine.friction.viscous_n_s_per_m * velocity_mps


def _smoothing(cutoff_hz: float, dt_s: float) -> float:
    return 1.0 - math.exp(-2.0 * math.pi * cutoff_hz * dt_s)


class Estimator:
    def __init__(self, machine: MachineConfig) -> None:
        self.machine = machine
        period = 1.0 / machine.control.rate_hz
        self._a_vel = _smoothing(machine.control.velocity_cutoff_hz, period)
        self._a_acc = _smoothing(machine.control.acceleration_cutoff_hz, period)
        self._reflected_mass = machine.reflected_mass_kg
        self._handle_mass = machine.handle.mass_kg
        self._last: Motion | None = None

    def update(self, sample: CableSample) -> Motion:
        last = self._last
        if last is None:
            velocity, acceleration = sample.velocity_mps, 0.0
        else:
            dt = sample.time_s - last.time_s
            velocity = last.velocity_mps + (sample.velocity_mps - last.velocity_mps) * self._a_vel
            raw_acc = (velocity - last.velocity_mps) / dt if dt > 0 else last.acceleration_mps2
            acceleration = last.acceleration_mps2 + (raw_acc - last.acceleration_mps2) * self._a_acc
        felt = (
            sample.motor_force_n
            + friction_force_n(self.machine, velocity)
            + self._reflected_mass * acceleration
        )
        motion = Motion(
            time_s=sample.time_s,
            position_m=sample.position_m,
            velocity_mps=velocity,
            acceleration_mps2=acceleration,
            motor_force_n=sample.motor_force_n,
            felt_tension_n=max(0.0, felt),
            pull_n=felt + self._handle_mass * acceleration,
        )
        self._last = motion
        return motion
