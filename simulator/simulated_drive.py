"""The simulator as an in-process drive: the plant is advanced to the loop's clock on every read,
holding the last written torque between reads (as a real drive holds its torque reference). It
speaks the drive's frame, like a real servo, for the machine as built."""

from __future__ import annotations

from controller.config import MachineConfig
from controller.drive.base import DriveFeedback, DriveLinkLost
from controller.timing import Clock
from simulator.rig import Rig
from simulator.shaft import MotorShaft


class SimulatedDrive:
    def __init__(self, rig: Rig, clock: Clock, built: MachineConfig) -> None:
        self.rig = rig
        self.clock = clock
        self.shaft = MotorShaft.of(built)
        self._winding_nm = 0.0
        self._enabled = False
        self._connected = False

    @property
    def sources(self) -> dict[str, str]:
        return {"position": "the simulated drive's position", "velocity": "the simulated drive's velocity"}

    async def connect(self) -> None:
        self._connected = True
        self._enabled = True

    @property
    def enabled(self) -> bool:
        return self._enabled

    async def read(self) -> DriveFeedback:
        if not self._connected:
            raise DriveLinkLost("simulated drive: not connected")
        self.advance_to(self.clock.now())
        plant, shaft = self.rig.plant, self.shaft
        return DriveFeedback(
            time_s=plant.time_s,
            angle_rad=shaft.angle_rad(plant),
            velocity_rad_s=shaft.velocity_rad_s(plant),
            torque_nm=shaft.torque_nm(plant),
            enabled=self._enabled,
        )

    async def write(self, torque_nm: float) -> None:
        if not self._connected:
            raise DriveLinkLost("simulated drive: not connected")
        self._winding_nm = self.shaft.winding_torque_nm(torque_nm) if self._enabled else 0.0

    async def disable(self) -> None:
        self._enabled = False
        self._winding_nm = 0.0

    async def close(self) -> None:
        await self.disable()
        self._connected = False

    def advance_to(self, time_s: float) -> None:
        plant = self.rig.plant
        while plant.time_s + 0.5 * plant.dt_s < time_s:
            self.rig.advance(self._winding_nm)
