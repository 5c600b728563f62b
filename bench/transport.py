"""Closed-loop cycles per second and transaction latency for each transport and drive map, beside
the theoretical RTU bus limit at the map's baud rate.

    .venv/bin/python bench/transport.py [--cycles 2000]

A pty ignores baud rate, so over RTU and the serial line what is measured is Python on both ends
(our loop and client in this thread, the simulated drive in another); the bus limit says what the
wire would allow. "our CPU" is this thread's CPU per cycle: the loop step plus our protocol code.
"""

from __future__ import annotations

import argparse
import asyncio
import time

import numpy as np

from controller.config import (
    DriveMap,
    MachineConfig,
    load_athlete,
    load_drive_map,
    load_machine,
    load_profile,
)
from controller.core.loop import ControlLoop
from controller.drive.factory import make_drive
from controller.drive.modbus import ModbusDrive
from controller.drive.registers import plan_reads
from controller.drive.serial_line import SerialLineDrive
from controller.timing import SimulatedClock
from simulator.host import SimDriveHost, Transport
from simulator.rig import Rig

CASES: list[tuple[Transport, str]] = [
    ("modbus-tcp", "sim"),
    ("modbus-tcp", "stepperonline-a6-rs"),
    ("modbus-tcp", "cia402-modbus"),
    ("modbus-rtu", "sim"),
    ("modbus-rtu", "stepperonline-a6-rs"),
    ("modbus-rtu", "cia402-modbus"),
    ("modbus-rtu", "delta-asda-b2"),
    ("serial", "odrive-ascii"),
]


def bus_limit_hz(drive_map: DriveMap) -> tuple[float, str]:
    """Cycles/s the wire allows: frame bytes + 3.5 characters of silence per frame, 1 start bit,
    8 data bits, parity and stop bits; plus any silence the drive itself needs."""
    if drive_map.protocol == "serial_line":
        assert drive_map.serial_line is not None
        chars = len("f 0\n") + len("-12.345678901 -1.234567890\n") + len("c 0 -1.23456\n")
        return drive_map.serial_line.baudrate / (10 * chars), f"{chars} chars/cycle 8N1"
    link = drive_map.link
    assert drive_map.feedback is not None and drive_map.command is not None
    f = drive_map.feedback
    blocks = plan_reads([f.position, f.velocity, f.torque, f.status, f.fault_code])
    write_words = drive_map.command.torque.type.words
    frames: list[int] = []
    if link.fc23 and len(blocks) == 1:
        frames += [11 + 2 * write_words, 5 + 2 * blocks[0].count]
    else:
        for block in blocks:
            frames += [8, 5 + 2 * block.count]
        frames += [8, 8] if write_words == 1 else [9 + 2 * write_words, 8]
    bits = 1 + 8 + (0 if link.parity == "N" else 1) + link.stopbits
    wire_s = sum(size + 3.5 for size in frames) * bits / link.baudrate + len(frames) // 2 * link.silence_s
    framing = f"8{link.parity}{link.stopbits}"
    return (
        1.0 / wire_s,
        f"{sum(frames)} bytes in {len(frames) // 2} transaction(s), {framing} @ {link.baudrate}",
    )


def measure(
    machine: MachineConfig, transport: Transport, name: str, cycles: int
) -> tuple[float, np.ndarray, float]:
    drive_map = load_drive_map(name)
    rig = Rig.build(machine, load_athlete("trained"), planned_reps=50)
    host = SimDriveHost(drive_map, machine, rig, transport, lockstep=True)
    clock = SimulatedClock()
    loop = ControlLoop(machine, load_profile("eccentric-overload-130"))
    drive = make_drive(machine, drive_map, host.start(), clock)
    period = loop.period_s

    async def go() -> tuple[float, float]:
        await drive.connect()
        loop.start_set()
        wall, cpu = time.perf_counter(), time.thread_time()
        await loop.run(drive, clock, lambda lp: False, cycles * period - period / 2)
        return time.perf_counter() - wall, time.thread_time() - cpu

    try:
        wall, cpu = asyncio.run(go())
    finally:
        host.stop()
    if isinstance(drive, ModbusDrive):
        latency = np.array(drive.stats.latency_s)
    else:
        assert isinstance(drive, SerialLineDrive)
        latency = np.array(drive.latency_s)
    return cycles / wall, latency * 1e6, cpu / cycles * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cycles", type=int, default=2000)
    args = parser.parse_args()
    machine = load_machine("home-gym-2kw")
    print(
        f"closed-loop cycles (read + step + write), {args.cycles} per case; goals: TCP >= 1000 cycles/s, "
        "our CPU per RTU cycle <= 500 us"
    )
    for transport, name in CASES:
        drive_map = load_drive_map(name)
        cycles = args.cycles if drive_map.link.silence_s == 0 else max(50, args.cycles // 20)
        rate, latency, cpu_us = measure(machine, transport, name, cycles)
        limit, frames = bus_limit_hz(drive_map)
        wire = "" if transport == "modbus-tcp" else f"   bus limit {limit:6.0f} Hz ({frames})"
        p50, p99 = np.percentile(latency, 50), np.percentile(latency, 99)
        print(
            f"  {transport:10s} {name:20s} {rate:6.0f} cycles/s   transaction p50 {p50:6.0f} us"
            f"  p99 {p99:6.0f} us   our CPU {cpu_us:5.0f} us/cycle{wire}"
        )


if __name__ == "__main__":
    main()
