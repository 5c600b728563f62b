"""Adaptive eccentric, rep by rep: the lowering load moves toward the target lowering time, by at
most the step, between the load and the ceiling; failed reps teach nothing."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from controller.config import ProfileConfig, ProfileKind
from controller.config.profile import AdaptiveConfig, CapsConfig
from controller.profiles import Profile
from controller.reps import RepMetrics
from controller.units import kg_to_newtons


def rep(eccentric_s: float, failed: bool = False) -> RepMetrics:
    fields: dict[str, Any] = {f.name: 0 for f in dataclasses.fields(RepMetrics)}
    return RepMetrics(
        **(fields | {"index": 1, "eccentric_s": eccentric_s, "failed": failed, "assisted": False})
    )


def adaptive(caps: CapsConfig | None = None, **changes: float) -> Profile:
    config = ProfileConfig(
        name="adaptive",
        kind=ProfileKind.ADAPTIVE_ECCENTRIC,
        load_kg=40.0,
        eccentric_pct=30.0,
        adaptive=AdaptiveConfig(**changes),
        caps=caps or CapsConfig(),
    )
    return Profile(config)


def test_too_slow_a_lowering_adds_load_and_too_fast_takes_it_off_by_at_most_a_step():
    profile = adaptive(target_eccentric_s=3.0, max_step_pct=8.0)
    start = profile.eccentric_n
    profile.rep_done(rep(12.0))  # they held it easily: more
    assert profile.eccentric_n == pytest.approx(start * 1.08)
    profile.rep_done(rep(0.5))  # it beat them: less
    assert profile.eccentric_n == pytest.approx(start * 1.08 * 0.92)
    before = profile.eccentric_n
    profile.rep_done(rep(3.3))  # 10 % slow: a small step, not the whole bound
    assert before < profile.eccentric_n < before * 1.06


def test_the_load_stays_between_the_concentric_load_and_the_ceiling_and_caps():
    profile = adaptive(max_eccentric_pct=50.0)
    for _ in range(30):
        profile.rep_done(rep(20.0))
    assert profile.eccentric_n == pytest.approx(kg_to_newtons(40.0) * 1.5)
    for _ in range(30):
        profile.rep_done(rep(0.2))
    assert profile.eccentric_n == pytest.approx(kg_to_newtons(40.0))
    capped = adaptive(CapsConfig(max_eccentric_pct=35.0), max_eccentric_pct=60.0)
    for _ in range(30):
        capped.rep_done(rep(20.0))
    assert capped.eccentric_n == pytest.approx(kg_to_newtons(40.0) * 1.35)


def test_failed_reps_and_other_profiles_do_not_adapt():
    profile = adaptive()
    start = profile.eccentric_n
    profile.rep_done(rep(12.0, failed=True))
    assert profile.eccentric_n == start
    overload = Profile(
        ProfileConfig(name="o", kind=ProfileKind.ECCENTRIC_OVERLOAD, load_kg=40.0, eccentric_pct=30.0)
    )
    before = overload.eccentric_n
    overload.rep_done(rep(12.0))
    assert overload.eccentric_n == before
