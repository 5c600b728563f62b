"""The virtual flywheel (issue 21): the disc on its own, then a trained lifter meeting it in closed
loop, a let-go at the top, and the drop-off stop."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from controller.app.set_request import SetRequestError, requested_profile
from controller.config import CapsConfig, ConfigError, load_athlete, load_machine, load_profile
from controller.config.loader import validate
from controller.config.profile import FlywheelConfig, ProfileConfig
from controller.core.flywheel import VirtualDisc
from controller.core.set_summary import summarise_set
from controller.wire import StartSet
from simulator.scenarios import Scenario, ScenarioKind
from simulator.simulate import SimulationResult, SimulationSetup, simulate

DT = 0.002
SLEW = 4000.0
DISC = FlywheelConfig(inertia_kgm2=0.05, shaft_radius_m=0.025, max_energy_j=150.0)  # 80 kg


def pulled_out(disc: VirtualDisc, accel_mps2: float, seconds: float) -> list[float]:
    """The cable drawn out from rest at a steady acceleration, mid-range: the disc's pull each cycle."""
    pulls = []
    for k in range(int(seconds / DT)):
        t = k * DT
        pulls.append(disc.pull_n(t, 0.2 + 0.5 * accel_mps2 * t * t, accel_mps2 * t, 0.5))
    return pulls


def test_a_steady_pull_meets_the_discs_mass_and_the_disc_keeps_pace():
    disc = VirtualDisc(DISC, 1.08, SLEW)
    pulls = pulled_out(disc, 2.0, 0.5)
    assert disc.mass_kg == pytest.approx(80.0)
    assert sum(pulls) / len(pulls) == pytest.approx(80.0 * 2.0, rel=0.1)  # F = (I / r^2) a, on the whole
    assert disc.speed_mps == pytest.approx(1.0, rel=0.1)  # the cord does not slip on a pull it can give


def test_the_pull_rises_no_faster_than_the_machine_may():
    disc = VirtualDisc(DISC, 1.08, SLEW)
    pulls = pulled_out(disc, 20.0, 0.2)  # a jerk the cord alone would answer with ~1600 N at once
    assert max(b - a for a, b in zip([0.0, *pulls], pulls, strict=False)) <= SLEW * DT + 1e-9


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-3.0, 3.0), min_size=20, max_size=300), st.floats(5.0, 300.0))
def test_the_disc_never_holds_more_than_its_energy_cap_nor_reels_in_faster_than_allowed(speeds, cap_j):
    """Any way the handle moves, fed through the disc cycle by cycle."""
    disc = VirtualDisc(DISC.model_copy(update={"max_energy_j": cap_j}), 1.08, SLEW)
    x = 0.3
    for k, v in enumerate(speeds):
        x = min(1.0, max(0.05, x + v * DT * 10))
        disc.pull_n(k * DT, x, v, min(1.0, max(0.0, (x - 0.1) / 0.5)))
        assert disc.energy_j <= cap_j * (1 + 1e-9)
        assert disc.speed_mps >= -1.08 - 1e-9


def test_a_slack_cord_never_pulls_and_a_stopped_disc_gives_nothing_back():
    disc = VirtualDisc(DISC, 1.08, SLEW)
    pulled_out(disc, 3.0, 0.4)
    assert disc.energy_j > 10.0
    disc.stop()  # a let-go
    assert disc.energy_j == 0.0
    assert disc.pull_n(1.0, 0.4, -1.0, 0.5) == 0.0  # the handle flying home is not pulled
    assert disc.pull_n(1.002, 0.398, -1.0, 0.5) == 0.0


def test_the_disc_winds_in_only_once_the_lift_ends_and_stops_at_the_bottom():
    disc = VirtualDisc(DISC, 1.08, SLEW)
    pulled_out(disc, 3.0, 0.3)
    assert not disc.winding_in  # mid-range, still driven: the cord is not at its end
    t, x = 0.3, 0.335
    disc.pull_n(t, x, 0.0, 0.95)  # the hand stops at the top
    assert disc.winding_in and -1.08 <= disc.speed_mps < -0.8  # what it spun up to, within the cap
    for _ in range(200):  # let it take the handle in, held lightly, down to the bottom
        t += DT
        x = max(0.1, x - 0.8 * DT)
        disc.pull_n(t, x, -0.8, (x - 0.1) / 0.25)
    assert not disc.winding_in and disc.speed_mps == 0.0  # stopped at the bottom: it never pulls out again


