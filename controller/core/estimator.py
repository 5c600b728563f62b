"""Filtered cable motion and the tension the person actually feels.

The person feels the motor's pull plus friction (which opposes the cable's motion) plus the
spool's reflected inertia; the drive reports only the motor's part. Metrics use the felt tension.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from controller.config import MachineConfig
from controller.core.kinematics import CableSample

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
    observed_tension_n: float  # the felt tension from TensionObserver: less lag, for closing a loop on it


def friction_force_n(machine: MachineConfig, velocity_mps: float) -> float:
    """Friction at the cable as the person feels it: adds to their load going out, subtracts coming in."""
    coulomb = machine.friction.coulomb_n * velocity_mps / (abs(velocity_mps) + FRICTION_SMOOTHING_MPS)
    return coulomb + machine.friction.viscous_n_s_per_m * velocity_mps


class TensionObserver:
    """The tension on the cable, estimated with as little lag as the drive's feedback allows.

    `felt_tension_n` differentiates a filtered velocity: smooth enough for metrics, but about 6 ms
    late, and closing a force loop through that lag makes the spool's effective mass negative at
    the cable's resonance. This observer instead predicts the spool's speed from the motor force the
    drive reports (M dv/dt = tension - friction - motor force) and takes the external force as a
    random walk that the speed error corrects, so a change of motor force is in the estimate at
    once and only the person's part is learned from the speed. Both poles sit at `observer_hz`;
    the velocity comes from the drive's own clock, so a Modbus read's timing jitter does not enter.
    """

    def __init__(self, machine: MachineConfig) -> None:
        self.machine = machine
        self._mass = machine.reflected_mass_kg
        self._pole_rate = 2.0 * math.pi * machine.control.observer_hz
        self._time_s: float | None = None
        self._velocity = 0.0
        self._external_n = 0.0  # on the spool, besides the motor: the cable's tension less friction
        self._motor_n = 0.0

    def update(self, sample: CableSample) -> float:
        if self._time_s is None:
            self._velocity, self._external_n = sample.velocity_mps, sample.motor_force_n
        elif (dt := sample.time_s - self._time_s) > 0.0:
            pole = math.exp(-self._pole_rate * dt)
            motor = 0.5 * (self._motor_n + sample.motor_force_n)
            predicted = self._velocity + dt / self._mass * (self._external_n - motor)
            error = sample.velocity_mps - predicted
            self._velocity = predicted + (1.0 - pole * pole) * error
            self._external_n += self._mass * (1.0 - pole) ** 2 / dt * error
        self._time_s, self._motor_n = sample.time_s, sample.motor_force_n
        return self._external_n + friction_force_n(self.machine, self._velocity)


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
        self._observer = TensionObserver(machine)
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
            observed_tension_n=self._observer.update(sample),
        )
        self._last = motion
        return motion
