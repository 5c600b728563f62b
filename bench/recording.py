"""Recording figures, for one hour at 500 Hz (1.8 M frames).

    .venv/bin/python bench/recording.py [--seconds 20] [--rounds 2]

- loop overhead: the real-time loop at 500 Hz with and without recording, alternated (the loop only
  appends a row; a background thread encodes and writes each one-second chunk);
- file size and load time of a real one-hour file, made of a recorded set's frames shifted in time;
- regression replay speed against real time.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import numpy as np

from controller.config import load_athlete, load_machine, load_profile
from controller.core.loop import ControlLoop, Frame
from controller.core.stats import LoopStats
from controller.runtime.recorder import (
    COLUMNS,
    RecordingWriter,
    encode_chunk,
    read_recording,
    recording_header,
)
from controller.runtime.regression import regression_replay
from controller.timing import MonotonicClock
from simulator.rig import Rig
from simulator.simulated_drive import SimulatedDrive

HOUR_FRAMES = 1_800_000
MACHINE = load_machine("home-gym-2kw")
ATHLETE = load_athlete("trained")
PROFILE = load_profile("constant").model_copy(update={"reps": 100, "load_kg": 30.0})


def realtime_run(seconds: float, record: Path | None) -> tuple[LoopStats, list[float]]:
    rig = Rig.build(MACHINE, ATHLETE, planned_reps=100)
    clock = MonotonicClock()
    loop = ControlLoop(MACHINE, PROFILE)
    drive = SimulatedDrive(rig, clock, loop.machine)
    appends: list[float] = []
    writer = None
    if record is not None:
        writer = RecordingWriter(
            record, recording_header(MACHINE, PROFILE, None, ATHLETE), MACHINE.control.rate_hz
        )
        append = writer.append

        def timed_append(frame: Frame) -> None:
            started = time.perf_counter()
            append(frame)
            appends.append(time.perf_counter() - started)

        loop.observers.on_frame.append(timed_append)

    async def go() -> LoopStats:
        await drive.connect()
        loop.start_set()
        return await loop.run(drive, clock, lambda lp: False, seconds)

    stats = asyncio.run(go())
    if writer is not None:
        writer.close()
    return stats, appends


def write_hour(source: Path, target: Path) -> None:
    """One hour of realistic frames: the recorded set, repeated with its time shifted."""
    recording = read_recording(source)
    span = float(recording.time_s[-1]) + 1.0 / recording.header["rate_hz"]
    rows = [tuple(recording.columns[name][i] for name, _ in COLUMNS) for i in range(recording.frames)]
    data = source.read_bytes()
    with target.open("wb") as out:
        out.write(data[: data.index(b"CHNK")])
        written, repeat, chunk = 0, 0, []
        while written < HOUR_FRAMES:
            for row in rows:
                chunk.append((row[0] + repeat * span, *row[1:]))
                if len(chunk) == 500:
                    out.write(encode_chunk(chunk))
                    written, chunk = written + len(chunk), []
                    if written >= HOUR_FRAMES:
                        break
            repeat += 1


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each real-time run")
    parser.add_argument("--rounds", type=int, default=2, help="A/B rounds, alternated")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        source, hour = Path(tmp) / "set.ecxr", Path(tmp) / "hour.ecxr"
        plain, recorded, appends = [], [], []
        for _ in range(args.rounds):
            plain.append(realtime_run(args.seconds, None)[0])
            stats, timed = realtime_run(args.seconds, source)
            recorded.append(stats)
            appends += timed
        step_plain = np.mean([s.step_mean_us for s in plain])
        step_rec = np.mean([s.step_mean_us for s in recorded])
        append_us = 1e6 * float(np.mean(appends))
        print(f"real-time loop at 500 Hz, {args.rounds} x {args.seconds:.0f} s each way, alternated:")
        print(f"  step mean without / with recording: {step_plain:.1f} / {step_rec:.1f} us")
        for name, runs in (("without", plain), ("with", recorded)):
            p99 = max(s.period_p99_us for s in runs)
            missed = sum(s.missed_deadlines for s in runs)
            print(f"  period error p99 {name:7s}: {p99:.0f} us, missed {missed}")
        print(
            f"  the loop's own cost of recording: {append_us:.2f} us per frame = "
            f"{100 * append_us / step_plain:.1f} % of a step   goal < 5 %"
        )
        write_hour(source, hour)
        size = hour.stat().st_size
        print(
            f"one hour (1.8 M frames): {size / 1e6:.1f} MB, {size / HOUR_FRAMES:.1f} B/frame   goal <= 60 MB"
        )
        started = time.perf_counter()
        loaded = read_recording(hour)
        print(f"  load: {time.perf_counter() - started:.2f} s for {loaded.frames} frames   goal <= 2 s")
        recording = read_recording(source)
        started = time.perf_counter()
        report = regression_replay(recording)
        replay_s = time.perf_counter() - started
        span = float(recording.time_s[-1] - recording.time_s[0])
        verdict = "identical" if report.identical else "DIFFERENT"
        print(f"regression replay: {span / replay_s:.0f}x real time ({verdict})   goal >= 50x")


if __name__ == "__main__":
    main()
