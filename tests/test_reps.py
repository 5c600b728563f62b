"""Phase and rep tracking on synthetic motion."""

from __future__ import annotations

import math

import numpy as np
import pytest

from controller.core.estimator import Motion
from controller.core.reps import SPEED_ON_MPS, Phase, RepMetrics, RepTracker

pytestmark = pytest.mark.fast

DT = 0.002


def motion(t: float, x: float, v: float, force: float) -> Motion:
    return Motion(t, x, v, 0.0, force, force, force, force)


def cycle(
    tracker: RepTracker,
    t0: float,
    rom: float,
    up_s: float,
    down_s: float,
    force_up: float,
    force_down: float,
    noise: float = 0.0,
    rng: np.random.Generator | None = None,
):
    """One rep: smooth up, a pause, smooth down, a pause. Returns (end time, events)."""
    segments = [
        (up_s, rom, force_up),
        (0.3, 0.0, force_up),
        (down_s, -rom, force_down),
        (0.5, 0.0, force_down),
    ]
    return moves(tracker, t0, segments, noise, rng)


def moves(
    tracker: RepTracker,
    t0: float,
    segments: list[tuple[float, float, float]],
    noise: float = 0.0,
    rng: np.random.Generator | None = None,
):
    """Smooth moves of (duration, distance, force) from 0.1 m out. Returns (end time, events)."""
    events = []
    t = t0
    x = 0.1
    for duration, distance, force in segments:
        start_x = x
        for k in range(int(duration / DT)):
            s = (k + 1) * DT / duration
            x = start_x + distance * (0.5 - 0.5 * math.cos(math.pi * s))
            v = distance * math.pi / (2 * duration) * math.sin(math.pi * s)
            if rng is not None:
                v += rng.normal(0.0, noise)
            t += DT
            rep = tracker.update(motion(t, x, v, force))
            if rep:
                events.append(rep)
    return t, events


def test_reps_and_split_metrics():
    tracker = RepTracker()
    t, reps = 0.0, []
    for _ in range(3):
        t, events = cycle(tracker, t, rom=0.45, up_s=1.0, down_s=3.0, force_up=500.0, force_down=650.0)
        reps += events
    assert [r.index for r in reps] == [1, 2, 3]
    rep = reps[1]
    assert rep.rom_m == pytest.approx(0.45, abs=0.01)
    assert rep.concentric_s == pytest.approx(1.0, abs=0.1)
    assert rep.eccentric_s == pytest.approx(3.0, abs=0.3)
    assert rep.mean_concentric_force_n == pytest.approx(500.0)
    assert rep.mean_eccentric_force_n == pytest.approx(650.0)
    assert rep.mean_concentric_velocity_mps == pytest.approx(rep.rom_m / rep.concentric_s)
    assert rep.peak_concentric_velocity_mps == pytest.approx(0.45 * math.pi / 2, rel=0.02)
    assert not rep.failed and not rep.assisted
    assert tracker.rom_m == pytest.approx(0.45, abs=0.01)
    assert rep.mean_propulsive_velocity_mps == rep.mean_concentric_velocity_mps  # never held back


def test_mean_propulsive_velocity_stops_where_the_person_starts_holding_the_handle_back():
    """A throw the person has to brake (their pull below zero) from 70 % of the lift's time on."""
    tracker = RepTracker()
    rom, up_s, brake_from = 0.4, 1.0, 0.7
    t, x, reps = 0.0, 0.1, []
    for k in range(1, 700):  # the lift, then a pause at the top
        s = min(1.0, k * DT / up_s)
        x = 0.1 + rom * (0.5 - 0.5 * math.cos(math.pi * s))
        v = rom * math.pi / (2 * up_s) * math.sin(math.pi * s) if s < 1.0 else 0.0
        t += DT
        tracker.update(Motion(t, x, v, 0.0, 100.0, 100.0, -20.0 if s > brake_from else 100.0, 100.0))
    for k in range(1, 1500):
        s = min(1.0, k * DT / 2.0)
        rep = tracker.update(motion(t + k * DT, 0.1 + rom * (0.5 + 0.5 * math.cos(math.pi * s)), -0.3, 100.0))
        reps += [rep] if rep else []
    (rep,) = reps

    def height(s: float) -> float:
        return rom * (0.5 - 0.5 * math.cos(math.pi * s))

    started = math.asin(SPEED_ON_MPS / (rom * math.pi / 2)) / math.pi  # the rep begins above SPEED_ON
    expected = (height(brake_from) - height(started)) / ((brake_from - started) * up_s)
    assert rep.mean_propulsive_velocity_mps == pytest.approx(expected, rel=0.02)
    assert rep.mean_propulsive_velocity_mps > 1.1 * rep.mean_concentric_velocity_mps


