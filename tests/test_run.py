"""`eccentrix run` against a drive in another process, in real time, over a real TCP socket."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pymodbus.client import ModbusTcpClient

from controller.config import ConfigError, load_drive_map, load_machine, resolve
from controller.runtime.recorder import read_recording
from controller.runtime.regression import regression_replay
from tests.live_dashboard import free_port
from tests.machines import home_gym_text

ECCENTRIX = [sys.executable, "-m", "controller.cli"]
DRIVE_MAP = resolve("drives", "sim")


def machine_file(tmp_path: Path, link: str) -> Path:
    """The home gym on the simulated drive's map, with a reply timeout of 100 ms instead of its
    20: the drive is another process that a loaded machine starves (CI saw a run fault before its
    first rep), and these tests are about what a run does, not about the link's timing."""
    patient = tmp_path / "patient-sim.toml"
    patient.write_text(re.sub(r"(?m)^timeout_s = .*$", "timeout_s = 0.1", DRIVE_MAP.read_text(), count=1))
    modbus = f'kind = "modbus"\nmap = "{patient}"\nlink = "{link}"'
    path = tmp_path / "machine.toml"
    path.write_text(home_gym_text().replace('kind = "sim"\nmap = "sim"', modbus))
    return path


def wait_for_port(port: int, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listening on {port}")


def test_run_drives_a_real_time_drive_in_another_process(tmp_path):
    port = free_port()
    server = subprocess.Popen(
        [*ECCENTRIX, "sim-drive", "--tcp", f"127.0.0.1:{port}", "--reps", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for_port(port)
        record = tmp_path / "real.ecxr"
        done = subprocess.run(
            [
                *ECCENTRIX,
                "run",
                "--machine",
                str(machine_file(tmp_path, f"tcp://127.0.0.1:{port}")),
                "--reps",
                "1",
                "--record",
                str(record),
                "--seconds",
                "40",
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert "rep  1" in done.stdout
        recording = read_recording(record)
        assert recording.damage is None and recording.frames > 1000
        assert regression_replay(recording).identical, "a real-time set over a real link replays exactly"
        assert drive_status(port) == 0, "the drive was left enabled"
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_run_refuses_a_simulated_machine_and_a_real_drive_without_a_link(tmp_path):
    done = subprocess.run([*ECCENTRIX, "run", "--machine", "home-gym-2kw"], capture_output=True, text=True)
    assert done.returncode == 2 and "drive.kind = 'sim'" in done.stderr
    path = tmp_path / "nolink.toml"
    path.write_text('name = "x"\n[drive]\nkind = "modbus"\nmap = "sim"\n')
    with pytest.raises(ConfigError, match=r"drive\.link is required"):
        load_machine(path)


def test_run_reports_a_drive_that_is_not_there(tmp_path):
    path = machine_file(tmp_path, f"tcp://127.0.0.1:{free_port()}")
    done = subprocess.run(
        [*ECCENTRIX, "run", "--machine", str(path)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert "cannot reach the drive" in done.stderr


def test_run_refuses_a_drive_without_a_watchdog_unless_sto_is_wired(tmp_path):
    a6 = 'kind = "modbus"\nmap = "stepperonline-a6-rs"\nlink = "tcp://127.0.0.1:1"'
    path = tmp_path / "a6.toml"
    path.write_text(home_gym_text().replace('kind = "sim"\nmap = "sim"', a6))
    done = subprocess.run(
        [*ECCENTRIX, "run", "--machine", str(path)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert "sto_wired = true" in done.stderr and "stepperonline-a6-rs" in done.stderr
    path.write_text(path.read_text().replace(a6, a6 + "\nsto_wired = true"))
    done = subprocess.run(
        [*ECCENTRIX, "run", "--machine", str(path)], capture_output=True, text=True, timeout=60
    )
    assert "cannot reach the drive" in done.stderr, "wired: it goes on to the link"


def drive_status(port: int) -> int:
    feedback = load_drive_map("sim").feedback
    assert feedback is not None
    client = ModbusTcpClient("127.0.0.1", port=port)
    client.connect()
    status = int(client.read_holding_registers(feedback.status.address, count=1).registers[0])
    client.close()
    return status


def start_sim_drive(port: int) -> subprocess.Popen[str]:
    server = subprocess.Popen(
        [*ECCENTRIX, "sim-drive", "--tcp", f"127.0.0.1:{port}", "--reps", "20"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for_port(port)
    return server


def start_run(tmp_path: Path, port: int) -> subprocess.Popen[str]:
    """`eccentrix run` against the simulated drive on `port`: 20 reps, a minute at most."""
    machine = str(machine_file(tmp_path, f"tcp://127.0.0.1:{port}"))
    return subprocess.Popen(
        [*ECCENTRIX, "run", "--machine", machine, "--reps", "20", "--seconds", "60"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_line(process: subprocess.Popen[str], text: str, seconds: float = 30.0) -> None:
    assert process.stdout is not None
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if text in line:
            return
    raise TimeoutError(f"no {text!r} from the process")


@pytest.mark.parametrize("signal_name", ["SIGINT", "SIGTERM"])
def test_ctrl_c_and_sigterm_mid_set_leave_the_drive_disabled(tmp_path, signal_name):
    port = free_port()
    server = start_sim_drive(port)
    try:
        run_process = start_run(tmp_path, port)
        wait_for_line(run_process, "rep  1")
        assert drive_status(port) == 2, "running mid-set"
        run_process.send_signal(getattr(signal, signal_name))
        run_process.communicate(timeout=30)
        assert drive_status(port) == 0, f"{signal_name} left the drive enabled"
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_a_drive_killed_mid_set_is_one_line_on_stderr_and_a_failed_run(tmp_path):
    port = free_port()
    server = start_sim_drive(port)
    run_process = start_run(tmp_path, port)
    try:
        wait_for_line(run_process, "rep  1")
        server.kill()
        server.wait(timeout=10)
        _, stderr = run_process.communicate(timeout=60)
    finally:
        run_process.kill()
    assert run_process.returncode == 1
    lines = stderr.strip().splitlines()
    assert 1 <= len(lines) <= 3, stderr
    assert "drive_" in lines[0] and "0x" not in stderr, stderr
