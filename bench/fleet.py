"""A fleet on one broker: N simulated machines, each with its own MQTT bridge process, one subscriber.

    .venv/bin/python bench/fleet.py [--machines 20] [--reps 6] [--rate-hz 100]

Every machine is the real control service (simulated drive and lifter, paced to real time) with its
control port; all of them live in this process to fit a small computer, at --rate-hz (100 Hz is
what an RS-485 drive allows; see a6-rs485.toml). Each bridge is its own process, as in production.
Prints messages per second delivered to the subscriber, rep messages lost (reps the machines
completed that never arrived; goal 0) and telemetry latency from the loop to the subscriber.
Needs mosquitto (./dev test installs it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import aiomqtt
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from controller.bridge.process import start_bridge
from controller.config import load_athlete, load_machine, load_profile
from controller.runtime.service import ControlService, ServiceSetup
from simulator.lifter import SimulatedLifter
from simulator.rig import Rig
from simulator.simulated_drive import SimulatedDrive
from tests.mqtt_harness import Broker
from tests.service_harness import PacedClock


def machine_file(folder: Path, index: int, url: str, rate_hz: float) -> Path:
    text = (Path(__file__).resolve().parents[1] / "configs/machines/home-gym-2kw.toml").read_text()
    text = text.replace("rate_hz = 500.0", f"rate_hz = {rate_hz}")
    path = folder / f"gym-{index}.toml"
    path.write_text(text + f'\n[mqtt]\nurl = "{url}"\nmachine_id = "gym-{index}"\ntelemetry_hz = 10.0\n')
    return path


class Machine:
    def __init__(self, folder: Path, index: int, config_path: Path) -> None:
        machine = load_machine(config_path)
        clock = PacedClock(speed=1.0)
        rig = Rig.build(machine, load_athlete("trained"), planned_reps=0)
        drive = SimulatedDrive(rig, clock, machine)
        setup = ServiceSetup(machine, folder / f"gym-{index}.sock", raise_priority=False)
        self.service = ControlService(setup, drive, clock, SimulatedLifter(rig, 0, waiting=True))
        self.service.stop_after_block = True
        self.reps: list[int] = []
        self.service.rep_listeners.append(lambda rep: self.reps.append(rep.index))
        self.thread = threading.Thread(target=lambda: asyncio.run(self.service.serve()), daemon=True)


async def subscribe(port: int, out: Path) -> None:
    """The one subscriber, in a process of its own: (topic, payload, arrival) lines until the broker
    goes away."""
    with out.open("w") as log:
        try:
            async with aiomqtt.Client("127.0.0.1", port, identifier="fleet-subscriber") as client:
                await client.subscribe("eccentrix/#", qos=1)
                print("subscribed", flush=True)
                async for message in client.messages:
                    payload = message.payload if isinstance(message.payload, bytes) else b""
                    arrived = time.perf_counter()
                    log.write(json.dumps([str(message.topic), payload.decode(), arrived]) + "\n")
        except aiomqtt.MqttError:
            pass


def start_subscriber(port: int, out: Path) -> subprocess.Popen[str]:
    command = [sys.executable, __file__, "--subscriber", str(port), str(out)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None and process.stdout.readline().strip() == "subscribed"
    return process


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--machines", type=int, default=20)
    parser.add_argument("--reps", type=int, default=6)
    parser.add_argument("--rate-hz", type=float, default=100.0)
    parser.add_argument("--subscriber", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.subscriber:
        asyncio.run(subscribe(int(args.subscriber[0]), Path(args.subscriber[1])))
        return

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        broker = Broker(folder)
        broker.start()
        port, url = broker.port, broker.url
        out = folder / "received.jsonl"
        listener = start_subscriber(port, out)
        paths = [machine_file(folder, i, url, args.rate_hz) for i in range(args.machines)]
        machines = [Machine(folder, i, path) for i, path in enumerate(paths)]
        for m in machines:
            m.thread.start()
        bridges = [
            start_bridge(m.service.port.path, str(p), None) for m, p in zip(machines, paths, strict=True)
        ]
        while any(m.service.port.client_count == 0 for m in machines):
            time.sleep(0.1)
        profile = load_profile("constant").model_copy(update={"reps": args.reps})
        started = time.monotonic()
        for m in machines:
            m.service.start_block(profile, 20.0, "bench")
        for m in machines:
            m.thread.join(timeout=60 + 15 * args.reps)
        elapsed = time.monotonic() - started
        time.sleep(3.0)  # the last reps on their way
        for bridge in bridges:
            bridge.terminate()
        for bridge in bridges:
            bridge.wait(timeout=20)
        broker.stop()
        listener.wait(timeout=10)
        received = [json.loads(line) for line in out.read_text().splitlines()]

    topics = Counter(topic.rsplit("/", 1)[-1] for topic, _, _ in received)
    reps = [(topic.split("/")[1], json.loads(p)) for topic, p, _ in received if topic.endswith("/rep")]
    got = {(machine, rep["set"], rep["index"]) for machine, rep in reps}
    expected = {(f"gym-{i}", 1, r) for i, m in enumerate(machines) for r in m.reps}
    latency = (
        np.array([at - json.loads(p)["produced"] for t, p, at in received if t.endswith("/telemetry")]) * 1e3
    )
    print(
        f"{args.machines} machines at {args.rate_hz:.0f} Hz, one mosquitto, one subscriber, {elapsed:.0f} s"
    )
    print(f"  delivered {len(received) / elapsed:.0f} messages/s ({dict(topics)})")
    print(f"  rep messages: {len(expected)} completed, {len(expected - got)} lost   (goal 0)")
    print(
        f"  telemetry latency loop -> subscriber: p50 {np.percentile(latency, 50):.1f} ms, "
        f"p99 {np.percentile(latency, 99):.1f} ms"
    )


if __name__ == "__main__":
    main()