def test_noise_at_the_turnaround_does_not_chatter():
    tracker = RepTracker()
    rng = np.random.default_rng(7)
    transitions = 0
    last = tracker.phase
    t = 0.0
    reps: list[RepMetrics] = []
    for _ in range(3):
        start = len(reps)
        t, events = cycle(tracker, t, 0.4, 1.0, 3.0, 400.0, 500.0, noise=0.01, rng=rng)
        reps += events
        assert len(reps) == start + 1
    # one synthetic rep crossing each threshold once: rest -> con -> top -> ecc -> rest
    for _ in range(200):
        t += DT
        tracker.update(motion(t, 0.1, rng.normal(0.0, 0.01), 400.0))
        if tracker.phase is not last:
            transitions += 1
            last = tracker.phase
    assert transitions == 0


def test_velocity_loss_against_the_best_rep():
    tracker = RepTracker()
    t, reps = 0.0, []
    for up_s in (1.0, 0.9, 1.2, 1.5):
        t, events = cycle(tracker, t, 0.45, up_s, 3.0, 500.0, 650.0)
        reps += events
    best = reps[1].mean_concentric_velocity_mps
    assert reps[3].velocity_loss_pct == pytest.approx(
        100 * (best - reps[3].mean_concentric_velocity_mps) / best
    )
    assert reps[1].velocity_loss_pct == 0.0


def test_a_short_quick_bob_is_no_rep_but_a_fought_short_one_is_failed():
    tracker = RepTracker()
    t, reps = 0.0, []
    t, events = cycle(tracker, t, 0.45, 1.0, 3.0, 500.0, 650.0)
    reps += events
    t, events = cycle(tracker, t, 0.1, 0.3, 0.3, 500.0, 500.0)
    assert events == []
    t, events = cycle(tracker, t, 0.15, 3.0, 1.0, 500.0, 500.0)  # a slow grind that gives up
    assert len(events) == 1 and events[0].failed
    assert tracker.phase is Phase.REST


def test_a_slow_hard_lowering_that_wobbles_is_one_rep_timed_from_the_top_to_where_it_stopped():
    """A maximal-effort negative: 12 s down at ~0.04 m/s, below the 0.05 m/s start threshold all
    the way, rising by up to 1 cm at a time in its upper part as the person fights it -- one rep,
    not several."""
    tracker = RepTracker()
    t, reps = cycle(tracker, 0.0, 0.45, 1.0, 3.0, 500.0, 650.0)
    x, events = 0.1, list(reps)
    for k in range(int(1.0 / DT)):  # up
        t += DT
        x = 0.1 + 0.45 * (k + 1) * DT
        events += filter(None, [tracker.update(motion(t, x, 0.45, 500.0))])
    for _ in range(int(0.3 / DT)):  # pause at the top
        t += DT
        events += filter(None, [tracker.update(motion(t, x, 0.0, 500.0))])
    lowering_from = t
    down_s = 12.0
    for k in range(int(down_s / DT)):
        t += DT
        s = (k + 1) * DT
        fighting = s < 6.0
        wobble = 0.01 * math.sin(2 * math.pi * s / 1.5) if fighting else 0.0
        v = -0.45 / down_s + (0.01 * 2 * math.pi / 1.5 * math.cos(2 * math.pi * s / 1.5) if fighting else 0.0)
        x = 0.55 - 0.45 * s / down_s + wobble
        events += filter(None, [tracker.update(motion(t, x, v, 700.0))])
    stopped_at = t
    for _ in range(int(1.0 / DT)):  # rests at the bottom
        t += DT
        events += filter(None, [tracker.update(motion(t, x, 0.0, 700.0))])
    assert len(events) == 2, [round(e.eccentric_s, 2) for e in events]
    slow = events[1]
    assert not slow.failed
    # timed from its first rise, which tops the top
    assert slow.eccentric_s == pytest.approx(stopped_at - lowering_from, abs=0.5)
    assert slow.rom_m == pytest.approx(0.45, abs=0.02)


def test_a_first_lift_stuck_at_its_top_and_let_down_is_a_failed_rep_and_teaches_no_range():
    """A rehab patient at 16 kg got 7 cm up, stuck there 1.7 s, and let it down: counted as a rep,
    and 7 cm learned as the range. Before the range is learned, a pause that long at the top is a
    lift given up; a tempo's own pause at the top is allowed for."""
    stuck = [(0.9, 0.07, 157.0), (1.7, 0.0, 157.0), (0.3, -0.07, 157.0), (0.5, 0.0, 157.0)]
    _, (rep,) = moves(RepTracker(), 0.0, stuck)
    assert rep.failed
    tracker = RepTracker()
    moves(tracker, 0.0, stuck)
    assert tracker.rom_m is None
    _, (paused,) = moves(RepTracker(top_pause_s=2.0), 0.0, stuck)
    assert not paused.failed


def test_a_first_lift_stuck_midway_that_then_reaches_the_top_is_a_rep():
    """The spotter's first rep: stuck halfway, helped, finished: the stall ended by moving on up."""
    helped = [(0.5, 0.2, 800.0), (1.5, 0.0, 800.0), (0.8, 0.4, 700.0), (0.3, 0.0, 700.0), (2.0, -0.6, 900.0)]
    _, (rep,) = moves(RepTracker(), 0.0, [*helped, (0.5, 0.0, 900.0)])
    assert not rep.failed and rep.rom_m == pytest.approx(0.6, abs=0.01)
