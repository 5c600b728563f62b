"""A drive spoken to with a line protocol modelled on ODrive's ASCII protocol:

    c <axis> <torque_nm>           set torque (also feeds the drive's watchdog); no reply
    f <axis>                       -> "<pos_turns> <vel_turns_per_s>"
    w axis<N>.<property> <value>   write a property; no reply
    r axis<N>.<property>           -> "<value>"

The drive does not report its torque on `f`; we report the torque we last commanded, which a
current-controlled drive follows within a millisecond.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import deque

import serial_asyncio_fast

from controller.config import DriveMap, MachineConfig
from controller.drive.base import (
    LATENCY_WINDOW,
    DriveAlarm,
    DriveFeedback,
    DriveLinkLost,
    DriveProtocolError,
    DriveTimeout,
)
from controller.drive.torque_window import TorqueWindow
from controller.timing import Clock

_CLOSED_LOOP = 8
_IDLE = 1


class SerialLineDrive:
    def __init__(self, drive_map: DriveMap, machine: MachineConfig, path: str, clock: Clock) -> None:
        if drive_map.serial_line is None:
            raise ValueError(f"drive map {drive_map.name!r} has no [serial_line] section")
        self.map = drive_map
        self.line = drive_map.serial_line
        self.machine = machine
        self.path = path
        self.clock = clock
        self.latency_s: deque[float] = deque(maxlen=LATENCY_WINDOW)
        self.timeouts = 0
        self._rad_per_turn = 2.0 * math.pi / self.line.turns_per_rev
        self.torque_window = TorqueWindow.of(machine)
        self._torque_nm = 0.0
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    @property
    def sources(self) -> dict[str, str]:
        reply = f"the 'f {self.line.axis}' reply of drive map {self.map.name!r}"
        return {"position": f"position in {reply}", "velocity": f"velocity in {reply}"}

    async def connect(self) -> None:
        try:
            self._reader, self._writer = await asyncio.wait_for(
                serial_asyncio_fast.open_serial_connection(url=self.path, baudrate=self.line.baudrate), 2.0
            )
        except (OSError, TimeoutError) as exc:
            raise DriveLinkLost(f"cannot open {self.path}: {exc}") from None
        axis = f"axis{self.line.axis}"
        await self._send(f"w {axis}.config.watchdog_timeout {self.line.watchdog_timeout_s}")
        await self._send(f"w {axis}.config.enable_watchdog 1")
        await self._send(f"w {axis}.requested_state {_CLOSED_LOOP}")
        await self._check_error()

    async def read(self) -> DriveFeedback:
        reply = await self._ask(f"f {self.line.axis}")
        try:
            pos_turns, vel_turns = (float(part) for part in reply.split())
        except ValueError:
            raise DriveProtocolError(f"{self.path}: expected '<pos> <vel>', got {reply!r}") from None
        return DriveFeedback(
            time_s=self.clock.now(),
            angle_rad=pos_turns * self._rad_per_turn,
            velocity_rad_s=vel_turns * self._rad_per_turn,
            torque_nm=self._torque_nm,
        )

    async def write(self, torque_nm: float) -> None:
        self._torque_nm = self.torque_window.clamp(torque_nm)
        await self._send(f"c {self.line.axis} {self._torque_nm:.5f}")

    async def reset_alarm(self) -> None:
        await self._send(f"w axis{self.line.axis}.error 0")

    async def disable(self) -> None:
        if self._writer is None:
            return
        with contextlib.suppress(DriveLinkLost):
            await self._send(f"c {self.line.axis} 0")
            await self._send(f"w axis{self.line.axis}.requested_state {_IDLE}")

    async def close(self) -> None:
        await self.disable()
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None

    async def _check_error(self) -> None:
        code = int(float(await self._ask(f"r axis{self.line.axis}.error")))
        if code:
            raise DriveAlarm(code, self.map.fault_text(code))

    async def _send(self, line: str) -> None:
        if self._writer is None:
            raise DriveLinkLost(f"{self.path}: not connected")
        try:
            self._writer.write((line + "\n").encode())
            await self._writer.drain()
        except OSError as exc:
            raise DriveLinkLost(f"{self.path}: {exc}") from None

    async def _ask(self, line: str) -> str:
        if self._reader is None:
            raise DriveLinkLost(f"{self.path}: not connected")
        started = time.perf_counter()
        await self._send(line)
        try:
            raw = await asyncio.wait_for(self._reader.readline(), timeout=self.line.timeout_s * 4)
        except TimeoutError:
            self.timeouts += 1
            raise DriveTimeout(f"{self.path}: no answer to {line!r}") from None
        except OSError as exc:
            raise DriveLinkLost(f"{self.path}: {exc}") from None
        if not raw:
            raise DriveLinkLost(f"{self.path}: the line closed")
        self.latency_s.append(time.perf_counter() - started)
        return raw.decode(errors="replace").strip()