def test_before_a_range_is_learned_the_disc_stops_where_the_lift_turns_and_never_catches_late():
    """The calibration lift: where the cord ends is unknown, and a catch once the hand has stopped
    winds the slack in against a hand at rest (a loaded CI machine cut it as a let-go)."""
    disc = VirtualDisc(DISC, 1.08, SLEW)
    for k in range(150):  # out at 0.6 m/s, then the hand slows to a stop
        v = 0.6 if k < 100 else 0.6 * (150 - k) / 50
        disc.pull_n(k * DT, 0.1 + 0.6 * k * DT, v, None)
    disc.pull_n(0.3, 0.25, 0.0, None)
    assert not disc.winding_in and disc.energy_j == 0.0
    lowered = [disc.pull_n(0.3 + k * DT, 0.25 - 0.3 * k * DT, -0.3, None) for k in range(1, 400)]
    assert max(lowered) == 0.0  # nothing pulls the lowering in
    lifted = [disc.pull_n(1.1 + k * DT, 0.13 + 0.5 * k * DT, 0.5, 0.05) for k in range(1, 50)]
    assert max(lifted) > 0.0  # the next lift meets the disc from where the hand is, no slack to take up


def test_a_flywheel_profile_is_checked_by_field():
    for field, value in (("inertia_kgm2", 2.0), ("pre_reps", 9), ("stop_at_drop_off_pct", 90)):
        doc = {"name": "f", "kind": "flywheel", "load_kg": 3, "flywheel": {field: value}}
        with pytest.raises(ConfigError, match=rf"flywheel\.{field}"):
            validate(doc, ProfileConfig, "test")


def flywheel_set(inertia: float, scenario: Scenario | None = None) -> SimulationResult:
    profile = load_profile("flywheel")
    disc = profile.flywheel.model_copy(update={"inertia_kgm2": inertia})
    profile = profile.model_copy(update={"flywheel": disc, "sets": 1})
    setup = SimulationSetup(load_machine("home-gym-2kw"), profile, load_athlete("trained"), scenario=scenario)
    return simulate(setup, keep_frames=True)


def test_a_lifter_meets_the_disc_spins_it_up_and_every_rep_counts():
    light, heavy = flywheel_set(0.025), flywheel_set(0.075)
    for result in (light, heavy):
        assert [r.pre_rep for r in result.reps] == [True, True] + [False] * 6
        assert not [r for r in result.reps if r.failed] and not result.safety_events
    summaries = [summarise_set(r.reps, 3.0) for r in (light, heavy)]
    assert all(s is not None and s.reps == 6 for s in summaries)  # the spin-up reps are left out
    (speed_light, ratio_light), (speed_heavy, ratio_heavy) = [
        (s.mean_velocity_mps, s.eccentric_concentric_power_ratio or 0.0) for s in summaries if s is not None
    ]
    # A heavier disc: slower lifts, and the lowering's share of the power rises (McErlain-Naylor 2021)
    assert speed_heavy < 0.9 * speed_light
    assert ratio_heavy > 1.2 * ratio_light > 0.0


def test_a_let_go_at_the_top_stops_the_disc_and_the_cable_comes_home_gently():
    let_go = Scenario(ScenarioKind.RELEASE_AT_TOP, rep=4, phase="top", at_fraction=0.0)
    result = flywheel_set(0.05, let_go)
    i = result.athlete_phase.index("released")
    t0 = result.frames[i].time_s
    assert [e.kind for e in result.safety_events][:1] == ["release"]
    idle = load_machine("home-gym-2kw").limits.idle_tension_n
    at_idle = next(f.time_s for f in result.frames[i:] if f.command_n <= idle + 0.5)
    assert at_idle - t0 < 0.15  # README: the figure, from bench/flywheel.py
    reeling_home = [f.command_n for f in result.frames[i:] if at_idle < f.time_s < at_idle + 0.8]
    assert max(reeling_home) <= idle + 0.5  # the disc gives nothing back: no whip once cut
    assert max(-v for v in result.true_handle_speed_mps[i:]) < 1.5  # the machine's reel-in cap


