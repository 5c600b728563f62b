"""A real-time set at 100 Hz over Modbus TCP and RTU with a CPU hog on every core: the product's own
path (`eccentrix run` with the A6 map against `eccentrix sim-drive` in another process, RTU over a
socat pty pair), 60 s each. The goal is no fault; late replies are discarded, not counted against
the exchanges after them.

    .venv/bin/python bench/loaded_link.py [--seconds 60]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ECCENTRIX = [sys.executable, "-m", "controller.cli"]
MACHINE = "a6-rs485"


@contextmanager
def cpu_hog() -> Iterator[str]:
    """stress-ng on every core where it is installed, otherwise one spinning Python per core."""
    cores = os.cpu_count() or 1
    if shutil.which("stress-ng"):
        hogs = [subprocess.Popen(["stress-ng", "--cpu", str(cores), "--quiet"])]
        what = f"stress-ng --cpu {cores}"
    else:
        hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(cores)]
        what = f"{cores} spinning Python processes"
    try:
        yield what
    finally:
        for hog in hogs:
            hog.terminate()
            hog.wait(timeout=10)


@contextmanager
def pty_pair() -> Iterator[tuple[str, str]]:
    socat = subprocess.Popen(
        ["socat", "-d", "-d", "pty,raw,echo=0", "pty,raw,echo=0"], stderr=subprocess.PIPE, text=True
    )
    assert socat.stderr is not None
    paths = [re.search(r"PTY is (\S+)", socat.stderr.readline()) for _ in range(2)]
    try:
        yield paths[0].group(1), paths[1].group(1)  # type: ignore[union-attr]
    finally:
        socat.terminate()
        socat.wait(timeout=5)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def one_set(transport: str, seconds: float) -> str:
    with link_for(transport) as (server_at, link):
        drive = subprocess.Popen(
            [
                *ECCENTRIX,
                "sim-drive",
                "--drive",
                "stepperonline-a6-rs",
                "--machine",
                MACHINE,
                "--reps",
                "100",
                *server_at,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert drive.stdout is not None
        drive.stdout.readline()  # serving
        try:
            started = time.monotonic()
            done = subprocess.run(
                [
                    *ECCENTRIX,
                    "run",
                    "--machine",
                    MACHINE,
                    "--link",
                    link,
                    "--profile",
                    "constant",
                    "--load-kg",
                    "8",
                    "--reps",
                    "100",
                    "--seconds",
                    str(seconds),
                ],
                capture_output=True,
                text=True,
                timeout=seconds + 60,
            )
        finally:
            drive.terminate()
            drive.wait(timeout=10)
    faults = [
        line.strip() for line in done.stdout.splitlines() if "safety: drive_" in line or "loop_lag" in line
    ]
    reps = sum(1 for line in done.stdout.splitlines() if line.strip().startswith("rep "))
    loop = next((line.strip() for line in done.stdout.splitlines() if line.strip().startswith("loop:")), "")
    return (
        f"  {transport:10s} {time.monotonic() - started:5.1f} s, exit {done.returncode}, {reps} reps, "
        f"{len(faults)} faults {faults[:2]}; {loop}"
    )


@contextmanager
def link_for(transport: str) -> Iterator[tuple[list[str], str]]:
    if transport == "modbus-tcp":
        port = free_port()
        yield ["--tcp", f"127.0.0.1:{port}"], f"tcp://127.0.0.1:{port}"
        return
    with pty_pair() as (server, client):
        yield ["--serial", server], f"rtu://{client}?parity=N"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    os.chdir(Path(__file__).resolve().parents[1])
    with cpu_hog() as hog, tempfile.TemporaryDirectory():
        print(f"100 Hz sets with the A6 map, {hog} beside them; goal: no fault")
        for transport in ("modbus-tcp", "modbus-rtu"):
            print(one_set(transport, args.seconds), flush=True)


if __name__ == "__main__":
    main()
