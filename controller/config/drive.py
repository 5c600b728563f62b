"""A drive map: how one make of servo drive is spoken to. A new drive needs a new TOML file, not
new code. Values in shipped maps say where they come from (vendor manual or unconfirmed)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from controller.config.loader import Section, load


class DataType(StrEnum):
    I16 = "I16"
    U16 = "U16"
    I32 = "I32"
    U32 = "U32"
    F32 = "F32"

    @property
    def words(self) -> int:
        return 1 if self in (DataType.I16, DataType.U16) else 2


class Register(Section):
    """One value in the drive: raw x scale = SI value (N*m, rad, rad/s; 1 for codes). With
    `per_rated`, raw x scale is a fraction of the motor's rated torque (from the machine config)."""

    address: int = Field(ge=0, le=0xFFFF)
    type: DataType = DataType.I16
    scale: float = Field(1.0, gt=0)
    per_rated: bool = False


class Write(Section):
    address: int = Field(ge=0, le=0xFFFF)
    value: int = Field(ge=-0x8000, le=0xFFFF)
    delay_s: float = Field(0.0, ge=0, le=5.0)


class ModbusLink(Section):
    device_id: int = Field(1, ge=1, le=247)
    baudrate: int = Field(115200, ge=1200, le=4_000_000)
    parity: Literal["N", "E", "O"] = "N"
    stopbits: Literal[1, 2] = 1
    timeout_s: float = Field(0.02, gt=0.001, le=2.0)
    word_order: Literal["big", "little"] = "big"  # which 16-bit word of a 32-bit value comes first
    fc23: bool = False  # read and write in one transaction (FC23)
    silence_s: float = Field(0.0, ge=0, le=0.1)  # quiet time the drive needs between frames


class FeedbackMap(Section):
    position: Register
    velocity: Register
    torque: Register
    status: Register
    fault_code: Register


class CommandMap(Section):
    torque: Register
    torque_limit_forward: Register | None = None
    torque_limit_reverse: Register | None = None
    speed_limit_forward: Register | None = None  # rpm-like, written as the drive's torque-mode limit
    speed_limit_reverse: Register | None = None


class StatusValues(Section):
    running: list[int] = Field(min_length=1)
    fault: list[int] = Field(default_factory=list)
    running_mask: int = Field(0xFFFF, ge=1, le=0xFFFF)  # compare (status & mask) for bit-coded words
    fault_mask: int = Field(0xFFFF, ge=1, le=0xFFFF)


class Watchdog(Section):
    """The drive's own communication watchdog: torque off when we go quiet."""

    writes: list[Write] = Field(min_length=1)
    timeout_s: float = Field(gt=0, le=10)


class SerialLineMap(Section):
    """A line protocol modelled on ODrive's ASCII protocol."""

    axis: int = Field(0, ge=0, le=7)
    baudrate: int = Field(115200, ge=1200, le=4_000_000)
    timeout_s: float = Field(0.02, gt=0.001, le=2.0)
    watchdog_timeout_s: float = Field(0.1, gt=0.005, le=10)
    turns_per_rev: float = Field(1.0, gt=0)


class DriveMap(Section):
    name: str = Field(min_length=1, max_length=64)
    description: str = ""
    protocol: Literal["modbus", "serial_line"]
    link: ModbusLink = ModbusLink()
    feedback: FeedbackMap | None = None
    command: CommandMap | None = None
    status: StatusValues | None = None
    enable: list[Write] = Field(default_factory=list)
    disable: list[Write] = Field(default_factory=list)
    alarm_reset: list[Write] = Field(default_factory=list)
    setup: list[Write] = Field(default_factory=list)  # written once at connect (modes, RAM-only saves)
    watchdog: Watchdog | None = None
    faults: dict[str, str] = Field(default_factory=dict)  # "0x0101" -> text
    serial_line: SerialLineMap | None = None
    provenance: dict[str, str] = Field(default_factory=dict)  # key -> "vendor manual ..." | "unconfirmed"

    @model_validator(mode="after")
    def _complete(self) -> DriveMap:
        if self.protocol == "modbus":
            missing = [k for k in ("feedback", "command", "status") if getattr(self, k) is None]
            if missing:
                raise ValueError(f"protocol 'modbus' needs sections: {', '.join(missing)}")
        elif self.serial_line is None:
            raise ValueError("protocol 'serial_line' needs a [serial_line] section")
        for code in self.faults:
            try:
                int(code, 0)
            except ValueError:
                raise ValueError(f'faults: key {code!r} is not a number (write e.g. "0x0101")') from None
        return self

    def with_timeout(self, seconds: float) -> DriveMap:
        """The same map with another reply timeout, whichever link it speaks."""
        if self.serial_line is not None:
            line = self.serial_line.model_copy(update={"timeout_s": seconds})
            return self.model_copy(update={"serial_line": line})
        return self.model_copy(update={"link": self.link.model_copy(update={"timeout_s": seconds})})

    def fault_text(self, code: int) -> str:
        for key, text in self.faults.items():
            if int(key, 0) == code:
                return text
        return f"unknown fault code {code:#06x} (not in drive map {self.name!r})"


def load_drive_map(name_or_path: str | Path) -> DriveMap:
    return load("drives", name_or_path, DriveMap)
