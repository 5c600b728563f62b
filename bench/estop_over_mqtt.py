"""E-stop latency over MQTT: alone, during a storm of malformed commands, and after it.

    .venv/bin/python bench/estop_over_mqtt.py [--seconds 15] [--storm-clients 4]

A real mosquitto on loopback, the control service (simulated drive and lifter, real time) with its
bridge in its own process, as `eccentrix run` has them, and a set under way. A signed e-stop is
published every 200 ms and timed from publishing to the bridge's response (which comes once the
control loop has taken it). Meanwhile, in the storm phase, N clients publish as fast as the broker
takes them what issue 17 found killing the bridge: non-ASCII signatures, NaN, 1e400, lone
surrogates, 50,000 nested brackets, bytes that are not UTF-8, unsigned and badly signed commands,
replays. Goal (issue 17): every e-stop answered, p99 within 100 ms, half a person's reaction time;
the bridge alive at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiomqtt
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from controller.bridge.client import NO_DELAY
from controller.bridge.process import start_bridge, wait_for_bridge
from controller.bridge.signing import sign
from tests.mqtt_harness import KEY, MACHINE_ID, broker, machine_file
from tests.service_harness import PacedClock, running_service

PRESS_EVERY_S = 0.2
COMMANDS = f"eccentrix/{MACHINE_ID}/cmd"
RESPONSES = f"eccentrix/{MACHINE_ID}/cmd/response"


def signed(cmd: str, **fields: object) -> tuple[str, bytes]:
    nonce = uuid.uuid4().hex
    payload = {"v": 1, "machine": MACHINE_ID, "cmd": cmd, "ts": time.time(), "nonce": nonce, **fields}
    return nonce, json.dumps(sign(payload, KEY)).encode()


def hostile_messages() -> list[bytes]:
    _, replayed = signed("reset")
    unsigned = json.dumps({"v": 1, "machine": MACHINE_ID, "cmd": "estop", "ts": time.time()}).encode()
    badly_signed = json.dumps(json.loads(signed("start")[1]) | {"sig": "0" * 64}).encode()
    return [
        '{"sig": "\u00e9"}'.encode(),
        b'{"sig": "a", "x": NaN}',
        b'{"sig": "a", "ts": 1e400}',
        b'{"sig": "\\ud800"}',
        b"[" * 50_000,
        b"\xff\xfe",
        unsigned,
        badly_signed,
        replayed,
    ]


class Presser:
    """Publishes signed e-stops and times each to the response bearing its nonce."""

    def __init__(self, client: aiomqtt.Client) -> None:
        self.client = client
        self.waiting: dict[str, asyncio.Future[float]] = {}

    async def listen(self) -> None:
        async for message in self.client.messages:
            try:
                nonce = json.loads(message.payload if isinstance(message.payload, bytes) else b"").get(
                    "nonce"
                )
            except (ValueError, AttributeError):
                continue
            future = self.waiting.pop(nonce, None) if isinstance(nonce, str) else None
            if future is not None and not future.done():
                future.set_result(time.perf_counter())

    async def press(self, until: float) -> list[float]:
        latencies = []
        while time.monotonic() < until:
            nonce, payload = signed("estop")
            arrived = self.waiting[nonce] = asyncio.get_running_loop().create_future()
            sent = time.perf_counter()
            await self.client.publish(COMMANDS, payload, qos=1)
            latencies.append(await asyncio.wait_for(arrived, 10.0) - sent)
            await asyncio.sleep(PRESS_EVERY_S)
        return latencies


async def storm(port: int, until: float) -> int:
    sent = 0
    async with aiomqtt.Client("127.0.0.1", port, identifier=f"storm-{uuid.uuid4().hex[:8]}") as client:
        for payload in itertools.cycle(hostile_messages()):
            if time.monotonic() >= until:
                return sent
            await client.publish(COMMANDS, payload, qos=0)
            sent += 1
            if sent % 50 == 0:
                await asyncio.sleep(0)  # let the client's own reader run
    return sent


async def measure(port: int, seconds: float, storm_clients: int) -> dict[str, tuple[list[float], int]]:
    figures: dict[str, tuple[list[float], int]] = {}
    async with aiomqtt.Client("127.0.0.1", port, identifier="presser", socket_options=[NO_DELAY]) as client:
        await client.subscribe(RESPONSES, qos=1)
        presser = Presser(client)
        listening = asyncio.create_task(presser.listen())
        _, start = signed("start", set={"profile": "constant", "reps": 100, "person": "bench"})
        await client.publish(COMMANDS, start, qos=1)
        await asyncio.sleep(3.0)
        figures["alone"] = (await presser.press(time.monotonic() + seconds), 0)
        until = time.monotonic() + seconds
        storms = asyncio.gather(*(storm(port, until) for _ in range(storm_clients)))
        during, sent = await asyncio.gather(presser.press(until), storms)
        figures["during the storm"] = (during, sum(sent))
        figures["after it"] = (await presser.press(time.monotonic() + seconds / 3), 0)
        listening.cancel()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=15.0, help="measured, per phase")
    parser.add_argument("--storm-clients", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name, broker(Path(name)) as mosquitto:
        folder = Path(name)
        with running_service(folder, PacedClock(speed=1.0)) as service:
            bridge = start_bridge(service.port.path, str(machine_file(folder, mosquitto.url)), None)
            try:
                wait_for_bridge(service.port, bridge)
                figures = asyncio.run(measure(mosquitto.port, args.seconds, args.storm_clients))
                alive = bridge.poll() is None
            finally:
                bridge.terminate()
                bridge.wait(timeout=20)
    for phase, (latencies, sent) in figures.items():
        ms = np.array(latencies) * 1e3
        storm_note = f" ({sent} hostile messages from {args.storm_clients} clients)" if sent else ""
        print(
            f"{phase:>16}{storm_note}: e-stop answered in p50 {np.percentile(ms, 50):.1f} ms, "
            f"p99 {np.percentile(ms, 99):.1f} ms, max {ms.max():.1f} ms over {len(ms)} presses "
            "(goal p99 <= 100 ms)"
        )
    print(f"bridge alive at the end: {'yes' if alive else 'NO'}")


if __name__ == "__main__":
    main()