def test_a_drop_off_stop_ends_the_set_on_the_first_rep_past_it():
    tiring = load_athlete("trained")
    tiring = tiring.model_copy(update={"fatigue": tiring.fatigue.model_copy(update={"rate_per_s": 0.06})})
    profile = load_profile("flywheel")
    disc = profile.flywheel.model_copy(update={"stop_at_drop_off_pct": 10.0})
    profile = profile.model_copy(update={"flywheel": disc, "sets": 1, "reps": 30})
    result = simulate(SimulationSetup(load_machine("home-gym-2kw"), profile, tiring))
    power = [r.mean_concentric_power_w for r in result.reps if not r.pre_rep]
    assert 3 <= len(power) < 30
    best_before = [max(power[: k + 1]) for k in range(len(power))]
    assert all(p >= 0.9 * best for p, best in zip(power[:-1], best_before, strict=False))
    assert power[-1] < 0.9 * best_before[-1]
    assert math.isfinite(power[-1])


def test_caps_hold_a_flywheel_as_every_mode():
    caps = CapsConfig(max_concentric_force_n=250.0, max_eccentric_force_n=200.0, max_speed_mps=0.8)
    profile = load_profile("flywheel").model_copy(update={"caps": caps, "sets": 1, "reps": 3})
    result = simulate(
        SimulationSetup(load_machine("home-gym-2kw"), profile, load_athlete("trained")), keep_frames=True
    )
    assert result.reps, "the capped flywheel still trains"
    for f, speed in zip(result.frames, result.true_handle_speed_mps, strict=True):
        assert f.command_n <= 250.0 + 1e-9
        if f.velocity_mps < -0.05:
            assert f.command_n <= 200.0 + 1e-9
        assert -speed <= 1.25 * 0.8  # the disc reels in no faster than the caps' speed


def test_the_disc_is_chosen_with_the_set_and_only_for_a_flywheel():
    assert requested_profile(StartSet(profile="flywheel", inertia_kgm2=0.1)).flywheel.inertia_kgm2 == 0.1
    with pytest.raises(SetRequestError, match="inertia_kgm2: only for a flywheel profile, not 'constant'"):
        requested_profile(StartSet(profile="constant", inertia_kgm2=0.05))
    with pytest.raises(ValidationError, match="inertia_kgm2"):
        StartSet(profile="flywheel", inertia_kgm2=1.0)


def test_a_flywheel_takes_no_tempo_since_the_disc_sets_the_pace():
    """The dashboard sent its default 1-0-3 s tempo with every flywheel set: each rep got a tempo verdict."""
    tempo = {"concentric_s": 1.0, "pause_s": 0.0, "eccentric_s": 3.0}
    with pytest.raises(SetRequestError, match="tempo: a flywheel sets its own pace") as refused:
        requested_profile(StartSet.model_validate({"profile": "flywheel", "tempo": tempo}))
    assert refused.value.status == 422
    constant = StartSet.model_validate({"profile": "constant", "tempo": tempo})
    assert requested_profile(constant).tempo is not None


def test_the_disc_pulls_on_top_of_the_least_tension_even_under_the_machines_idle():
    """1 and 2 kg are both under the 2 kW build's 20 N idle, which the set holds instead: the disc's
    pull is added to it (a factor on the level, as a range curve is, made the 1 kg set pull 2x)."""
    peaks = []
    for load_kg in (1.0, 2.0):
        profile = load_profile("flywheel").model_copy(update={"load_kg": load_kg, "sets": 1, "reps": 2})
        result = simulate(SimulationSetup(load_machine("home-gym-2kw"), profile, load_athlete("trained")))
        measured = [r for r in result.reps if not r.pre_rep]
        assert len(measured) == 2 and not result.safety_events
        peaks.append(sum(r.peak_concentric_force_n for r in measured) / 2)
    assert peaks[0] == pytest.approx(peaks[1], rel=0.1)
