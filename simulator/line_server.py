"""The simulated servo behind the ODrive-style line protocol, on a serial device (a pty in tests)."""

from __future__ import annotations

import asyncio
import contextlib
import math

import serial_asyncio_fast

from simulator.servo import Servo

_CLOSED_LOOP = "8"
_WATCHDOG_FAULT = 0x0800


class LineDriveServer:
    def __init__(self, servo: Servo, path: str) -> None:
        if servo.map.serial_line is None:
            raise ValueError(f"drive map {servo.map.name!r} has no [serial_line] section")
        self.servo = servo
        self.path = path
        self.line = servo.map.serial_line
        self.requests = 0
        self._turn = 2.0 * math.pi / self.line.turns_per_rev
        self._task: asyncio.Task[None] | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def start(self) -> None:
        reader, self._writer = await serial_asyncio_fast.open_serial_connection(
            url=self.path, baudrate=self.line.baudrate
        )
        self.servo.watchdog_s = None  # armed by the client's `enable_watchdog`
        self._task = asyncio.create_task(self._serve(reader, self._writer))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._writer is not None:
            self._writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            raw = await reader.readline()
            if not raw:
                return
            self.requests += 1
            faults = self.servo.faults
            if faults.latency_s:
                await asyncio.sleep(faults.latency_s)
            self.servo.catch_up()
            answer = self._handle(raw.decode(errors="replace").split())
            if answer is None or faults.silent:
                continue
            if faults.drop_every and self.requests % faults.drop_every == 0:
                continue
            if faults.garble_every and self.requests % faults.garble_every == 0:
                answer = answer.replace(" ", "#")
            writer.write((answer + "\n").encode())

    def _handle(self, words: list[str]) -> str | None:
        servo = self.servo
        match words:
            case ["c", _, torque]:
                servo.command_torque(float(torque))
                return None
            case ["f", _]:
                return f"{servo.position_rad() / self._turn:.9f} {servo.velocity_rad_s() / self._turn:.9f}"
            case ["w", prop, value] if prop.endswith(".requested_state"):
                servo.set_enabled(value == _CLOSED_LOOP)
                return None
            case ["w", prop, value] if prop.endswith(".watchdog_timeout"):
                self._timeout = float(value)
                return None
            case ["w", prop, value] if prop.endswith(".enable_watchdog"):
                servo.watchdog_s = (
                    getattr(self, "_timeout", self.line.watchdog_timeout_s) if value == "1" else None
                )
                return None
            case ["w", prop, "0"] if prop.endswith(".error"):
                servo.reset_alarm()
                return None
            case ["r", prop] if prop.endswith(".error"):
                return str(servo.fault_code)
            case _:
                return "invalid command"
