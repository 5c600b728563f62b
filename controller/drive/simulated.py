"""The simulator as an in-process drive: the plant is advanced to the loop's clock on every read,
holding the last written torque between reads (as a real drive holds its torque reference)."""

from __future__ import annotations

from controller.drive.base import DriveFeedback, DriveLinkLost
from controller.timing import Clock
from simulator.lift import Rig


class SimulatedDrive:
    def __init__(self, rig: Rig, clock: Clock, metres_per_rad: float) -> None:
        self.rig = rig
        self.clock = clock
        self._metres_per_rad = metres_per_rad
        self._torque_nm = 0.0
        self._enabled = False
        self._connected = False

    async def connect(self) -> None:
        self._connected = True
        self._enabled = True

    async def read(self) -> DriveFeedback:
        if not self._connected:
            raise DriveLinkLost("simulated drive: not connected")
        self.advance_to(self.clock.now())
        plant = self.rig.plant
        return DriveFeedback(
            time_s=plant.time_s,
            angle_rad=plant.spool_pos_m / self._metres_per_rad,
            velocity_rad_s=plant.spool_vel_mps / self._metres_per_rad,
            torque_nm=plant.torque_nm,
            enabled=self._enabled,
        )

    async def write(self, torque_nm: float) -> None:
        if not self._connected:
            raise DriveLinkLost("simulated drive: not connected")
        self._torque_nm = torque_nm if self._enabled else 0.0

    async def disable(self) -> None:
        self._enabled = False
        self._torque_nm = 0.0

    async def close(self) -> None:
        await self.disable()
        self._connected = False

    def advance_to(self, time_s: float) -> None:
        plant = self.rig.plant
        while plant.time_s + 0.5 * plant.dt_s < time_s:
            self.rig.advance(self._torque_nm)
