"""What the control loop needs from any servo drive in torque mode, in SI at the motor shaft.

Everything here is in the drive's own frame, as on every servo: a positive torque accelerates the
shaft toward positive velocity and positive position counts. Which of those pays the cable out is
the machine's business (`[spool] payout`), turned into cable terms in one place: kinematics.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

LATENCY_WINDOW = 10_000  # exchanges whose latency a drive keeps: the latest only, a process runs for months


@dataclass(frozen=True, slots=True)
class DriveFeedback:
    time_s: float  # when the sample was taken, on the loop's clock
    angle_rad: float  # motor shaft, the drive's positive direction
    velocity_rad_s: float
    torque_nm: float  # actual torque, the drive's positive direction
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

    @property
    def sources(self) -> Mapping[str, str]:
        """Where each feedback quantity comes from ("position": "register 0x4016 of map ..."),
        for messages that tell a person what to check."""
        ...

    async def connect(self) -> None:
        """Link, set-up, zero torque, enable: ready for the loop."""

    async def read(self) -> DriveFeedback: ...

    async def write(self, torque_nm: float) -> None: ...

    async def disable(self) -> None:
        """Torque off and the power stage disabled, retried until the drive acknowledges it or the
        link is gone; safe to call in any state."""

    async def close(self) -> None: ...
