"""The simulator as a servo drive: the behaviour a real drive has, whatever the transport.

It works in its own frame, as a real servo does: positive torque accelerates toward positive
velocity and positive counts; which of those pays the cable out is the machine as built (`built`,
which may differ from what the controller was told). Torque is applied only when enabled by the
map's enable sequence and no alarm is latched; it is clipped to the torque limits the controller
wrote; the torque-mode speed limits the controller wrote become the plant's; the communication
watchdog (real-time mode) switches torque off when commands stop; an injected alarm latches until
the alarm-reset sequence.

Time: in lockstep mode each torque command advances the physics by one control period (exactly
what the in-process drive does, so a set over a link can be compared with an in-process one); in
real-time mode physics follows the wall clock.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

from controller.config import DriveMap, MachineConfig
from simulator.rig import Rig
from simulator.shaft import MotorShaft

_WATCHDOG_FAULT = 0x0006


@dataclass
class FaultPlan:
    """Faults to inject, changeable while serving."""

    drop_every: int = 0  # drop every Nth reply (0: never)
    garble_every: int = 0
    exception_every: int = 0
    latency_s: float = 0.0
    silent: bool = False  # answer nothing at all (a dead drive on a live bus)


class Servo:
    def __init__(self, drive_map: DriveMap, built: MachineConfig, rig: Rig, lockstep: bool) -> None:
        self.map = drive_map
        self.machine = built
        self.rig = rig
        self.lockstep = lockstep
        self.period_s = 1.0 / built.control.rate_hz
        self.shaft = MotorShaft.of(built)
        self.enabled = False
        self.fault_code = 0
        self.torque_command_nm = 0.0
        self.torque_limits_nm = (built.motor.peak_torque_nm, built.motor.peak_torque_nm)
        self.watchdog_s = drive_map.watchdog.timeout_s if drive_map.watchdog else None
        self.faults = FaultPlan()
        self._origin = time.monotonic()
        self._last_command_s = 0.0
        self._switched_on = False

    # -- time ----------------------------------------------------------------------------------
    def wall_s(self) -> float:
        return time.monotonic() - self._origin

    def catch_up(self) -> None:
        """Real-time mode: advance the physics to now, and enforce the watchdog. Nothing moves
        before the drive is first enabled: the person walks up when the machine is switched on."""
        if self.lockstep or not self._switched_on:
            return
        now = self.wall_s()
        if self.watchdog_s and self.enabled and now - self._last_command_s > self.watchdog_s:
            self.alarm(_WATCHDOG_FAULT)
        plant = self.rig.plant
        while plant.time_s + 0.5 * plant.dt_s < now:
            self.rig.advance(self.winding_torque_nm)

    def _advance_one_period(self) -> None:
        target = self.rig.plant.time_s + self.period_s
        while self.rig.plant.time_s + 0.5 * self.rig.plant.dt_s < target:
            self.rig.advance(self.winding_torque_nm)

    # -- state -------------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.enabled and self.fault_code == 0

    @property
    def applied_torque_nm(self) -> float:
        """Drive frame, within the limits the controller wrote."""
        if not self.running:
            return 0.0
        forward, reverse = self.torque_limits_nm
        return min(max(self.torque_command_nm, -reverse), forward)

    @property
    def winding_torque_nm(self) -> float:
        return self.shaft.winding_torque_nm(self.applied_torque_nm)

    def alarm(self, code: int) -> None:
        self.fault_code = code
        self.torque_command_nm = 0.0

    def reset_alarm(self) -> None:
        self.fault_code = 0

    def command_torque(self, torque_nm: float) -> None:
        self.torque_command_nm = torque_nm
        self._last_command_s = self.wall_s()
        if self.lockstep:
            self._advance_one_period()

    def set_enabled(self, enabled: bool) -> None:
        if enabled and not self._switched_on:
            self._switched_on = True
            self._origin = time.monotonic() - self.rig.plant.time_s
        self.enabled = enabled
        self._last_command_s = self.wall_s()
        if not enabled:
            self.torque_command_nm = 0.0

    def set_torque_limit(self, forward: bool, torque_nm: float) -> None:
        fwd, rev = self.torque_limits_nm
        peak = self.machine.motor.peak_torque_nm
        value = min(abs(torque_nm), peak)
        self.torque_limits_nm = (value, rev) if forward else (fwd, value)

    def set_speed_limit(self, forward: bool, rad_s: float) -> None:
        """The drive's torque-mode speed limit in its positive (forward) or negative direction."""
        plant = self.rig.plant
        mps = abs(rad_s) * self.shaft.metres_per_rad
        pays_out = forward == (self.shaft.payout_sign > 0)
        if pays_out:
            plant.p = replace(plant.p, payout_speed_limit_mps=mps)
        else:
            plant.p = replace(plant.p, retract_speed_limit_mps=mps)

    # -- what a drive reports (SI at the motor shaft) ----------------------------------------------
    def position_rad(self) -> float:
        return self.shaft.angle_rad(self.rig.plant)

    def velocity_rad_s(self) -> float:
        return self.shaft.velocity_rad_s(self.rig.plant)

    def torque_nm(self) -> float:
        return self.shaft.torque_nm(self.rig.plant)
