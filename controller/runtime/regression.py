"""Regression replay: feed a recording's drive feedback and commands through today's step
functions and compare every decision with what was recorded (openpilot's process replay)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from controller.config import ConfigError, MachineConfig, ProfileConfig
from controller.config.loader import validate
from controller.core.loop import Command, ControlLoop, Frame
from controller.core.reps import RepMetrics
from controller.runtime.recorder import ROW_DTYPE, Recording, RecordingError, frame_row

COMPARED = (
    "command_n",
    "request_n",
    "felt_tension_n",
    "position_m",
    "velocity_mps",
    "acceleration_mps2",
    "phase",
    "rep_index",
    "set_state",
    "flags",
)


@dataclass(frozen=True, slots=True)
class ColumnDifference:
    column: str
    frames: int
    first_time_s: float
    max_abs: float


@dataclass
class RegressionReport:
    frames: int
    reps: list[RepMetrics]
    differences: list[ColumnDifference] = field(default_factory=list)
    damage: str | None = None

    @property
    def identical(self) -> bool:
        """Every frame compared matched (see `passed`: whether enough was compared)."""
        return not self.differences

    @property
    def passed(self) -> bool:
        """A regression check passes only on a whole recording with frames, all identical: a
        damaged or empty file proves nothing."""
        return self.identical and self.frames > 0 and self.damage is None

    @property
    def verdict(self) -> str:
        if not self.identical:
            return "DIFFERENT"
        if self.frames == 0:
            return "NOTHING TO COMPARE (no intact frame)"
        return "identical as far as intact, but DAMAGED" if self.damage else "identical"

    def to_json(self) -> dict[str, Any]:
        return {
            "frames": self.frames,
            "identical": self.identical,
            "passed": self.passed,
            "differences": [_as_dict(d) for d in self.differences],
            "damage": self.damage,
        }


def _as_dict(diff: ColumnDifference) -> dict[str, Any]:
    return {
        "column": diff.column,
        "frames": diff.frames,
        "first_time_s": diff.first_time_s,
        "max_abs": diff.max_abs,
    }


def configs_of(recording: Recording) -> tuple[MachineConfig, ProfileConfig]:
    """The machine and profile a recording was made with, validated like any config file."""
    header = recording.header
    try:
        machine = validate(header["machine"], MachineConfig, f"{recording.source}: header [machine]")
        profile = validate(header["profile"], ProfileConfig, f"{recording.source}: header [profile]")
    except (KeyError, TypeError) as exc:
        raise RecordingError(f"{recording.source}: header has no usable {exc}") from None
    except ConfigError as exc:
        raise RecordingError(str(exc)) from None
    return machine, profile


def loop_for(recording: Recording) -> ControlLoop:
    machine, profile = configs_of(recording)
    return ControlLoop(machine, profile, recording.header.get("load_kg"))


def replay_frames(recording: Recording, loop: ControlLoop) -> list[Frame]:
    frames: list[Frame] = []
    commands = recording.columns["commands"]
    lag = recording.columns["lag_us"]
    for i, now in enumerate(recording.time_s):
        loop.command(Command(int(commands[i])))
        decision = loop.step(float(now), recording.feedback(i), float(lag[i]) / 1e6)
        loop.tell(decision)
        if decision.frame is not None:
            frames.append(decision.frame)
    return frames


def regression_replay(
    recording: Recording, tolerance: float = 0.0, ignore: Iterable[str] = ()
) -> RegressionReport:
    if not 0.0 <= tolerance < float("inf"):  # NaN fails this too: it would make any difference pass
        raise ValueError(f"tolerance = {tolerance}: allowed a finite number >= 0")
    unknown = sorted(set(ignore) - set(COMPARED))
    if unknown:
        raise ValueError(f"ignore: {', '.join(unknown)} not compared; columns: {', '.join(COMPARED)}")
    loop = loop_for(recording)
    frames = replay_frames(recording, loop)
    replayed = np.array([frame_row(f) for f in frames], dtype=ROW_DTYPE)
    report = RegressionReport(recording.frames, loop.reps, damage=recording.damage)
    if len(replayed) != recording.frames:
        report.differences.append(ColumnDifference("frames", abs(len(replayed) - recording.frames), 0.0, 0.0))
        return report
    skip = set(ignore)
    for name in COMPARED:
        if name in skip:
            continue
        diff = np.abs(replayed[name].astype(np.float64) - recording.columns[name].astype(np.float64))
        bad = np.flatnonzero(diff > tolerance)
        if len(bad):
            first = float(recording.time_s[bad[0]])
            report.differences.append(ColumnDifference(name, len(bad), first, float(diff.max())))
    return report
