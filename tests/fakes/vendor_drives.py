"""Register-level fakes of the shipped drives, written from the vendors' register semantics
(DOMAIN.md section 6 and the manuals it cites), not from our drive maps or encode/decode: raw
register tables behind a Modbus server of our own hand (modbus_wire.py).

A fake is a servo in its own frame: positive torque accelerates toward positive counts. The person
at the handle is scripted (the handle's path along the cable), and the machine as built says which
rotation pays out; so the tension our torque words make is a fact the fake measures, whatever the
controller believes.
"""

from __future__ import annotations

import math
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from tests.fakes.modbus_wire import ILLEGAL_ADDRESS

Path = Callable[[float], tuple[float, float]]  # time -> (cable paid out m, its speed m/s)


def held_at(position_m: float) -> Path:
    return lambda _t: (position_m, 0.0)


def pulled_out_and_back(amplitude_m: float = 0.4, period_s: float = 2.0, start_m: float = 0.05) -> Path:
    def path(t: float) -> tuple[float, float]:
        w = 2.0 * math.pi / period_s
        return start_m + 0.5 * amplitude_m * (1 - math.cos(w * t)), 0.5 * amplitude_m * w * math.sin(w * t)

    return path


@dataclass
class Built:
    """The machine the fake is bolted into."""

    metres_per_rad: float
    rated_torque_nm: float
    payout: int = 1  # +1: positive counts pay the cable out


def to_words(value: int, signed: bool, words: int, low_first: bool = False) -> list[int]:
    fmt = {(1, True): ">h", (1, False): ">H", (2, True): ">i", (2, False): ">I"}[(words, signed)]
    raw = struct.pack(fmt, value)
    out = [int.from_bytes(raw[i : i + 2], "big") for i in range(0, len(raw), 2)]
    return out[::-1] if low_first else out


def from_words(values: list[int], signed: bool, low_first: bool = False) -> int:
    ordered = values[::-1] if low_first else values
    raw = b"".join(v.to_bytes(2, "big") for v in ordered)
    fmt = {(1, True): ">h", (1, False): ">H", (2, True): ">i", (2, False): ">I"}[(len(values), signed)]
    value: int = struct.unpack(fmt, raw)[0]
    return value


@dataclass
class FakeServo:
    built: Built
    path: Path
    period_s: float
    time_s: float = 0.0
    enabled: bool = False
    fault_code: int = 0
    torque_nm: float = 0.0  # the reference, drive frame
    limit_nm: tuple[float, float] = (math.inf, math.inf)  # forward, reverse
    tensions_n: list[float] = field(default_factory=list)  # what each torque write pulled, at the cable
    torque_writes: list[float] = field(default_factory=list)
    enables: list[bool] = field(default_factory=list)  # every change of the power stage
    silent_until: float = 0.0  # monotonic time: a drive that stops answering for a while

    @property
    def silent(self) -> bool:
        return time.monotonic() < self.silent_until

    @property
    def applied_nm(self) -> float:
        if not self.enabled or self.fault_code:
            return 0.0
        return min(max(self.torque_nm, -self.limit_nm[1]), self.limit_nm[0])

    def command(self, torque_nm: float) -> None:
        self.torque_nm = torque_nm
        self.torque_writes.append(torque_nm)
        self.tensions_n.append(-self.built.payout * self.applied_nm / self.built.metres_per_rad)
        self.time_s += self.period_s  # lockstep: one torque write per control period

    def power(self, on: bool) -> None:
        if on != self.enabled:
            self.enables.append(on)
        self.enabled = on
        if not on:
            self.torque_nm = 0.0

    def read(self, address: int, count: int) -> list[int] | int:
        raise NotImplementedError  # each drive lays out its own registers

    def write(self, address: int, values: list[int]) -> int | None:
        raise NotImplementedError

    def angle_rad(self) -> float:
        return self.built.payout * self.path(self.time_s)[0] / self.built.metres_per_rad

    def velocity_rad_s(self) -> float:
        return self.built.payout * self.path(self.time_s)[1] / self.built.metres_per_rad


RPM = 60.0 / (2.0 * math.pi)


