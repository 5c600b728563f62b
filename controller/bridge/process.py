"""Starting the bridge beside a control process, and the broker settings it will use."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from controller.config import MachineConfig
from controller.config.loader import validate
from controller.config.mqtt import MqttConfig
from controller.runtime.ipc import ControlPort


def mqtt_config(machine: MachineConfig, url: str | None) -> MqttConfig | None:
    """The machine file's [mqtt] section, its url replaced by --mqtt; None: no bridge."""
    if url is None:
        return machine.mqtt
    base = machine.mqtt.model_dump() if machine.mqtt else {}
    return validate(base | {"url": url}, MqttConfig, "--mqtt")


def start_bridge(
    control_socket: Path, machine: str, url: str | None, store: Path | None = None
) -> subprocess.Popen[bytes]:
    """The bridge as a child process (never inside the control process); with the session store,
    it keeps the caps a site sends."""
    command = [sys.executable, "-m", "controller.bridge", "--control", str(control_socket)]
    command += ["--machine", machine, "--parent", str(os.getpid())]
    if url is not None:
        command += ["--mqtt", url]
    if store is not None:
        command += ["--store", str(store)]
    return subprocess.Popen(command)


def wait_for_bridge(port: ControlPort, bridge: subprocess.Popen[bytes], timeout_s: float = 20.0) -> None:
    """Until the bridge listens on the port: what is published before that reaches nobody."""
    deadline = time.monotonic() + timeout_s
    while port.client_count == 0:
        if bridge.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("the MQTT bridge did not start (see its message above)")
        time.sleep(0.05)
