"""Run a simulated drive server in its own thread and event loop, so a controller in this process
talks to it over a real link (TCP socket or serial pty), as it would to another box."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import Future
from typing import Literal

from controller.config import DriveMap, MachineConfig
from simulator.drive_server import ModbusDriveServer
from simulator.line_server import LineDriveServer
from simulator.ptypair import PtyPair
from simulator.rig import Rig
from simulator.servo import Servo

Transport = Literal["modbus-tcp", "modbus-rtu", "serial"]


class SimDriveHost:
    def __init__(
        self, drive_map: DriveMap, machine: MachineConfig, rig: Rig, transport: Transport, lockstep: bool
    ) -> None:
        self.servo = Servo(drive_map, machine, rig, lockstep)
        self.transport = transport
        self.pty: PtyPair | None = None
        self.server: ModbusDriveServer | LineDriveServer | None = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="sim-drive", daemon=True)

    def start(self) -> str:
        """Start serving; returns the link a client should use."""
        self._thread.start()
        if self.transport != "modbus-tcp":
            self.pty = PtyPair()
        self._run(self._serve())
        if isinstance(self.server, ModbusDriveServer) and self.server.transport == "tcp":
            return f"tcp://127.0.0.1:{self.server.port}"
        assert self.pty is not None
        suffix = "?parity=N" if self.transport == "modbus-rtu" else ""
        return f"{self.pty.client_path}{suffix}"

    async def _serve(self, port: int = 0) -> None:
        """Built inside the server's own loop: pymodbus binds its futures to the loop it is made in."""
        if self.pty is None:
            self.server = ModbusDriveServer(self.servo, "tcp", "127.0.0.1", port)
        elif self.transport == "modbus-rtu":
            self.server = ModbusDriveServer(self.servo, "rtu", self.pty.server_path, parity="N")
        else:
            self.server = LineDriveServer(self.servo, self.pty.server_path)
        await self.server.start()

    def stop(self) -> None:
        if self.server is not None:
            self._run(self.server.stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        if self.pty is not None:
            self.pty.close()

    def kill(self) -> None:
        """The drive vanishes mid-set: no more replies, and the link goes down."""
        if self.server is not None:
            self._run(self.server.stop())

    def revive(self) -> None:
        """The drive comes back (on the same port or serial device), powered up: disabled."""
        self.servo.set_enabled(False)
        port = self.server.port if isinstance(self.server, ModbusDriveServer) else 0
        self._run(self._serve(port))

    def _run(self, coroutine: object) -> None:
        future: Future[None] = asyncio.run_coroutine_threadsafe(coroutine, self._loop)  # type: ignore[arg-type]
        future.result(timeout=10)
