"""Variable resistance (chains, inverse chains, bands, a custom curve), alone and with eccentric
overload, in fast simulation with the trained athlete: the tension the person really feels follows
the curve over the range."""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass

import numpy as np
import pytest

from controller.config import load_athlete, load_machine, load_profile
from controller.config.profile import CurveConfig, CurveKind
from controller.core.curves import curve_multiplier
from controller.core.loop import ControlLoop, Frame
from controller.timing import SimulatedClock
from controller.units import kg_to_newtons
from simulator.lifter import SimulatedLifter
from simulator.rig import Rig
from simulator.simulated_drive import SimulatedDrive

MACHINE = load_machine("home-gym-2kw")
LOAD_KG = 40.0
CUSTOM = [(0.0, 80.0), (0.5, 120.0), (1.0, 90.0)]


@dataclass
class Sample:
    frame: Frame
    fraction: float | None  # the range fraction the controller used
    lowering: bool
    true_tension_n: float  # the cable's real tension (the simulator's, not the estimate)


def run_curve(profile_name: str, curve: CurveConfig, reps: int = 5) -> list[Sample]:
    profile = load_profile(profile_name).model_copy(update={"curve": curve, "reps": reps, "load_kg": LOAD_KG})
    clock = SimulatedClock()
    rig = Rig.build(MACHINE, load_athlete("trained"), planned_reps=reps)
    loop = ControlLoop(MACHINE, profile)
    drive = SimulatedDrive(rig, clock, MACHINE)
    lifter = SimulatedLifter(rig, reps)
    samples: list[Sample] = []

    def watch(frame: Frame) -> None:
        tracker = loop.lifecycle.tracker
        fraction = tracker.range_fraction(frame.position_m)
        samples.append(Sample(frame, fraction, tracker.lowering(), rig.plant.tension_n))

    loop.observers.on_frame.append(watch)

    def until(lp: ControlLoop) -> bool:
        lifter.follow(lp)
        return lifter.let_go_at_s is not None

    async def go() -> None:
        await drive.connect()
        loop.start_set()
        await loop.run(drive, clock, until, 120.0)

    asyncio.run(go())
    assert len(loop.reps) == reps
    return samples


def steady(samples: list[Sample]) -> list[Sample]:
    """Moving through the mid-range, from rep 2 on (the range is learned on rep 1), away from where
    the direction turns round and the level ramps, and not accelerating hard (the machine's own
    inertia, which `[feel]` is about). Held still, static friction makes the felt tension anything
    within the Coulomb band, so pauses are left out."""
    turns = np.array([s.frame.time_s for a, s in itertools.pairwise(samples) if a.lowering != s.lowering])
    return [
        s
        for s in samples
        if s.frame.set_state == "active"
        and s.frame.phase in ("concentric", "eccentric")
        and abs(s.frame.velocity_mps) >= 0.05
        and s.frame.rep_index >= 2
        and s.fraction is not None
        and 0.1 <= s.fraction <= 0.9
        and abs(s.frame.acceleration_mps2) <= 1.0
        and np.min(np.abs(turns - s.frame.time_s)) > 0.3
    ]


@pytest.mark.parametrize("profile", ["constant", "eccentric-overload-130"])
@pytest.mark.parametrize(
    "curve",
    [
        CurveConfig(kind=CurveKind.CHAINS, change_pct=30),
        CurveConfig(kind=CurveKind.INVERSE_CHAINS, change_pct=30),
        CurveConfig(kind=CurveKind.BANDS, change_pct=40),
        CurveConfig(kind=CurveKind.CUSTOM, points=CUSTOM),
    ],
    ids=lambda c: c.kind.value,
)
def test_the_felt_tension_follows_the_curve_times_the_overload(profile, curve):
    overload = 1.0 + load_profile(profile).effective_eccentric_pct / 100.0
    samples = steady(run_curve(profile, curve))
    assert len(samples) > 2000
    base = kg_to_newtons(LOAD_KG)
    errors = []
    for s in samples:
        target = base * (overload if s.lowering else 1.0) * curve_multiplier(curve, s.fraction)
        errors.append(abs(s.true_tension_n - target) / target)
    assert max(errors) < 0.03
    fractions = np.array([s.fraction for s in samples])
    assert fractions.min() < 0.2 and fractions.max() > 0.8  # the whole range was covered


@pytest.mark.parametrize(
    ("curve", "bottom", "top"),
    [
        (CurveConfig(kind=CurveKind.FLAT), 1.0, 1.0),
        (CurveConfig(kind=CurveKind.CHAINS, change_pct=30), 1.0, 1.3),
        (CurveConfig(kind=CurveKind.INVERSE_CHAINS, change_pct=30), 1.3, 1.0),
        (CurveConfig(kind=CurveKind.BANDS, change_pct=40), 1.0, 1.4),
        (CurveConfig(kind=CurveKind.CUSTOM, points=CUSTOM), 0.8, 0.9),
    ],
)
def test_curve_ends_and_the_unlearned_range(curve, bottom, top):
    assert curve_multiplier(curve, 0.0) == pytest.approx(bottom)
    assert curve_multiplier(curve, 1.0) == pytest.approx(top)
    assert curve_multiplier(curve, None) == 1.0  # before the range is learned: the plain load
    assert curve_multiplier(curve, 1.7) == curve_multiplier(curve, 1.0)  # past the top: clamped


@pytest.mark.parametrize(
    ("points", "words"),
    [
        ([(0.0, 100.0)], "at least 2"),
        ([(0.5, 100.0), (0.2, 90.0)], "rise"),
        ([(0.0, 5.0), (1.0, 100.0)], "10 to 300"),
    ],
)
def test_a_bad_custom_curve_is_refused_with_the_reason(points, words):
    with pytest.raises(ValueError, match=words):
        CurveConfig(kind=CurveKind.CUSTOM, points=points)
