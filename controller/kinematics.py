"""Motor shaft <-> cable: the spool radius and gear ratio in one place."""

from __future__ import annotations

from dataclasses import dataclass

from controller.config import MachineConfig
from controller.drive import DriveFeedback


@dataclass(frozen=True, slots=True)
class CableSample:
    time_s: float
    position_m: float  # cable paid out from the dock
    velocity_mps: float  # positive = outward (concentric on a press)
    motor_force_n: float  # motor torque expressed as pull on the cable


@dataclass(frozen=True, slots=True)
class Kinematics:
    metres_per_rad: float

    @classmethod
    def of(cls, machine: MachineConfig) -> Kinematics:
        return cls(metres_per_rad=machine.metres_per_rad)

    def cable(self, fb: DriveFeedback) -> CableSample:
        return CableSample(
            time_s=fb.time_s,
            position_m=fb.angle_rad * self.metres_per_rad,
            velocity_mps=fb.velocity_rad_s * self.metres_per_rad,
            motor_force_n=fb.torque_nm / self.metres_per_rad,
        )

    def torque_nm(self, force_n: float) -> float:
        return force_n * self.metres_per_rad
