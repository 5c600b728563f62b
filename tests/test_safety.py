"""SafetyGate: every limit swept with control allowed and not allowed (panda-style), and properties
that must hold for any sequence of inputs (hypothesis)."""

from __future__ import annotations

import itertools
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from controller.config import CapsConfig, load_machine
from controller.core.safety import Flag, GateInput, GateLimits, GateOutput, GateState, apply

MACHINE = load_machine("home-gym-2kw")
CAPS = CapsConfig(max_concentric_force_n=600.0, max_eccentric_force_n=800.0)
LIMITS = GateLimits.of(MACHINE, CAPS)
DT = 0.002


def inp(t: float, request: float, **kw: Any) -> GateInput:
    base = GateInput(
        now_s=t,
        request_n=request,
        position_m=0.5,
        velocity_mps=0.0,
        acceleration_mps2=0.0,
        feedback_age_s=0.0,
        felt_tension_n=request,
    )
    return replace(base, **kw)


def hold(state: GateState, request: float, seconds: float, **kw) -> tuple[GateState, list[GateOutput]]:
    """Feed one input for a while, continuing from the state's own clock."""
    outputs = []
    t = state.time_s or 0.0
    for _ in range(int(seconds / DT)):
        t += DT
        out = apply(LIMITS, state, inp(t, request, **kw))
        state = out.state
        outputs.append(out)
    return state, outputs


def loaded(level: float, **kw) -> GateState:
    state, _ = hold(GateState(), level, 2.0, **kw)
    assert state.output_n == pytest.approx(level)
    return state


@pytest.mark.parametrize("velocity", [0.3, 0.0, -0.3])
@pytest.mark.parametrize("wanted", np.linspace(0.0, 2000.0, 21))
def test_tension_caps_per_direction(wanted, velocity):
    state = GateState(lowering=velocity < 0)
    state, outs = hold(state, wanted, 2.0, velocity_mps=velocity, felt_tension_n=wanted)
    cap = LIMITS.max_eccentric_n if velocity < 0 else LIMITS.max_concentric_n
    assert state.output_n == pytest.approx(min(wanted, cap))
    assert all(o.force_n <= cap + 1e-9 for o in outs)
    assert bool(outs[-1].flags & Flag.CAPPED) == (wanted > cap)


@pytest.mark.parametrize("wanted", np.linspace(0.0, 800.0, 9))
@pytest.mark.parametrize("pressed", [False, True])
def test_estop_cuts_at_once_and_latches_until_reset_at_rest(wanted, pressed):
    state = loaded(min(wanted, 590.0))
    out = apply(LIMITS, state, inp(2.002, wanted, estop=pressed))
    if not pressed:
        assert out.force_n == pytest.approx(min(wanted, 590.0), abs=LIMITS.slew_up * DT)
        return
    assert out.force_n == 0.0 and out.flags & Flag.ESTOP
    state, outs = hold(out.state, wanted, 0.5)
    assert all(o.force_n == 0.0 for o in outs)
    moving = apply(LIMITS, state, inp(2.504, wanted, reset=True, velocity_mps=0.3))
    assert moving.force_n == 0.0, "reset while moving must not clear the latch"
    still = apply(LIMITS, moving.state, inp(2.506, wanted, reset=True))
    assert not still.state.estop
    assert still.force_n <= LIMITS.slew_up * DT + 1e-9


@pytest.mark.parametrize("age", [0.0, 0.005, 0.0199, 0.0201, 0.05, 0.5, 5.0])
def test_stale_feedback_ramps_to_zero(age):
    state = loaded(500.0)
    state, outs = hold(state, 500.0, LIMITS.stale_ramp_s + 0.01, feedback_age_s=age)
    if age <= LIMITS.stale_s:
        assert state.output_n == pytest.approx(500.0)
    else:
        assert state.output_n == 0.0
        assert all(b.force_n <= a.force_n for a, b in itertools.pairwise(outs))


@pytest.mark.parametrize("velocity", np.linspace(-3.0, 0.0, 13))
def test_retract_overspeed_removes_tension(velocity):
    state = loaded(500.0, velocity_mps=-0.1)
    state, outs = hold(state, 500.0, 0.05, velocity_mps=velocity, felt_tension_n=500.0)
    if velocity < -LIMITS.max_retract_mps:
        assert state.output_n == 0.0 and outs[-1].flags & Flag.OVERSPEED_IN
    else:
        assert state.output_n == pytest.approx(500.0)


@pytest.mark.parametrize("velocity", np.linspace(0.0, 6.0, 13))
def test_payout_overspeed_allows_no_increase(velocity):
    state = loaded(300.0)
    state, _ = hold(state, 580.0, 0.5, velocity_mps=velocity, felt_tension_n=300.0)
    if velocity > LIMITS.max_payout_mps:
        assert state.output_n == pytest.approx(300.0)
    else:
        assert state.output_n == pytest.approx(580.0)


