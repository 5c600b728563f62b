"""What the control loop needs from any servo drive in torque mode, in SI at the motor shaft."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class DriveFeedback:
    time_s: float  # when the sample was taken, on the loop's clock
    angle_rad: float  # motor shaft, positive = cable paid out
    velocity_rad_s: float
    torque_nm: float  # actual torque, positive = winding cable in (resisting the person)
    enabled: bool = True
    fault_code: int = 0


class DriveFault(Exception):
    """Anything that means the drive's feedback or our command cannot be trusted this cycle."""


class DriveTimeout(DriveFault):
    pass


class DriveLinkLost(DriveFault):
    pass


class DriveProtocolError(DriveFault):
    """A garbled or unexpected reply."""


class DriveAlarm(DriveFault):
    def __init__(self, code: int, text: str) -> None:
        super().__init__(f"drive alarm {code:#06x}: {text}")
        self.code = code
        self.text = text


class Drive(Protocol):
    """A torque-mode drive. `write` must never block longer than a control period."""

    async def connect(self) -> None: ...

    async def read(self) -> DriveFeedback: ...

    async def write(self, torque_nm: float) -> None: ...

    async def disable(self) -> None:
        """Torque off (the drive's own safe state); must be safe to call in any state."""

    async def close(self) -> None: ...
