"""A real mosquitto on loopback, a subscriber that outlives broker restarts, and signed commands."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiomqtt

from controller.bridge.process import start_bridge
from controller.bridge.signing import sign
from controller.runtime.priority import helper_priority
from controller.runtime.service import ControlService
from controller.timing import Clock
from tests.live_dashboard import free_port
from tests.machines import home_gym_file
from tests.service_harness import running_service

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
KEY = b"0123456789abcdef0123456789abcdef"
MACHINE_ID = "gym-1"


class Broker:
    def __init__(self, folder: Path, settings: str = "persistence false\n") -> None:
        self.port = free_port()
        self.config = folder / "mosquitto.conf"
        self.config.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\nset_tcp_nodelay true\n{settings}"
        )
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        assert Path(MOSQUITTO).exists(), f"{MOSQUITTO} is missing: ./dev test installs Debian's mosquitto"
        self.process = subprocess.Popen([MOSQUITTO, "-c", str(self.config)], stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            assert time.monotonic() < deadline, "mosquitto did not start"
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@contextmanager
def broker(folder: Path, settings: str = "persistence false\n") -> Iterator[Broker]:
    running = Broker(folder, settings)
    running.start()
    try:
        yield running
    finally:
        running.stop()


def machine_file(folder: Path, url: str, key: bytes | None = KEY, sections: str = "") -> Path:
    """home-gym-2kw with an [mqtt] section for this broker, and any other `sections` (TOML)."""
    lines = ["[mqtt]", f'url = "{url}"', f'machine_id = "{MACHINE_ID}"', "telemetry_hz = 20.0"]
    if key is not None:
        (folder / "command.key").write_bytes(key)
        lines.append(f'command_key_file = "{folder / "command.key"}"')
    return home_gym_file(folder, "\n" + "\n".join(lines) + "\n" + sections)


@dataclass
class Received:
    topic: str
    body: dict[str, Any]
    at: float  # time.perf_counter() on arrival


@dataclass
class Subscriber:
    """Listens to everything under the prefix in a thread of its own, reconnecting as needed; can
    also publish (commands)."""

    port: int
    messages: list[Received] = field(default_factory=list)
    outgoing: list[tuple[str, bytes]] = field(default_factory=list)
    connected: threading.Event = field(default_factory=threading.Event)
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        threading.Thread(target=self._thread, daemon=True).start()
        assert self.connected.wait(10), "the test subscriber could not connect"

    def stop(self) -> None:
        self._stop.set()

    def _thread(self) -> None:
        # This thread shares a process (and its GIL) with a real-time control loop: like the control
        # process's own helper threads, it must not be starved by the OS while holding the GIL.
        helper_priority()
        asyncio.run(self._run())

    async def _run(self) -> None:
        while not self._stop.is_set():
            try:
                async with aiomqtt.Client(
                    "127.0.0.1", self.port, identifier=f"test-{uuid.uuid4().hex[:8]}"
                ) as c:
                    await c.subscribe("eccentrix/#", qos=1)
                    self.connected.set()
                    await asyncio.gather(self._listen(c), self._send(c))
            except aiomqtt.MqttError:
                self.connected.clear()
                await asyncio.sleep(0.2)

    async def _listen(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            payload = message.payload if isinstance(message.payload, bytes) else b""
            try:
                body = json.loads(payload)
            except (ValueError, RecursionError):  # our own garbled and hostile test commands
                body = {"raw": payload[:200].decode(errors="replace")}
            self.messages.append(Received(str(message.topic), body, time.perf_counter()))
            if self._stop.is_set():
                return

    async def _send(self, client: aiomqtt.Client) -> None:
        while not self._stop.is_set():
            while self.outgoing:
                topic, payload = self.outgoing.pop(0)
                await client.publish(topic, payload, qos=1)
            await asyncio.sleep(0.02)

    def on(self, leaf: str) -> list[dict[str, Any]]:
        topic = f"eccentrix/{MACHINE_ID}/{leaf}"
        return [m.body for m in self.messages if m.topic == topic]

    def wait_for(self, leaf: str, count: int = 1, timeout_s: float = 60.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout_s
        while len(self.on(leaf)) < count:
            assert time.monotonic() < deadline, f"fewer than {count} message(s) on {leaf!r} in {timeout_s} s"
            time.sleep(0.05)
        return self.on(leaf)

    def filed(self, count: int = 1, timeout_s: float = 120.0) -> list[dict[str, Any]]:
        """The blocks filed (`block_done` on the set topic, which also carries warnings), once
        there are `count`."""
        deadline = time.monotonic() + timeout_s
        while len(done := [m for m in self.on("set") if m.get("type") == "block_done"]) < count:
            assert time.monotonic() < deadline, f"fewer than {count} block(s) filed in {timeout_s} s"
            time.sleep(0.05)
        return done

    def command(
        self, cmd: str, key: bytes | None = KEY, timeout_s: float = 10.0, **fields: Any
    ) -> dict[str, Any]:
        """Send a command (signed with `key`, unsigned with None) and wait for its response."""
        payload: dict[str, Any] = {"v": 1, "machine": MACHINE_ID, "cmd": cmd, "ts": time.time()}
        payload |= {"nonce": uuid.uuid4().hex, **fields}
        if key is not None:
            payload = sign(payload, key)
        return self.send_raw(json.dumps(payload).encode(), payload["nonce"], timeout_s)

    def send_raw(self, data: bytes, nonce: str | None, timeout_s: float = 10.0) -> dict[str, Any]:
        seen = len(self.on("cmd/response"))
        self.outgoing.append((f"eccentrix/{MACHINE_ID}/cmd", data))
        deadline = time.monotonic() + timeout_s
        while True:
            fresh = self.on("cmd/response")[seen:]
            mine = [r for r in fresh if r.get("nonce") == nonce]
            if mine:
                return mine[0]
            assert time.monotonic() < deadline, "no response to the command"
            time.sleep(0.02)


@dataclass
class Fleet:
    broker: Broker
    service: ControlService
    subscriber: Subscriber
    folder: Path


@contextmanager
def fleet_of_one(
    folder: Path,
    clock: Clock | None = None,
    key: bytes | None = KEY,
    settings: str = "persistence false\n",
    sections: str = "",
) -> Iterator[Fleet]:
    """A control service with a simulated lifter, its bridge, a broker, and a subscriber to it all;
    `sections`: more of the machine file (TOML), such as a [site]."""
    with broker(folder, settings) as running, running_service(folder, clock) as service:
        subscriber = Subscriber(running.port)
        subscriber.start()
        file = machine_file(folder, running.url, key, sections)
        bridge = start_bridge(service.port.path, str(file), None, folder / "sessions.sqlite")
        try:
            subscriber.wait_for("state", timeout_s=30)
            yield Fleet(running, service, subscriber, folder)
        finally:
            subscriber.stop()
            bridge.terminate()
            bridge.wait(timeout=20)
