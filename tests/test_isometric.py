"""Isometric test against the simulated rehab patient: the peak pull matches the patient's
configured isometric strength where the handle was held, and a weaker right side shows in the
symmetry index."""

from __future__ import annotations

import io

import pytest

from controller.cli import main
from controller.config import (
    AthleteConfig,
    ProfileConfig,
    ProfileKind,
    load_athlete,
    load_machine,
    load_profile,
)
from controller.core.isometric import IsometricResult, analyse, pulled_force_n, symmetry_pct, write_trace_csv
from controller.runtime.isometric_recording import isometric_test
from controller.runtime.recorder import RecordingError, read_recording
from simulator.calibration import Device, fit_strength
from simulator.simulate import SimulationSetup, simulate

MACHINE = load_machine("home-gym-2kw")
TEST = ProfileConfig(name="isometric", kind=ProfileKind.ISOMETRIC, load_kg=40.0, reps=1)


def patient(strength_factor: float = 1.0) -> AthleteConfig:
    base = load_athlete("rehab-patient")
    stronger = base.model_copy(update={"one_rm_kg": base.one_rm_kg * strength_factor})
    return stronger.with_tempo(concentric_s=0.0)  # pull as hard as you can


def trial(person: AthleteConfig) -> tuple[IsometricResult, float, list[float], list[float]]:
    """(result, the patient's true isometric strength where the handle was at the peak, trace)."""
    result = simulate(SimulationSetup(MACHINE, TEST, person), keep_frames=True)
    held = [f for f in result.frames if f.set_state in ("loading", "active", "finishing")]
    times = [f.time_s for f in held]
    forces = [pulled_force_n(MACHINE, f.felt_tension_n, f.velocity_mps) for f in held]
    outcome = analyse(times, forces)
    at_peak = held[forces.index(outcome.peak_n)].position_m
    strength = fit_strength(person, Device.of(MACHINE)).capacity(at_peak, 0.0)
    return outcome, strength, times, forces


def test_the_peak_matches_the_patients_isometric_strength_within_5_percent():
    outcome, strength, _, _ = trial(patient())
    assert outcome.peak_n == pytest.approx(strength, rel=0.05)
    assert 0.05 < outcome.time_to_peak_s < 1.5
    assert outcome.rfd_n_per_s > 100.0


def test_left_right_symmetry_and_the_csv_export():
    left, left_strength, times, forces = trial(patient())
    right, right_strength, _, _ = trial(patient(strength_factor=0.85))
    truth = 100.0 * right_strength / left_strength
    assert symmetry_pct(left, right) == pytest.approx(truth, abs=5.0)
    out = io.StringIO()
    write_trace_csv(out, times, forces, "left")
    lines = out.getvalue().splitlines()
    assert lines[0] == "side,time_s,force_n" and len(lines) == len(times) + 1
    assert max(float(line.split(",")[2]) for line in lines[1:]) == pytest.approx(left.peak_n, abs=0.01)


def test_a_trace_too_short_is_refused():
    with pytest.raises(ValueError, match="at least 2 samples"):
        analyse([0.0], [1.0])


def test_the_command_line_reads_each_side_from_its_recording(tmp_path, capsys):
    left, right = tmp_path / "left.ecxr", tmp_path / "right.ecxr"
    for path, factor in ((left, 1.0), (right, 0.85)):
        simulate(SimulationSetup(MACHINE, TEST, patient(factor), record=path))
    out = tmp_path / "knee.csv"
    assert main(["isometric", str(left), str(right), "--csv", str(out)]) == 0
    printed = capsys.readouterr().out
    peaks = [float(line.split("peak ")[1].split(" N")[0]) for line in printed.splitlines()[:2]]
    expected = [trial(patient(f))[0].peak_n for f in (1.0, 0.85)]
    assert peaks == pytest.approx(expected, rel=0.01)  # the recording keeps forces as float32
    symmetry = float(printed.split("symmetry (weaker / stronger peak): ")[1].split(" %")[0])
    assert symmetry == pytest.approx(100 * expected[1] / expected[0], abs=0.5)
    sides = {line.split(",")[0] for line in out.read_text().splitlines()[1:]}
    assert sides == {"left", "right"}


def test_a_recording_of_another_kind_of_set_is_not_an_isometric_test(tmp_path):
    path = tmp_path / "row.ecxr"
    simulate(SimulationSetup(MACHINE, load_profile("constant"), load_athlete("trained"), reps=1, record=path))
    with pytest.raises(RecordingError, match="a constant set, not an isometric test"):
        isometric_test(read_recording(path))
    assert main(["isometric", str(path), str(path), str(path)]) == 2