@pytest.mark.parametrize("position", np.linspace(0.0, 0.06, 13))
def test_tension_eases_off_near_the_dock(position):
    state = loaded(500.0)
    state, _ = hold(state, 500.0, 0.5, position_m=position)
    cap = LIMITS.max_concentric_n
    if position >= LIMITS.dock_zone_m:
        assert state.output_n == pytest.approx(500.0)
    else:
        ceiling = LIMITS.idle_n + (cap - LIMITS.idle_n) * position / LIMITS.dock_zone_m
        assert state.output_n == pytest.approx(min(500.0, ceiling))


@pytest.mark.parametrize("felt_fraction", [1.0, 0.8, 0.6, 0.49, 0.2, 0.0])
@pytest.mark.parametrize("velocity", [-0.5, 0.0, 0.3])
def test_let_go_cuts_to_idle_and_latches(felt_fraction, velocity):
    state = loaded(500.0)
    out = apply(LIMITS, state, inp(2.002, 500.0, velocity_mps=velocity, felt_tension_n=500.0 * felt_fraction))
    let_go = velocity < 0 and felt_fraction < 0.5
    assert bool(out.flags & Flag.RELEASE) == let_go
    state, _ = hold(out.state, 500.0, LIMITS.release_cut_s + 0.004, velocity_mps=velocity)
    assert state.output_n == pytest.approx(LIMITS.idle_n if let_go else 500.0)
    if let_go:
        state, _ = hold(state, 500.0, 0.2)  # at rest, not re-armed: still latched
        assert state.output_n == pytest.approx(LIMITS.idle_n)
        state, _ = hold(state, LIMITS.idle_n, 0.1, rearm=True)
        assert not state.released


@pytest.mark.parametrize("wanted", [0.0, 100.0, 400.0])
def test_decrease_without_hazard_is_slew_limited_but_always_reaches_target(wanted):
    state = loaded(590.0)
    state, outs = hold(state, wanted, 1.0)
    steps = np.diff([590.0] + [o.force_n for o in outs])
    assert steps.min() >= -LIMITS.slew_down * DT - 1e-6
    assert state.output_n == pytest.approx(wanted)


gate_inputs = st.fixed_dictionaries(
    {
        "request_n": st.floats(-100, 3000),
        "position_m": st.floats(-0.1, 3.0),
        "velocity_mps": st.floats(-5, 5),
        "acceleration_mps2": st.floats(-500, 500),
        "feedback_age_s": st.sampled_from([0.0, 0.002, 0.01, 0.03, 1.0]),
        "felt_fraction": st.floats(0, 1.5),
        "estop": st.sampled_from([False] * 9 + [True]),
        "reset": st.booleans(),
        "rearm": st.booleans(),
        "dt": st.sampled_from([0.001, 0.002, 0.004, 0.05]),
    }
)


@settings(max_examples=300, deadline=None)
@given(st.lists(gate_inputs, min_size=1, max_size=60))
def test_properties_hold_for_any_input_sequence(sequence):
    state = GateState()
    t = 0.0
    for step in sequence:
        t += step["dt"]
        last = state.output_n
        was_latched = state.estop
        gi = GateInput(
            now_s=t,
            request_n=step["request_n"],
            position_m=step["position_m"],
            velocity_mps=step["velocity_mps"],
            acceleration_mps2=step["acceleration_mps2"],
            feedback_age_s=step["feedback_age_s"],
            felt_tension_n=last * step["felt_fraction"],
            estop=step["estop"],
            reset=step["reset"],
            rearm=step["rearm"],
        )
        out = apply(LIMITS, state, gi)
        dt = min(step["dt"], 0.1) if state.time_s is not None else 0.0
        assert 0.0 <= out.force_n <= LIMITS.max_force_n
        assert out.force_n <= max(LIMITS.max_concentric_n, LIMITS.max_eccentric_n) + 1e-9
        assert out.force_n - last <= LIMITS.slew_up * dt + 1e-6, "rose faster than the slew limit"
        assert out.force_n <= max(gi.request_n, last - LIMITS.slew_down * dt, 0.0) + 1e-6, "added tension"
        if step["estop"] or (was_latched and not (step["reset"] and abs(step["velocity_mps"]) < 0.05)):
            assert out.force_n == 0.0 and out.state.estop, "e-stop not latched"
        state = out.state


@settings(max_examples=200, deadline=None)
@given(st.floats(0, 1500), st.floats(-1.0, 1.0))
def test_zero_is_always_reachable(start, velocity):
    state = GateState(output_n=start, time_s=0.0)
    deadline = start / LIMITS.slew_down + 2 * DT
    state, outs = hold(state, 0.0, deadline, velocity_mps=velocity, felt_tension_n=start)
    assert state.output_n == 0.0
    assert all(b.force_n <= a.force_n for a, b in itertools.pairwise(outs))
