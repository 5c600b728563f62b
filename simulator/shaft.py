"""The plant seen from a real servo's frame. The plant works along the cable (positive paid out,
positive motor torque winds in); a servo knows only its shaft: positive torque accelerates toward
positive counts. Which way the shaft pays out is a fact of the machine as built, which a controller
configured otherwise must find out for itself (it cannot, if both share one convention)."""

from __future__ import annotations

from dataclasses import dataclass

from controller.config import MachineConfig
from simulator.plant import Plant


@dataclass(frozen=True, slots=True)
class MotorShaft:
    metres_per_rad: float
    payout_sign: float

    @classmethod
    def of(cls, built: MachineConfig) -> MotorShaft:
        return cls(built.metres_per_rad, built.payout_sign)

    def angle_rad(self, plant: Plant) -> float:
        return self.payout_sign * plant.spool_pos_m / self.metres_per_rad

    def velocity_rad_s(self, plant: Plant) -> float:
        return self.payout_sign * plant.spool_vel_mps / self.metres_per_rad

    def torque_nm(self, plant: Plant) -> float:
        return -self.payout_sign * plant.torque_nm

    def winding_torque_nm(self, drive_torque_nm: float) -> float:
        """A drive-frame torque as the plant's winding torque."""
        return -self.payout_sign * drive_torque_nm
