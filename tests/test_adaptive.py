"""Adaptive eccentric: rep by rep the lowering load moves toward the load that makes a
maximal-effort lowering take the target time, within its step, the profile's ceiling and the caps."""

from __future__ import annotations

import pytest

from controller.config import ProfileConfig, ProfileKind
from controller.config.profile import AdaptiveConfig, CapsConfig
from controller.core.adaptive import EccentricAdapter
from controller.core.profiles import Profile
from controller.units import STANDARD_GRAVITY_MPS2, kg_to_newtons
from tests.trials import honest_adaptive_set


def adapter(**changes: float) -> EccentricAdapter:
    return EccentricAdapter(AdaptiveConfig(**changes), start_n=500.0, floor_n=400.0, ceiling_n=600.0)


def test_the_next_load_is_where_the_trim_settled_moved_at_most_a_step():
    a = adapter(target_eccentric_s=4.0, max_step_pct=8.0)
    # on time, with the trim 3 % up: that load held the pace
    a.rep_done(4.0, mean_factor=1.03, mean_tension_n=515.0)
    assert a.load_n == pytest.approx(515.0)
    # held at will even with the whole trim: a whole step, no more
    a.rep_done(20.0, mean_factor=1.1, mean_tension_n=550.0)
    assert a.load_n == pytest.approx(515.0 * 1.08)
    before = a.load_n
    a.rep_done(1.0, mean_factor=0.9, mean_tension_n=500.0)  # it beat them: down, at most a step
    assert a.load_n == pytest.approx(before * 0.92)


def test_the_load_stays_between_the_floor_and_the_ceiling():
    a = adapter()
    for _ in range(30):
        a.rep_done(20.0, 1.1, 600.0)
    assert a.load_n == 600.0
    for _ in range(30):
        a.rep_done(0.5, 0.9, 400.0)
    assert a.load_n == 400.0


def test_the_converged_load_is_the_mean_of_the_reps_on_target():
    a = adapter(target_eccentric_s=4.0, tolerance_pct=10.0)
    a.rep_done(9.0, 1.0, 500.0)
    assert a.converged_n is None
    a.rep_done(4.2, 1.0, 530.0)
    a.rep_done(3.8, 0.95, 520.0)
    assert a.on_target == [530.0, 520.0]
    assert a.converged_n == pytest.approx(525.0)


def profile(caps: CapsConfig | None = None, **adaptive: float) -> Profile:
    config = ProfileConfig(
        name="adaptive",
        kind=ProfileKind.ADAPTIVE_ECCENTRIC,
        load_kg=40.0,
        eccentric_pct=30.0,
        adaptive=AdaptiveConfig(**adaptive),
        caps=caps or CapsConfig(),
    )
    return Profile(config)


def test_the_ceiling_is_the_lower_of_the_profile_and_the_caps():
    assert profile(max_eccentric_pct=50.0).adapter.ceiling_n == pytest.approx(kg_to_newtons(60.0))  # type: ignore[union-attr]
    capped = profile(CapsConfig(max_eccentric_pct=35.0), max_eccentric_pct=60.0)
    assert capped.adapter.ceiling_n == pytest.approx(kg_to_newtons(54.0))  # type: ignore[union-attr]


def test_other_profiles_do_not_adapt():
    overload = Profile(
        ProfileConfig(name="o", kind=ProfileKind.ECCENTRIC_OVERLOAD, load_kg=40.0, eccentric_pct=30.0)
    )
    assert overload.adapter is None and overload.pace is None


@pytest.mark.parametrize(("target_s", "load_kg", "start_pct"), [(4.0, 50.0, 30.0), (5.0, 40.0, 40.0)])
def test_the_trained_athlete_converges_within_5_reps_to_the_target_time(target_s, load_kg, start_pct):
    result = honest_adaptive_set(target_s, load_kg, start_pct, keep_frames=True)
    athlete = result.setup.athlete
    reps = result.reps
    assert len(reps) == 8 and not any(r.failed for r in reps)
    on_target = [abs(r.eccentric_s / target_s - 1.0) <= 0.10 for r in reps]
    first = on_target.index(True) + 1
    assert first <= 5, [round(r.eccentric_s, 2) for r in reps]
    assert all(on_target[first - 1 :]), "once converged it stays on target as the athlete tires"
    # never more than the athlete can resist: their eccentric plateau
    capacity_n = athlete.eccentric_ratio * athlete.one_rm_kg * STANDARD_GRAVITY_MPS2
    frames = zip(result.frames, result.true_tension_n, strict=True)
    lowering = [t for f, t in frames if f.phase == "eccentric"]
    assert max(lowering) < capacity_n
    converged = result.converged_eccentric_kg
    assert converged is not None
    held = [r.mean_eccentric_force_n for r, ok in zip(reps, on_target, strict=True) if ok]
    assert converged == pytest.approx(sum(held) / len(held) / STANDARD_GRAVITY_MPS2, rel=1e-9)
