"""A torque-mode servo drive over Modbus RTU or TCP, described entirely by its drive map.

No retries and short timeouts: a reply that does not come within the map's timeout is a typed
fault this cycle (the loop then holds no stale decision), never a multi-second stall. One
ModbusDrive owns its bus; a second one on the same port is refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import termios
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, ClassVar, cast

from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusException
from pymodbus.framer import FramerType

from controller.config import DriveMap, MachineConfig
from controller.config.drive import Register, Write
from controller.drive.base import (
    LATENCY_WINDOW,
    DriveAlarm,
    DriveFault,
    DriveFeedback,
    DriveLinkLost,
    DriveProtocolError,
    DriveTimeout,
)
from controller.drive.link import Link
from controller.drive.registers import ReadSpan, decode, encode, plan_reads, with_rated_torque
from controller.drive.torque_window import TorqueWindow
from controller.timing import Clock

_ENABLE_WAIT_S = 1.0
_READ, _WRITE_ONE, _WRITE_MANY, _READ_WRITE = 0x03, 0x06, 0x10, 0x17
_DISABLE_TRY_S = 1.0
_DISABLE_RETRY_S = 0.01

log = logging.getLogger("eccentrix.drive")


@dataclass(slots=True)
class LinkStats:
    transactions: int = 0
    timeouts: int = 0
    garbled: int = 0  # bytes came back but no valid reply could be made of them
    exceptions: int = 0
    stale: int = 0  # a late reply to an earlier request, refused
    latency_s: deque[float] = field(default_factory=lambda: deque(maxlen=LATENCY_WINDOW))


class ModbusDrive:
    _owners: ClassVar[dict[str, ModbusDrive]] = {}

    def __init__(self, drive_map: DriveMap, machine: MachineConfig, link: Link, clock: Clock) -> None:
        if drive_map.protocol != "modbus" or not (
            drive_map.feedback and drive_map.command and drive_map.status
        ):
            raise ValueError(f"drive map {drive_map.name!r} is not a complete Modbus map")
        drive_map = with_rated_torque(drive_map, machine.motor.rated_torque_nm)
        assert drive_map.feedback and drive_map.command and drive_map.status
        self.map = drive_map
        self.feedback_map = drive_map.feedback
        self.command_map = drive_map.command
        self.status_values = drive_map.status
        self.machine = machine
        self.link = link
        self.clock = clock
        self.stats = LinkStats()
        self.torque_window = TorqueWindow.of(machine)
        self._blocks: list[ReadSpan] = plan_reads(self._feedback_registers())
        self._fc23 = drive_map.link.fc23 and len(self._blocks) == 1
        self._pending_torque = 0.0
        self._last_frame_end = 0.0
        self._client: AsyncModbusTcpClient | AsyncModbusSerialClient | None = None
        self._bytes_in = 0
        self._last_byte_s = 0.0
        self._resync = False
        self._disable_unconfirmed = False

    # -- lifecycle ---------------------------------------------------------------------------------
    @property
    def sources(self) -> dict[str, str]:
        f = self.feedback_map
        where = f"of drive map {self.map.name!r}"
        return {
            "position": f"register {f.position.address:#06x} {where}",
            "velocity": f"register {f.velocity.address:#06x} {where}",
            "torque": f"register {f.torque.address:#06x} {where}",
        }

    @property
    def bus(self) -> str:
        return f"{self.link.kind}:{self.link.address}:{self.link.port if self.link.kind == 'tcp' else ''}"

    async def connect(self) -> None:
        owner = ModbusDrive._owners.get(self.bus)
        if owner is not None and owner is not self:
            raise DriveLinkLost(f"{self.bus} already has an owner: one drive object per bus")
        ModbusDrive._owners[self.bus] = self
        self._client = self._make_client()
        try:
            connected = await asyncio.wait_for(self._client.connect(), timeout=2.0)
        except termios.error as exc:
            connected = False
            reason = f"the port rejects {self._framing()} ({exc}); a pty cannot do parity: add ?parity=N"
        except (TimeoutError, OSError) as exc:
            connected = False
            reason = str(exc) or type(exc).__name__
        else:
            reason = "refused"
        if not connected:
            self._release()
            raise DriveLinkLost(f"cannot reach the drive at {self.bus}: {reason}")
        await self._write_all(self.map.setup)
        await self._check_setup()
        await self._write_limits()
        if self.map.watchdog is not None:
            await self._write_all(self.map.watchdog.writes)
        # A drive keeps its torque reference across a lost link: never enable on a stale one.
        self._pending_torque = 0.0
        await self._write_torque(0.0)
        await self._write_all(self.map.enable)
        await self._wait_until_running()

    async def reset_alarm(self) -> None:
        await self._write_all(self.map.alarm_reset)

    async def disable(self) -> None:
        """Zero torque and the disable sequence, again until the status word says the power stage
        is off, or until the link cannot be had back (then the drive's own watchdog, or STO, has
        it). pymodbus drops a TCP connection after a few silent requests: that is reopened."""
        if self._client is None:
            return
        self._pending_torque = 0.0
        # Once given up on, a later call (the loop's end, close) tries once more, not for a second.
        give_up = time.monotonic() + (0.0 if self._disable_unconfirmed else _DISABLE_TRY_S)
        while True:
            try:
                await self._reopen()
                with contextlib.suppress(DriveTimeout, DriveProtocolError):
                    await self._write_torque(0.0)
                await self._write_all(self.map.disable)
                if not await self._reports_running():
                    self._disable_unconfirmed = False
                    return
            except DriveFault as fault:
                if time.monotonic() >= give_up:
                    if not self._disable_unconfirmed:
                        log.error(
                            "drive at %s: disable not acknowledged (%s): its watchdog or STO must stop it",
                            self.bus,
                            fault,
                        )
                    self._disable_unconfirmed = True
                    return
            await asyncio.sleep(_DISABLE_RETRY_S)

    async def _reopen(self) -> None:
        client = self._client
        if client is None or client.connected:
            return
        try:
            reopened = await asyncio.wait_for(client.connect(), timeout=_DISABLE_RETRY_S * 10)
        except (TimeoutError, OSError):
            reopened = False
        if not reopened:
            raise DriveLinkLost(f"no link to the drive at {self.bus}")

    async def _check_setup(self) -> None:
        """A drive that silently refuses a set-up write (wrong address, a locked parameter, a
        firmware that differs) would run on its own defaults: read every one back."""
        for write in self.map.setup:
            reply = await self._transact(partial(self._read_block, ReadSpan(write.address, 1)), _READ, 1)
            kept = int(reply.registers[0])
            if kept != write.value & 0xFFFF:
                raise DriveFault(
                    f"drive at {self.bus} reads {write.address:#06x} = {kept} after set-up wrote "
                    f"{write.value} (drive map {self.map.name!r}): check the parameter and the map"
                )

    async def _reports_running(self) -> bool:
        register = self.feedback_map.status
        reply = await self._transact(partial(self._read_block, ReadSpan(register.address, 1)), _READ, 1)
        return (int(reply.registers[0]) & self.status_values.running_mask) in self.status_values.running

    async def close(self) -> None:
        await self.disable()
        if self._client is not None:
            self._client.close()
        self._release()

    def _release(self) -> None:
        if ModbusDrive._owners.get(self.bus) is self:
            del ModbusDrive._owners[self.bus]

    # -- the cycle ---------------------------------------------------------------------------------
    async def read(self) -> DriveFeedback:
        words: dict[int, int] = {}
        if self._fc23:
            block = self._blocks[0]
            torque = self.command_map.torque
            values = encode(self._pending_torque, torque, self.map.link.word_order)
            reply = await self._transact(
                lambda c: c.readwrite_registers(
                    read_address=block.start,
                    read_count=block.count,
                    write_address=torque.address,
                    values=values,
                    device_id=self.map.link.device_id,
                ),
                _READ_WRITE,
                block.count,
            )
            words.update(zip(range(block.start, block.start + block.count), reply.registers, strict=False))
        else:
            for block in self._blocks:
                reply = await self._transact(partial(self._read_block, block), _READ, block.count)
                words.update(
                    zip(range(block.start, block.start + block.count), reply.registers, strict=False)
                )
        return self._feedback(words)

    async def write(self, torque_nm: float) -> None:
        torque = self.torque_window.clamp(torque_nm)
        if self._fc23:
            self._pending_torque = torque  # goes out with the next read, in the same transaction
            return
        await self._write_torque(torque)

    # -- helpers -----------------------------------------------------------------------------------
    def _read_block(self, block: ReadSpan, client: Any) -> Awaitable[Any]:
        request = client.read_holding_registers(
            block.start, count=block.count, device_id=self.map.link.device_id
        )
        return cast(Awaitable[Any], request)

    def _feedback_registers(self) -> list[Register]:
        f = self.feedback_map
        return [f.position, f.velocity, f.torque, f.status, f.fault_code]

    def _value(self, words: dict[int, int], register: Register) -> float:
        span = [words[register.address + i] for i in range(register.type.words)]
        return decode(span, register, self.map.link.word_order)

    def _feedback(self, words: dict[int, int]) -> DriveFeedback:
        f = self.feedback_map
        status = int(self._value(words, f.status))
        fault = int(self._value(words, f.fault_code))
        s = self.status_values
        if s.fault and (status & s.fault_mask) in s.fault:
            raise DriveAlarm(fault, self.map.fault_text(fault))
        return DriveFeedback(
            time_s=self.clock.now(),
            angle_rad=self._value(words, f.position),
            velocity_rad_s=self._value(words, f.velocity),
            torque_nm=self._value(words, f.torque),
            enabled=(status & s.running_mask) in s.running,
            fault_code=fault,
        )

    async def _write_torque(self, torque_nm: float) -> None:
        register = self.command_map.torque
        values = encode(self.torque_window.clamp(torque_nm), register, self.map.link.word_order)
        await self._write_words(register.address, values)

    async def _write_limits(self) -> None:
        c = self.command_map
        metres_per_rad = self.machine.metres_per_rad
        # Both directions get the tension limit: the drive's speed limiter needs torque against a
        # let-go spool too, and nothing we command ever goes the other way.
        torque = self.torque_window.limit_nm
        payout = self.machine.drive_payout_limit_mps / metres_per_rad
        retract = self.machine.drive_retract_limit_mps / metres_per_rad
        forward, reverse = (payout, retract) if self.machine.payout_sign > 0 else (retract, payout)
        limits = [
            (c.torque_limit_forward, torque),
            (c.torque_limit_reverse, torque),
            (c.speed_limit_forward, forward),
            (c.speed_limit_reverse, reverse),
        ]
        for register, value in limits:
            if register is not None:
                await self._write_words(register.address, encode(value, register, self.map.link.word_order))

    async def _write_all(self, writes: list[Write]) -> None:
        for write in writes:
            if write.delay_s:
                await asyncio.sleep(write.delay_s)
            await self._write_words(write.address, [write.value & 0xFFFF])

    async def _write_words(self, address: int, values: list[int]) -> None:
        device = self.map.link.device_id
        if len(values) == 1:
            await self._transact(lambda c: c.write_register(address, values[0], device_id=device), _WRITE_ONE)
        else:
            await self._transact(lambda c: c.write_registers(address, values, device_id=device), _WRITE_MANY)

    async def _wait_until_running(self) -> None:
        deadline = time.monotonic() + _ENABLE_WAIT_S
        while True:
            feedback = await self.read()
            if feedback.enabled:
                return
            if time.monotonic() > deadline:
                raise DriveFault(f"drive at {self.bus} did not report running after the enable sequence")
            await asyncio.sleep(0.01)

    async def _transact(
        self, request: Callable[[Any], Awaitable[Any]], function_code: int, count: int | None = None
    ) -> Any:
        """One exchange. A reply must answer this request: the same function and, for a read, as
        many registers. Over TCP pymodbus already drops a reply by transaction id; RTU has none,
        so a late reply to the last request would pass for this one's: it is refused, and the line
        is let go quiet before the next request so the exchanges never run out of step."""
        client = self._client
        if client is None or not client.connected:
            raise DriveLinkLost(f"no link to the drive at {self.bus}")
        await self._quiet_line()
        bytes_before = self._bytes_in
        started = time.perf_counter()
        self.stats.transactions += 1
        try:
            reply = await asyncio.wait_for(request(client), timeout=4 * self.map.link.timeout_s)
        except ConnectionException as exc:
            raise DriveLinkLost(f"link to {self.bus} lost: {exc}") from None
        except (ModbusException, TimeoutError):
            self._resync = True
            if self._bytes_in > bytes_before:
                self.stats.garbled += 1
                raise DriveProtocolError(f"garbled reply from {self.bus}") from None
            self.stats.timeouts += 1
            if not client.connected:
                raise DriveLinkLost(f"link to {self.bus} lost") from None
            raise DriveTimeout(
                f"no reply from {self.bus} within {self.map.link.timeout_s * 1e3:.0f} ms"
            ) from None
        finally:
            self._last_frame_end = time.monotonic()
        self.stats.latency_s.append(time.perf_counter() - started)
        if reply.isError():
            self.stats.exceptions += 1
            raise DriveProtocolError(
                f"drive at {self.bus} answered with exception code {reply.exception_code}"
            )
        answered = getattr(reply, "function_code", function_code)
        if answered != function_code or (count is not None and len(reply.registers) != count):
            self.stats.stale += 1
            self._resync = True
            raise DriveTimeout(f"a late reply from {self.bus} to an earlier request: discarded")
        return reply

    async def _quiet_line(self) -> None:
        """Wait out what the drive needs between frames, and after a failed exchange on RTU, the
        rest of a late reply (the next request must not meet it)."""
        wait = self._last_frame_end + self.map.link.silence_s - time.monotonic()
        if self._resync and self.link.kind == "rtu":
            quiet = self.map.link.timeout_s
            give_up = time.monotonic() + 2 * quiet
            while (now := time.monotonic()) < give_up:
                heard = max(self._last_byte_s, self._last_frame_end)  # since the failed exchange
                if now - heard >= quiet:
                    break
                await asyncio.sleep(quiet - (now - heard))
        self._resync = False
        if wait > 0:
            await asyncio.sleep(wait)

    def _trace(self, sending: bool, data: bytes) -> bytes:
        if not sending:
            self._bytes_in += len(data)
            self._last_byte_s = time.monotonic()
        return data

    def _framing(self) -> str:
        link = self.map.link
        return f"8{self.link.parity or link.parity}{link.stopbits}"

    def _make_client(self) -> AsyncModbusTcpClient | AsyncModbusSerialClient:
        link = self.map.link
        if self.link.kind == "tcp":
            return AsyncModbusTcpClient(
                self.link.address,
                port=self.link.port,
                timeout=link.timeout_s,
                retries=0,
                reconnect_delay=0,
                trace_packet=self._trace,
            )
        return AsyncModbusSerialClient(
            self.link.address,
            framer=FramerType.RTU,
            baudrate=link.baudrate,
            parity=self.link.parity or link.parity,
            stopbits=link.stopbits,
            bytesize=8,
            timeout=link.timeout_s,
            retries=0,
            reconnect_delay=0,
            trace_packet=self._trace,
        )
