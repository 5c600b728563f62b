"""`eccentrix demo`: the embedded default. A simulated drive and a simulated lifter who does the sets
you start, the control service, and the dashboard in its own process, on this computer only."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from controller.app.accounts import hash_password
from controller.app.store import SqliteSessionStore
from controller.bridge.process import mqtt_config, start_bridge
from controller.config import load_athlete, load_machine
from controller.runtime.priority import other_cpus
from controller.runtime.service import ControlService, ServiceSetup
from controller.timing import MonotonicClock
from simulator.lifter import SimulatedLifter
from simulator.rig import Rig
from simulator.simulated_drive import SimulatedDrive

CHILD_EXIT_S = 15.0
DEMO_ACCOUNTS = (
    ("lifter", "athlete"),
    ("patient", "patient"),
    ("clinician", "clinician"),
    ("admin", "admin"),
)


@dataclass(frozen=True, slots=True)
class DemoSetup:
    machine: str
    athlete: str
    data: Path
    host: str = "127.0.0.1"
    port: int = 8000
    password: str | None = None
    seconds: float | None = None
    mqtt: str | None = None


def demo_password(setup: DemoSetup) -> str:
    """The demo accounts' password: given, or made once and kept (0600) beside the demo's data."""
    if setup.password:
        return setup.password
    keep = setup.data / "demo-password"
    if not keep.exists():
        keep.touch(mode=0o600)
        keep.write_text(secrets.token_urlsafe(9) + "\n", encoding="utf-8")
    return keep.read_text(encoding="utf-8").strip()


def ensure_accounts(store_path: Path, password: str) -> None:

    store = SqliteSessionStore(store_path)
    try:
        for name, role in DEMO_ACCOUNTS:
            if store.account(name) is None:
                store.add_account(name, role, hash_password(password))
    finally:
        store.close()


def start_dashboard(setup: DemoSetup, socket: Path, store: Path, recordings: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "dashboard", "--control", str(socket), "--db", str(store)]
    command += ["--recordings", str(recordings), "--host", setup.host, "--port", str(setup.port)]
    command += ["--parent", str(os.getpid())]
    dashboard = subprocess.Popen(command)
    os.sched_setaffinity(dashboard.pid, other_cpus())  # away from the loop's core
    return dashboard


def run_demo(setup: DemoSetup) -> ControlService:
    recordings = setup.data / "recordings"
    recordings.mkdir(parents=True, exist_ok=True)
    store, socket = setup.data / "sessions.sqlite", setup.data / "control.sock"
    password = demo_password(setup)
    ensure_accounts(store, password)
    machine = load_machine(setup.machine)
    rig = Rig.build(machine, load_athlete(setup.athlete), planned_reps=0, dt_s=0.001)
    clock = MonotonicClock()
    drive = SimulatedDrive(rig, clock, machine)
    service = ControlService(
        ServiceSetup(machine, socket, recordings, store), drive, clock, SimulatedLifter(rig, 0, waiting=True)
    )
    dashboard = start_dashboard(setup, socket, store, recordings)
    bridge = None
    if mqtt_config(machine, setup.mqtt) is not None:
        bridge = start_bridge(socket, setup.machine, setup.mqtt, store)
    print(
        f"eccentrix demo: simulated {setup.athlete} lifter on simulated {machine.name}\n"
        f"  dashboard: http://{setup.host}:{setup.port}/  (log in as lifter, clinician or admin, "
        f"password {password})\n  data: {setup.data}\n  Ctrl-C stops",
        flush=True,
    )
    if setup.seconds is not None:
        threading.Timer(setup.seconds, service.stop).start()
    # `kill`, systemd and test harnesses stop us with SIGTERM: take the load off and close the
    # recording as for Ctrl-C, rather than dying with torque on.
    signal.signal(signal.SIGTERM, lambda *_: service.stop())
    try:
        asyncio.run(service.serve())
        print(f"  control loop ran with {service.priority}")
    finally:
        _end(dashboard, "the dashboard")
        if bridge is not None:
            _end(bridge, "the MQTT bridge")
    return service


def _end(child: subprocess.Popen[bytes], name: str) -> None:
    """Asked first, so it closes what it holds; killed if it does not go."""
    child.terminate()
    try:
        child.wait(timeout=CHILD_EXIT_S)
    except subprocess.TimeoutExpired:
        print(f"  {name} did not stop within {CHILD_EXIT_S:.0f} s: killed", file=sys.stderr)
        child.kill()
        child.wait()
