"""Motor, spool, cable and handle.

Coordinates run along the cable, positive outward: `spool_pos_m` is cable paid out by the spool,
`handle_pos_m` is how far the handle is from its dock. The cable is a one-way spring-damper between
them: it pulls when stretched and goes slack (zero tension) when the handle is closer than the spool
has paid out. Positive motor torque winds cable in, i.e. it resists the person.

Integration is semi-implicit (symplectic) Euler with sub-steps chosen from the cable's stiffness and
damping, so a steel rope is as stable as polyester; Coulomb friction is applied implicitly so the
spool sticks exactly instead of chattering around zero speed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from controller.config import MachineConfig

# Stability margins of the explicit parts of the step (per sub-step).
_MAX_OMEGA_DT = 0.3
_MAX_DAMPING_DT = 0.5


@dataclass(frozen=True, slots=True)
class PlantParams:
    force_per_torque: float  # N of cable force per N*m at the motor
    spool_mass_kg: float  # reflected inertia of motor + spool at the cable
    handle_mass_kg: float
    peak_torque_nm: float
    current_tau_s: float
    coulomb_n: float
    viscous_n_s_per_m: float
    cable_k: float
    cable_c: float
    cable_length_m: float
    retract_speed_limit_mps: float
    payout_speed_limit_mps: float

    @classmethod
    def from_machine(cls, machine: MachineConfig) -> PlantParams:
        return cls(
            force_per_torque=machine.tension_per_torque_n_per_nm,
            spool_mass_kg=machine.reflected_mass_kg,
            handle_mass_kg=machine.handle.mass_kg,
            peak_torque_nm=machine.motor.peak_torque_nm,
            current_tau_s=machine.motor.current_loop_time_constant_s,
            coulomb_n=machine.friction.coulomb_n,
            viscous_n_s_per_m=machine.friction.viscous_n_s_per_m,
            cable_k=machine.cable.stiffness_n_per_m,
            cable_c=machine.cable.damping_n_s_per_m,
            cable_length_m=machine.cable.length_m,
            retract_speed_limit_mps=machine.drive_retract_limit_mps,
            payout_speed_limit_mps=machine.drive_payout_limit_mps,
        )


class Plant:
    """The machine's mechanics, advanced in fixed steps of `dt_s`."""

    __slots__ = (
        "_alpha",
        "_n_sub",
        "_sub_dt",
        "attached_mass_kg",
        "dt_s",
        "handle_pos_m",
        "handle_vel_mps",
        "p",
        "spool_pos_m",
        "spool_vel_mps",
        "tension_n",
        "time_s",
        "torque_nm",
    )

    def __init__(self, params: PlantParams, dt_s: float = 0.001, attached_mass_kg: float = 0.0):
        self.p = params
        self.dt_s = dt_s
        self.attached_mass_kg = attached_mass_kg
        self.time_s = 0.0
        self.spool_pos_m = 0.0
        self.spool_vel_mps = 0.0
        self.handle_pos_m = 0.0
        self.handle_vel_mps = 0.0
        self.torque_nm = 0.0
        self.tension_n = 0.0
        self._n_sub = self._substeps(params, dt_s)
        self._sub_dt = dt_s / self._n_sub
        self._alpha = 1.0 - math.exp(-self._sub_dt / params.current_tau_s)

    @staticmethod
    def _substeps(p: PlantParams, dt_s: float) -> int:
        inverse_mass = 1.0 / p.spool_mass_kg + 1.0 / p.handle_mass_kg
        omega = math.sqrt(p.cable_k * inverse_mass)
        damping_rate = (p.cable_c + p.viscous_n_s_per_m) * inverse_mass
        return max(
            1,
            math.ceil(dt_s * omega / _MAX_OMEGA_DT),
            math.ceil(dt_s * damping_rate / _MAX_DAMPING_DT),
        )

    @property
    def substeps(self) -> int:
        return self._n_sub

    def place(self, position_m: float) -> None:
        """Put handle and spool at rest at one position with the cable just taut."""
        self.spool_pos_m = self.handle_pos_m = position_m
        self.spool_vel_mps = self.handle_vel_mps = 0.0

    def energy_j(self) -> float:
        """Kinetic energy of spool and handle plus the cable's stored energy."""
        p = self.p
        stretch = max(0.0, self.handle_pos_m - self.spool_pos_m)
        handle_mass = p.handle_mass_kg + self.attached_mass_kg
        return 0.5 * (
            p.spool_mass_kg * self.spool_vel_mps**2
            + handle_mass * self.handle_vel_mps**2
            + p.cable_k * stretch**2
        )

    def step(self, torque_command_nm: float, user_force_n: float) -> None:
        """Advance one step with a torque command (held) and the person's force on the handle."""
        p = self.p
        peak = p.peak_torque_nm
        command = (
            peak if torque_command_nm > peak else -peak if torque_command_nm < -peak else torque_command_nm
        )
        handle_mass = p.handle_mass_kg + self.attached_mass_kg
        spool_mass = p.spool_mass_kg
        dt = self._sub_dt
        alpha = self._alpha
        coulomb_dv = dt * p.coulomb_n / spool_mass
        peak_force = peak * p.force_per_torque
        s, sv, x, xv, torque = (
            self.spool_pos_m,
            self.spool_vel_mps,
            self.handle_pos_m,
            self.handle_vel_mps,
            self.torque_nm,
        )
        tension = 0.0
        for _ in range(self._n_sub):
            torque += (command - torque) * alpha
            stretch = x - s
            if stretch > 0.0:
                tension = p.cable_k * stretch + p.cable_c * (xv - sv)
                if tension < 0.0:
                    tension = 0.0
            else:
                tension = 0.0
            motor_force = torque * p.force_per_torque
            free_sv = sv + dt * (tension - motor_force - p.viscous_n_s_per_m * sv) / spool_mass
            if free_sv > coulomb_dv:
                sv = free_sv - coulomb_dv
            elif free_sv < -coulomb_dv:
                sv = free_sv + coulomb_dv
            else:
                sv = 0.0
            # The drive's own speed limit in torque mode. Its speed loop is far faster than this
            # step, so it is modelled as a clamp: it gives up pull (or brakes) just enough.
            if sv < -p.retract_speed_limit_mps or sv > p.payout_speed_limit_mps:
                limit = -p.retract_speed_limit_mps if sv < 0.0 else p.payout_speed_limit_mps
                needed = motor_force + (sv - limit) * spool_mass / dt
                needed = (
                    peak_force if needed > peak_force else -peak_force if needed < -peak_force else needed
                )
                sv += (motor_force - needed) * dt / spool_mass
                torque = needed / p.force_per_torque
            xv += dt * (user_force_n - tension) / handle_mass
            s += sv * dt
            x += xv * dt
            if x < 0.0:  # the handle hits its dock
                x = 0.0
                if xv < 0.0:
                    xv = 0.0
            if s > p.cable_length_m:  # the cable is fully paid out
                s = p.cable_length_m
                if sv > 0.0:
                    sv = 0.0
        self.spool_pos_m, self.spool_vel_mps, self.handle_pos_m, self.handle_vel_mps = s, sv, x, xv
        self.torque_nm = torque
        self.tension_n = tension
        self.time_s += self.dt_s
