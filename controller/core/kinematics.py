"""Motor shaft <-> cable: the spool radius, the gear ratio and the one sign fact, in one place.

The drive speaks its own frame (positive torque -> positive velocity -> positive counts). The machine
says which rotation pays the cable out; cable tension then needs torque of the opposite sign. No
other code turns a sign.
"""

from __future__ import annotations

from dataclasses import dataclass

from controller.config import MachineConfig
from controller.drive import DriveFeedback


@dataclass(frozen=True, slots=True)
class CableSample:
    time_s: float
    position_m: float  # cable paid out from the dock
    velocity_mps: float  # positive = outward (concentric on a press)
    motor_force_n: float  # motor torque expressed as pull on the cable (positive winds it in)


@dataclass(frozen=True, slots=True)
class Kinematics:
    metres_per_rad: float
    payout_sign: float = 1.0  # +1: positive drive counts pay the cable out

    @classmethod
    def of(cls, machine: MachineConfig) -> Kinematics:
        return cls(metres_per_rad=machine.metres_per_rad, payout_sign=machine.payout_sign)

    def cable(self, fb: DriveFeedback) -> CableSample:
        along_cable = self.payout_sign * self.metres_per_rad
        return CableSample(
            time_s=fb.time_s,
            position_m=fb.angle_rad * along_cable,
            velocity_mps=fb.velocity_rad_s * along_cable,
            motor_force_n=-fb.torque_nm / along_cable,
        )

    def torque_nm(self, force_n: float) -> float:
        """The drive torque that pulls the cable in with `force_n`."""
        return -force_n * self.payout_sign * self.metres_per_rad