class A6(FakeServo):
    """StepperOnline A6-RS: parameter CXX.YY at 0xXXYY. Control mode C00.00 (2: torque) and torque
    reference source C03.40 (0: the internal digital reference) must be set, or the torque
    reference C03.41 (0.1 % of rated) moves nothing;
    limits C03.43/44; torque-mode speed limits C03.47/48 (rpm); servo on through virtual DI 0x0411;
    0x0A05 = 1 saves writes to EEPROM. Monitors: speed 0x4001 (rpm), torque 0x4003 (0.1 %),
    position 0x4016 (32 bit: as the drive is delivered, low word first, 10000 units per turn by its
    default electronic gear), fault 0x4100, state 0x410A (0 not ready, 1 ready, 2 running, 3 fault)."""

    COUNTS_PER_REV = 10000

    def __init__(self, built: Built, path: Path, period_s: float) -> None:
        super().__init__(built, path, period_s)
        # As delivered: position control (C00.00 = 0), torque reference from the analogue input.
        self.params: dict[int, int] = {
            0x0000: 0,
            0x0340: 1,
            0x0A05: 0,
            0x0343: 3000,
            0x0344: 3000,
            0x0347: 3000,
            0x0348: 3000,
        }
        self.eeprom_writes = 0

    def read(self, address: int, count: int) -> list[int] | int:
        rated = self.built.rated_torque_nm
        counts = round(self.angle_rad() * self.COUNTS_PER_REV / (2 * math.pi))
        state = 3 if self.fault_code else 2 if self.enabled else 1
        monitors = {
            0x4001: to_words(round(self.velocity_rad_s() * RPM), True, 1),
            0x4003: to_words(round(self.applied_nm / rated * 1000), True, 1),
            0x4016: to_words(counts, True, 2, low_first=True),
            0x4100: [self.fault_code],
            0x410A: [state],
        }
        table: dict[int, int] = dict(self.params)
        for start, words in monitors.items():
            table.update(zip(range(start, start + len(words)), words, strict=True))
        # Parameter groups C00..C0A and the monitor groups 0x40xx/0x41xx are laid out densely;
        # anywhere else there is nothing to read.
        if not all(a <= 0x0AFF or 0x4000 <= a <= 0x41FF for a in range(address, address + count)):
            return ILLEGAL_ADDRESS
        return [table.get(a, 0) for a in range(address, address + count)]

    def write(self, address: int, values: list[int]) -> int | None:
        if address >= 0x4000:
            return ILLEGAL_ADDRESS  # monitors are read-only
        for offset, value in enumerate(values):
            self._write_one(address + offset, value)
        return None

    def _write_one(self, address: int, value: int) -> None:
        if self.params.get(0x0A05):
            self.eeprom_writes += 1
        self.params[address] = value
        rated = self.built.rated_torque_nm
        if address == 0x0341:
            torque_mode = self.params[0x0000] == 2 and self.params[0x0340] == 0
            self.command(from_words([value], True) / 1000 * rated if torque_mode else 0.0)
        elif address in (0x0343, 0x0344):
            forward, reverse = self.limit_nm
            limit = value / 1000 * rated
            self.limit_nm = (limit, reverse) if address == 0x0343 else (forward, limit)
        elif address == 0x0411:
            self.power(value & 1 == 1)


class Cia402(FakeServo):
    """A CiA 402 drive over Modbus, EZmotion-style addressing (0x6000 | (index & 0xFF) << 4 | sub).
    The state machine by controlword 0x6040 (shutdown 0x06, switch on 0x07, enable operation 0x0F,
    fault reset on bit 7's rising edge); statusword 0x6041; modes of operation 0x6060 (4: profile
    torque, the only mode in which target torque 0x6071, per mille of rated, applies); torque limits
    0x60E0/0x60E1; polarity 0x607E (bits 7 and 6 invert position and velocity, and the torque with
    them); position actual 0x6064 (4096 per turn) and velocity actual 0x606C (position units per
    second, as the standard's default velocity units), 32 bit high word first."""

    COUNTS_PER_REV = 4096

    def __init__(self, built: Built, path: Path, period_s: float, polarity: int = 0) -> None:
        super().__init__(built, path, period_s)
        self.state = "switch on disabled"
        self.mode = 0
        self.polarity = polarity
        self.controlword = 0

    def _address(self, index: int, sub: int = 0) -> int:
        return 0x6000 | (index & 0xFF) << 4 | sub

    @property
    def sign(self) -> int:
        return -1 if self.polarity & 0xC0 else 1

    @property
    def statusword(self) -> int:
        if self.fault_code:
            return 0x0008
        return {
            "switch on disabled": 0x0040,
            "ready to switch on": 0x0021,
            "switched on": 0x0023,
            "operation enabled": 0x0027,
        }[self.state]

    def read(self, address: int, count: int) -> list[int] | int:
        rated = self.built.rated_torque_nm
        unit = self.COUNTS_PER_REV / (2 * math.pi)
        a = self._address
        table: dict[int, int] = {
            a(0x41): self.statusword,
            a(0x60): self.mode,
            a(0x61): self.mode,
            a(0x7E): self.polarity,
            a(0x3F): self.fault_code,
        }
        for index, words in {
            0x64: to_words(round(self.sign * self.angle_rad() * unit), True, 2),
            0x6C: to_words(round(self.sign * self.velocity_rad_s() * unit), True, 2),
            0x77: to_words(round(self.sign * self.applied_nm / rated * 1000), True, 1),
        }.items():
            table.update(zip(range(a(index), a(index) + len(words)), words, strict=True))
        if any(x not in table for x in range(address, address + count)):
            return ILLEGAL_ADDRESS
        return [table[x] for x in range(address, address + count)]

    def write(self, address: int, values: list[int]) -> int | None:
        a, rated = self._address, self.built.rated_torque_nm
        value = values[0]
        if address == a(0x40):
            self._controlword(value)
        elif address == a(0x60):
            self.mode = value
        elif address == a(0x7E):
            self.polarity = value
        elif address == a(0x71):
            torque = self.sign * from_words([value], True) / 1000 * rated
            self.command(torque if self.mode == 4 else 0.0)
        elif address in (a(0xE0), a(0xE1)):
            forward, reverse = self.limit_nm
            limit = value / 1000 * rated
            self.limit_nm = (limit, reverse) if address == a(0xE0) else (forward, limit)
        else:
            return ILLEGAL_ADDRESS
        return None

    def _controlword(self, word: int) -> None:
        if word & 0x80 and not self.controlword & 0x80 and self.fault_code:
            self.fault_code = 0
            self.state = "switch on disabled"
        self.controlword = word
        command = word & 0x0F
        transitions = {
            ("switch on disabled", 0x06): "ready to switch on",
            ("ready to switch on", 0x07): "switched on",
            ("switched on", 0x0F): "operation enabled",
            ("operation enabled", 0x06): "ready to switch on",
            ("operation enabled", 0x07): "switched on",
            ("switched on", 0x06): "ready to switch on",
        }
        if not self.fault_code:
            self.state = transitions.get((self.state, command), self.state)
        self.power(self.state == "operation enabled")


