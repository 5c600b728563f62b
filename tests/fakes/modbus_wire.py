"""A Modbus server written from the Modbus specifications alone (Application Protocol v1.1b3, and
Modbus over Serial Line v1.02 for RTU framing and CRC), sharing no code with pymodbus or with the
project: what the contract tests hold our client against. Function codes 03, 06, 16 and 23."""

from __future__ import annotations

import asyncio
import contextlib
import os
import struct
import tty
from typing import Protocol

ILLEGAL_FUNCTION = 1
ILLEGAL_ADDRESS = 2


class Registers(Protocol):
    """A device's holding registers: a list of words, or a Modbus exception code."""

    def read(self, address: int, count: int) -> list[int] | int: ...

    def write(self, address: int, values: list[int]) -> int | None: ...

    @property
    def silent(self) -> bool:
        """True while the device answers nothing (a stalled drive on a live link)."""
        ...


def answer(device: Registers, pdu: bytes) -> bytes:
    function = pdu[0]

    def fail(code: int) -> bytes:
        return bytes([function | 0x80, code])

    def read(address: int, count: int) -> bytes:
        words = device.read(address, count)
        if isinstance(words, int):
            return fail(words)
        return bytes([function, 2 * count]) + struct.pack(f">{count}H", *words)

    if function == 0x03:
        address, count = struct.unpack(">HH", pdu[1:5])
        return read(address, count)
    if function == 0x06:
        address, value = struct.unpack(">HH", pdu[1:5])
        code = device.write(address, [value])
        return fail(code) if code else pdu[:5]
    if function == 0x10:
        address, count, _ = struct.unpack(">HHB", pdu[1:6])
        code = device.write(address, list(struct.unpack(f">{count}H", pdu[6 : 6 + 2 * count])))
        return fail(code) if code else pdu[:5]
    if function == 0x17:  # the write is done before the read (spec 6.17)
        read_at, read_count, write_at, write_count, _ = struct.unpack(">HHHHB", pdu[1:10])
        values = list(struct.unpack(f">{write_count}H", pdu[10 : 10 + 2 * write_count]))
        code = device.write(write_at, values)
        return fail(code) if code else read(read_at, read_count)
    return fail(ILLEGAL_FUNCTION)


def crc16(frame: bytes) -> bytes:
    crc = 0xFFFF
    for byte in frame:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return struct.pack("<H", crc)


def rtu_request_length(buffer: bytes) -> int | None:
    """Length of the RTU request at the start of `buffer`, once enough of it is there to tell."""
    if len(buffer) < 2:
        return None
    function = buffer[1]
    if function in (0x03, 0x06):
        return 8
    if function == 0x10:
        return 9 + buffer[6] if len(buffer) >= 7 else None
    if function == 0x17:
        return 13 + buffer[10] if len(buffer) >= 11 else None
    return 4


class TcpServer:
    """Modbus TCP on loopback: MBAP header, transaction id echoed."""

    def __init__(self, device: Registers, unit: int = 1) -> None:
        self.device = device
        self.unit = unit
        self.port = 0
        self.late_s: list[float] = []  # the next replies go out this late, one each
        self._server: asyncio.Server | None = None

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return f"tcp://127.0.0.1:{self.port}"

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 1.0)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                tid, protocol, length, unit = struct.unpack(">HHHB", await reader.readexactly(7))
                pdu = await reader.readexactly(length - 1)
                if protocol != 0 or unit != self.unit or self.device.silent:
                    continue
                reply = answer(self.device, pdu)
                frame = struct.pack(">HHHB", tid, 0, len(reply) + 1, unit) + reply
                if self.late_s:
                    asyncio.get_running_loop().call_later(self.late_s.pop(0), writer.write, frame)
                    continue
                writer.write(frame)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()


class RtuServer:
    """Modbus RTU on a pseudo-terminal: the client opens `path`; frames are checked by CRC."""

    def __init__(self, device: Registers, unit: int = 1) -> None:
        self.device = device
        self.unit = unit
        self.bad_crc = 0
        self.late_s: list[float] = []
        self._master, self._slave = os.openpty()
        tty.setraw(self._master)
        tty.setraw(self._slave)
        self.path = os.ttyname(self._slave)
        self._buffer = b""

    async def start(self) -> str:
        asyncio.get_running_loop().add_reader(self._master, self._readable)
        return self.path

    async def stop(self) -> None:
        asyncio.get_running_loop().remove_reader(self._master)
        os.close(self._master)
        os.close(self._slave)

    def _readable(self) -> None:
        self._buffer += os.read(self._master, 4096)
        while (length := rtu_request_length(self._buffer)) is not None and len(self._buffer) >= length:
            frame, self._buffer = self._buffer[:length], self._buffer[length:]
            if crc16(frame[:-2]) != frame[-2:]:
                self.bad_crc += 1
                self._buffer = b""  # lost sync: wait for the line to go quiet and start again
                return
            if frame[0] != self.unit or self.device.silent:
                continue
            reply = bytes([self.unit]) + answer(self.device, frame[1:-2])
            framed = reply + crc16(reply)
            if self.late_s:
                asyncio.get_running_loop().call_later(self.late_s.pop(0), os.write, self._master, framed)
            else:
                os.write(self._master, framed)
