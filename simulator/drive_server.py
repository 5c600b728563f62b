"""The simulated servo served over Modbus TCP or Modbus RTU, by any Modbus drive map.

Registers are refreshed from the physics on every read and interpreted on every write, through a
pymodbus SimDevice action; faults (dropped or garbled replies, exception responses, latency, a
drive alarm) are injected at the packet and request level so the client meets them as it would on
a real bus.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from functools import partial
from typing import Literal

from pymodbus.constants import ExcCodes
from pymodbus.framer import FramerType
from pymodbus.server import ModbusSerialServer, ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from controller.config import DriveMap
from controller.config.drive import Register, Write
from controller.drive.registers import decode, encode, with_rated_torque
from simulator.servo import Servo

_ADDRESSES = 0x10000


class ModbusDriveServer:
    def __init__(
        self,
        servo: Servo,
        transport: Literal["tcp", "rtu"],
        address: str,
        port: int = 0,
        parity: Literal["N", "E", "O"] | None = None,
    ) -> None:
        drive_map = servo.map
        if drive_map.protocol != "modbus" or drive_map.feedback is None or drive_map.command is None:
            raise ValueError(f"drive map {drive_map.name!r} is not a Modbus map")
        self.servo = servo
        self.map: DriveMap = with_rated_torque(drive_map, servo.machine.motor.rated_torque_nm)
        self.transport = transport
        self.address = address
        self.port = port
        self.requests = 0
        self._replies = 0
        device = SimDevice(
            id=drive_map.link.device_id,
            simdata=[SimData(address=0, count=_ADDRESSES, values=0, datatype=DataType.REGISTERS)],
            action=self._action,
        )
        self._server: ModbusTcpServer | ModbusSerialServer
        if transport == "tcp":
            self._server = ModbusTcpServer(device, address=(address, port), trace_packet=self._trace)
        else:
            link = drive_map.link
            self._server = ModbusSerialServer(
                device,
                framer=FramerType.RTU,
                port=address,
                baudrate=link.baudrate,
                parity=parity or link.parity,
                stopbits=link.stopbits,
                trace_packet=self._trace,
            )
        self._task: asyncio.Task[None] | None = None
        self._ticker: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._server.serve_forever())
        if not self.servo.lockstep:
            self._ticker = asyncio.create_task(self._tick())
        for _ in range(200):
            if self._server.is_active():
                break
            await asyncio.sleep(0.01)
        if self.transport == "tcp" and self.port == 0:
            transport = self._server.transport
            assert transport is not None
            self.port = transport.sockets[0].getsockname()[1]  # type: ignore[attr-defined]

    async def stop(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
        await self._server.shutdown()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _tick(self) -> None:
        while True:
            self.servo.catch_up()
            await asyncio.sleep(0.005)

    # -- register semantics ------------------------------------------------------------------------
    def _words(self, value: float, register: Register) -> list[int]:
        return encode(value, register, self.map.link.word_order)

    def _refresh(self, registers: list[int], start: int) -> None:
        f = self.map.feedback
        s = self.map.status
        assert f is not None and s is not None
        servo = self.servo
        status = s.fault[0] if servo.fault_code and s.fault else s.running[0] if servo.running else 0
        for register, value in (
            (f.position, servo.position_rad()),
            (f.velocity, servo.velocity_rad_s()),
            (f.torque, servo.torque_nm()),
            (f.status, float(status)),
            (f.fault_code, float(servo.fault_code)),
        ):
            offset = register.address - start
            registers[offset : offset + register.type.words] = self._words(value, register)

    def _written(self, address: int, values: list[int]) -> None:
        servo, c, order = self.servo, self.map.command, self.map.link.word_order
        assert c is not None
        if self._matches(self.map.disable, address, values):
            servo.set_enabled(False)
        if self._matches(self.map.enable[-1:], address, values):
            servo.set_enabled(True)
        if self._matches(self.map.alarm_reset[:1], address, values):
            servo.reset_alarm()
        setters: list[tuple[Register | None, Callable[[float], None]]] = [
            (c.torque_limit_forward, partial(servo.set_torque_limit, True)),
            (c.torque_limit_reverse, partial(servo.set_torque_limit, False)),
            (c.speed_limit_forward, partial(servo.set_speed_limit, True)),
            (c.speed_limit_reverse, partial(servo.set_speed_limit, False)),
        ]
        for register, apply in setters:
            if register is not None and register.address == address and len(values) >= register.type.words:
                apply(decode(values[: register.type.words], register, order))
        if c.torque.address == address and len(values) >= c.torque.type.words:
            servo.command_torque(decode(values[: c.torque.type.words], c.torque, order))

    @staticmethod
    def _matches(writes: list[Write], address: int, values: list[int]) -> bool:
        return any(w.address == address and values[0] == w.value & 0xFFFF for w in writes)

    async def _action(
        self,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        registers: list[int],
        set_values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        self.requests += 1
        faults = self.servo.faults
        if faults.latency_s:
            await asyncio.sleep(faults.latency_s)
        if faults.exception_every and self.requests % faults.exception_every == 0:
            return ExcCodes.DEVICE_BUSY
        self.servo.catch_up()
        if set_values is not None:
            self._written(address, [int(v) for v in set_values])
        else:
            self._refresh(registers, start_address)
        return None

    def _trace(self, sending: bool, data: bytes) -> bytes:
        if not sending:
            return data
        faults = self.servo.faults
        self._replies += 1
        if faults.silent or (faults.drop_every and self._replies % faults.drop_every == 0):
            return b""
        if faults.garble_every and self._replies % faults.garble_every == 0:
            middle = len(data) // 2
            return data[:middle] + bytes([data[middle] ^ 0x5A]) + data[middle + 1 :]
        return data