class DeltaB2(FakeServo):
    """Delta ASDA-B2: parameter Px-yy at group*0x100 + yy*2, every parameter 32 bit, low word first,
    no FC23. P1-01 = 5 (torque from registers, 0x0102); P1-12 torque command in % of rated
    (0x0118); P1-13/14 torque limits; software DI P3-06 (0x030C) and P4-07 (0x040E, bit 0 servo
    on); P2-30 = 5 (0x023C) keeps writes in RAM; alarm P0-01 (0x0002); comm watchdog P3-03/P3-04.
    Monitors (P0-09..P0-11 at 0x0012.., P0-46 at 0x005C) as the drive map assumes them: that part is
    not independent of our map, so it is checked only for consistency, not for truth."""

    PUU_PER_REV = 131072

    def __init__(self, built: Built, path: Path, period_s: float) -> None:
        super().__init__(built, path, period_s)
        self.params: dict[int, int] = {}
        self.eeprom_writes = 0

    def read(self, address: int, count: int) -> list[int] | int:
        rated = self.built.rated_torque_nm
        monitors = {
            0x0002: [self.fault_code, 0],
            0x0012: to_words(round(self.angle_rad() * self.PUU_PER_REV / (2 * math.pi)), True, 2, True),
            0x0014: to_words(round(self.velocity_rad_s() * RPM * 10), True, 2, True),
            0x0016: to_words(round(self.applied_nm / rated * 100), True, 2, True),
            0x005C: [(1 if self.enabled else 0) | (2 if self.fault_code else 0), 0],
        }
        table: dict[int, int] = dict(self.params)
        for start, words in monitors.items():
            table.update(zip(range(start, start + len(words)), words, strict=True))
        if address + count > 0x0600:  # parameter groups P0..P5 only
            return ILLEGAL_ADDRESS
        return [table.get(a, 0) for a in range(address, address + count)]

    def write(self, address: int, values: list[int]) -> int | None:
        if self.params.get(0x023C) != 5 and address != 0x023C:
            self.eeprom_writes += 1
        for offset, value in enumerate(values):
            self.params[address + offset] = value
        rated = self.built.rated_torque_nm
        base = address & ~1
        pair = [self.params.get(base, 0), self.params.get(base + 1, 0)]
        if base == 0x0118 and self.params.get(0x0102) == 5:
            self.command(from_words(pair, True, low_first=True) / 100 * rated)
        elif base in (0x011A, 0x011C):
            forward, reverse = self.limit_nm
            limit = from_words(pair, True, low_first=True) / 100 * rated
            self.limit_nm = (limit, reverse) if base == 0x011A else (forward, limit)
        elif base == 0x040E:
            self.power(self.params[0x040E] & 1 == 1)
        return None
