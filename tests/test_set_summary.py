"""The after-set summary: the figures a lifter reads once the set is over."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from controller.core.reps import RepMetrics
from controller.core.set_summary import summarise_set
from tests.sets import made_rep

pytestmark = pytest.mark.fast


def rep(index: int, velocity: float, up_n: float = 500.0, failed: bool = False) -> RepMetrics:
    return made_rep(
        index=index, mean_concentric_velocity_mps=velocity, mean_concentric_force_n=up_n, failed=failed
    )


def test_a_set_of_five_with_a_failed_last_rep():
    reps = [rep(1, 0.60), rep(2, 0.64), rep(3, 0.55), rep(4, 0.48), rep(5, 0.05, up_n=520.0, failed=True)]
    summary = summarise_set(reps, 50.0)
    assert summary is not None
    assert (summary.reps, summary.failed_reps) == (4, 1)
    assert summary.volume_kg == 200.0  # a failed rep lifts nothing
    assert summary.time_under_tension_s == pytest.approx(5 * 4.2)
    assert summary.best_velocity_mps == 0.64
    assert summary.mean_velocity_mps == pytest.approx((0.60 + 0.64 + 0.55 + 0.48) / 4)
    assert summary.velocity_loss_pct == pytest.approx(25.0)  # the last counted rep, 0.48 against 0.64
    assert summary.eccentric_concentric_ratio == pytest.approx(650.0 / 500.0)


def test_no_reps_no_summary_and_only_failed_reps_no_ratio():
    assert summarise_set([], 40.0) is None
    only_failed = summarise_set([rep(1, 0.02, failed=True)], 40.0)
    assert only_failed is not None and only_failed.reps == 0 and only_failed.volume_kg == 0.0
    assert only_failed.eccentric_concentric_ratio is None and only_failed.velocity_loss_pct == 0.0


@given(st.lists(st.floats(0.01, 3.0), min_size=1, max_size=30), st.floats(0.5, 200.0))
def test_loss_and_mean_stay_within_what_the_reps_did(velocities, load_kg):
    summary = summarise_set([rep(i + 1, v) for i, v in enumerate(velocities)], load_kg)
    assert summary is not None
    assert 0.0 <= summary.velocity_loss_pct < 100.0
    assert min(velocities) - 1e-9 <= summary.mean_velocity_mps <= summary.best_velocity_mps + 1e-9
    assert summary.volume_kg == pytest.approx(load_kg * len(velocities))
