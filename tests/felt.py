"""What the simulated person really felt during a set, against what the controller asked for: the
ground truth the weight-feel figures are measured on."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from controller.config import MachineConfig
from controller.core.feel import TAKE_UP_SPEED_MPS

if TYPE_CHECKING:
    from simulator.simulate import SimulationResult

ACCELERATING_MPS2 = 1.0
RINGING_BAND_HZ = (4.0, 60.0)  # above how fast a person moves, below the cable's resonance


def accelerating(
    result: SimulationResult, after_s: float = 0.0, feel_only: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(true tension, requested level, acceleration) while the handle speeds up or slows down,
    from the second rep on (the first starts from rest). `feel_only`: not where the taut take-up
    holds the cable (slowing on the way out, feel.py), which every feel mode has."""
    rows = [
        (true, f.request_n, f.acceleration_mps2)
        for f, true in zip(result.frames, result.true_tension_n, strict=True)
        if f.set_state == "active"
        and f.rep_index >= 2
        and f.time_s > after_s
        and abs(f.acceleration_mps2) > ACCELERATING_MPS2
        and not (feel_only and f.velocity_mps > TAKE_UP_SPEED_MPS and f.acceleration_mps2 < 0.0)
    ]
    true, level, acceleration = (np.array(column) for column in zip(*rows, strict=True))
    return true, level, acceleration


def felt_deviation_n(result: SimulationResult, after_s: float = 0.0, feel_only: bool = False) -> float:
    """RMS of the true tension less the requested level while accelerating."""
    true, level, _ = accelerating(result, after_s, feel_only)
    return float(np.sqrt(np.mean((true - level) ** 2)))


def ringing_n(result: SimulationResult) -> float:
    """RMS of the true tension in RINGING_BAND_HZ while the set is active."""
    tension = np.array(
        [t for f, t in zip(result.frames, result.true_tension_n, strict=True) if f.set_state == "active"]
    )
    spectrum = np.fft.rfft(tension - tension.mean())
    hz = np.fft.rfftfreq(len(tension), 1.0 / result.setup.machine.control.rate_hz)
    band = (hz > RINGING_BAND_HZ[0]) & (hz < RINGING_BAND_HZ[1])
    return float(np.sqrt(2.0 * np.sum(np.abs(spectrum[band]) ** 2)) / len(tension))


def inertia_misconfigured(machine: MachineConfig, factor: float) -> MachineConfig:
    """The machine's file with its motor and spool inertia `factor` x the truth (a model mismatch:
    simulate with `built=machine`)."""
    motor = machine.motor.model_copy(update={"rotor_inertia_kgm2": factor * machine.motor.rotor_inertia_kgm2})
    spool = machine.spool.model_copy(update={"inertia_kgm2": factor * machine.spool.inertia_kgm2})
    return machine.model_copy(update={"motor": motor, "spool": spool})
