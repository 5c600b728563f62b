"""Every reading checked against physics: positions the cable cannot reach, speeds the motor cannot
make, velocity that disagrees with the change of position. Swept, and on a whole simulated set."""

from __future__ import annotations

import math

import pytest

from controller.config import load_athlete, load_machine, load_profile
from controller.drive import DriveFeedback
from controller.drive.plausibility import AGREEMENT_WINDOW_S, FeedbackCheck
from simulator.simulate import SimulationSetup, simulate

pytestmark = pytest.mark.fast

MACHINE = load_machine("a6-diy")
K = MACHINE.metres_per_rad
SOURCES = {"position": "register 0x4016 of drive map 'x'", "velocity": "register 0x4001 of drive map 'x'"}


def reading(t: float, position_m: float, velocity_mps: float) -> DriveFeedback:
    return DriveFeedback(t, position_m / K, velocity_mps / K, 0.0)


def motion(check: FeedbackCheck, path, speed_scale: float = 1.0, seconds: float = 0.5) -> str | None:
    period = 1.0 / MACHINE.control.rate_hz
    for i in range(round(seconds / period)):
        t = i * period
        position, velocity = path(t)
        problem = check.problem(reading(t, position, velocity * speed_scale))
        if problem:
            return problem
    return None


def pulling(t: float) -> tuple[float, float]:
    return 0.2 + 0.5 * math.sin(3 * t), 1.5 * math.cos(3 * t)


@pytest.mark.parametrize("position_m", [x / 100 for x in range(-30, 300, 7)])
def test_position_sweep_faults_exactly_outside_the_cable(position_m):
    check = FeedbackCheck(MACHINE, SOURCES)
    problem = check.problem(reading(0.0, position_m, 0.0))
    inside = check.min_position_m <= position_m <= check.max_position_m
    assert (problem is None) is inside
    if position_m < check.min_position_m:
        assert problem is not None and "check [spool] payout" in problem and "0x4016" in problem


@pytest.mark.parametrize("rpm", [0, 1000, 4000, 5400, 5600, 9000, -5600, 65535])
def test_speed_sweep_faults_above_the_motor_maximum(rpm):
    check = FeedbackCheck(MACHINE, SOURCES)
    problem = check.problem(DriveFeedback(0.0, 0.0, rpm * 2 * math.pi / 60, 0.0))
    assert (problem is None) is (abs(rpm) <= 1.1 * MACHINE.motor.max_speed_rpm)


@pytest.mark.parametrize("scale", [1.0, 1.1, 0.9])
def test_true_motion_passes(scale):
    assert motion(FeedbackCheck(MACHINE, SOURCES), pulling, scale) is None


@pytest.mark.parametrize("scale", [13.1072, 1 / 13.1072, 10.0, 0.1, -1.0])
def test_a_velocity_that_disagrees_with_position_is_named(scale):
    problem = motion(FeedbackCheck(MACHINE, SOURCES), pulling, scale)
    assert problem is not None and "0x4001" in problem
    assert "disagree" in problem or "above the motor's" in problem


def test_one_odd_sample_passes_a_wrong_scale_does_not():
    check = FeedbackCheck(MACHINE, SOURCES)
    period = 1.0 / MACHINE.control.rate_hz
    for i in range(200):
        position, velocity = pulling(i * period)
        if i == 100:
            velocity *= 3  # one garbled speed within the motor's range
        assert check.problem(reading(i * period, position, velocity)) is None
    assert AGREEMENT_WINDOW_S < 0.1


def test_not_a_number_is_never_plausible():
    check = FeedbackCheck(MACHINE, SOURCES)
    assert check.problem(DriveFeedback(0.0, math.nan, 0.0, 0.0)) is not None


def test_a_set_on_a_machine_told_the_wrong_payout_never_loads_and_says_why():
    built = MACHINE.model_copy(update={"spool": MACHINE.spool.model_copy(update={"payout": "negative"})})
    setup = SimulationSetup(
        machine=MACHINE,
        profile=load_profile("constant"),
        athlete=load_athlete("trained"),
        reps=3,
        load_kg=8.0,
        built=built,
    )
    result = simulate(setup, keep_frames=True)
    assert not result.reps
    kinds = [e.kind for e in result.safety_events]
    assert "drive_implausible" in kinds
    (event,) = [e for e in result.safety_events if e.kind == "drive_implausible"]
    assert "check [spool] payout" in event.detail
    assert max(result.true_tension_n) < MACHINE.limits.idle_tension_n + 5.0, "no load ever reached the person"
