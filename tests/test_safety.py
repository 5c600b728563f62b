"""SafetyGate: every limit swept with control allowed and not allowed, and properties that must hold
for any sequence of inputs (hypothesis). As panda runs its safety tests for every car, the sweeps
are a base class run for every shipped machine against every caps table the product ships (none,
each profile's, each protocol stage's, a clinician's); levels and speeds are taken relative to
the limits under test, so a new machine or caps table is covered the day it is added."""

from __future__ import annotations

import itertools
from dataclasses import replace
from typing import Any, ClassVar

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from controller.config import CapsConfig, load_machine, load_profile
from controller.config.loader import CONFIG_ROOT
from controller.config.protocol import load_protocol
from controller.core.profiles import Profile
from controller.core.safety import (
    RELEASE_PULL_FRACTION,
    Flag,
    GateInput,
    GateLimits,
    GateOutput,
    GateState,
    apply,
)

DT = 0.002
SHIPPED_MACHINES = sorted(p.stem for p in (CONFIG_ROOT / "machines").glob("*.toml"))


def caps_tables() -> list[tuple[str, CapsConfig | None, float | None]]:
    """(name, caps, the profile's peak lifting force) for every caps table that ships."""
    tables: list[tuple[str, CapsConfig | None, float | None]] = [
        ("no-caps", None, None),
        ("clinician", CapsConfig(max_concentric_force_n=600.0, max_eccentric_force_n=800.0), None),
    ]
    for path in sorted((CONFIG_ROOT / "profiles").glob("*.toml")):
        profile = load_profile(path.stem)
        if profile.caps != CapsConfig():
            tables.append((f"profile-{path.stem}", profile.caps, Profile(profile).peak_concentric_n))
    for path in sorted((CONFIG_ROOT / "protocols").glob("*.toml")):
        for index, stage in enumerate(load_protocol(path.stem).stages):
            if stage.caps != CapsConfig():
                tables.append((f"protocol-{path.stem}-{index}", stage.caps, None))
    return tables


CAPS_TABLES = caps_tables()


def after(state: GateState) -> float:
    """The next cycle's time for a gate that has run."""
    assert state.time_s is not None
    return state.time_s + DT


class GateSafety:
    """The sweeps, for one machine (`machine`) under each caps table."""

    machine: ClassVar[str]

    @pytest.fixture(params=CAPS_TABLES, ids=[name for name, _, _ in CAPS_TABLES])
    def limits(self, request: pytest.FixtureRequest) -> GateLimits:
        _, caps, peak = request.param
        return GateLimits.of(load_machine(self.machine), caps, peak)

    # -- helpers: the same inputs wherever the limits are ------------------------------------------
    @staticmethod
    def middle(limits: GateLimits) -> float:
        """A handle position well inside every window (the dock, the cable end, the caps' range)."""
        low = max(limits.dock_zone_m, limits.rom_min_m + limits.rom_soft_m)
        high = min(limits.cable_end_m, limits.rom_max_m - limits.rom_soft_m)
        return (low + high) / 2

    @staticmethod
    def working(limits: GateLimits) -> float:
        """A load inside every cap, either way."""
        return 0.8 * min(limits.max_concentric_n, limits.max_eccentric_n)

    @staticmethod
    def pace(limits: GateLimits) -> float:
        """A speed inside both overspeed limits and clearly moving."""
        return min(0.3, 0.8 * limits.max_retract_mps, 0.8 * limits.max_payout_mps)

    def inp(self, limits: GateLimits, t: float, request: float, **kw: Any) -> GateInput:
        base = GateInput(
            now_s=t,
            request_n=request,
            position_m=self.middle(limits),
            velocity_mps=0.0,
            acceleration_mps2=0.0,
            feedback_age_s=0.0,
            hand_pull_n=request,
        )
        return replace(base, **kw)

    def hold(
        self, limits: GateLimits, state: GateState, request: float, seconds: float, **kw: Any
    ) -> tuple[GateState, list[GateOutput]]:
        """Feed one input for a while, continuing from the state's own clock."""
        outputs = []
        t = state.time_s or 0.0
        for _ in range(int(seconds / DT)):
            t += DT
            out = apply(limits, state, self.inp(limits, t, request, **kw))
            state = out.state
            outputs.append(out)
        return state, outputs

    @staticmethod
    def rise_s(limits: GateLimits, level: float) -> float:
        """Long enough for the slew limit to bring the output up to `level`, with a margin."""
        return 1.1 * level / limits.slew_up + 0.02

    def loaded(self, limits: GateLimits, level: float, **kw: Any) -> GateState:
        state, _ = self.hold(limits, GateState(), level, self.rise_s(limits, level), **kw)
        assert state.output_n == pytest.approx(level)
        return state

    # -- the sweeps --------------------------------------------------------------------------------
    @pytest.mark.parametrize("direction", [1, 0, -1])
    @pytest.mark.parametrize("fraction", np.linspace(0.0, 1.3, 14))
    def test_tension_caps_per_direction(self, limits, fraction, direction):
        wanted = fraction * limits.max_force_n
        velocity = direction * self.pace(limits)
        state = GateState(lowering=velocity < 0)
        seconds = self.rise_s(limits, wanted)
        state, outs = self.hold(limits, state, wanted, seconds, velocity_mps=velocity, hand_pull_n=wanted)
        cap = limits.max_eccentric_n if velocity < 0 else limits.max_concentric_n
        assert state.output_n == pytest.approx(min(wanted, cap))
        assert all(o.force_n <= cap + 1e-9 for o in outs)
        assert bool(outs[-1].flags & Flag.CAPPED) == (wanted > cap)

    @pytest.mark.parametrize("fraction", np.linspace(0.0, 1.0, 6))
    @pytest.mark.parametrize("pressed", [False, True])
    def test_estop_cuts_at_once_and_latches_until_reset_at_rest(self, limits, fraction, pressed):
        level = fraction * self.working(limits)
        state = self.loaded(limits, level)
        out = apply(limits, state, self.inp(limits, after(state), level, estop=pressed))
        if not pressed:
            assert out.force_n == pytest.approx(level)
            return
        assert out.force_n == 0.0 and out.flags & Flag.ESTOP
        state, outs = self.hold(limits, out.state, level, 0.5)
        assert all(o.force_n == 0.0 for o in outs)
        moving = apply(
            limits,
            state,
            self.inp(limits, after(state), level, reset=True, velocity_mps=self.pace(limits)),
        )
        assert moving.force_n == 0.0, "reset while moving must not clear the latch"
        still = apply(limits, moving.state, self.inp(limits, after(moving.state), level, reset=True))
        assert not still.state.estop
        assert still.force_n <= limits.slew_up * DT + 1e-9

    @pytest.mark.parametrize("age_of_limit", [0.0, 0.5, 0.99, 1.01, 2.5, 25.0, 250.0])
    def test_stale_feedback_ramps_to_zero(self, limits, age_of_limit):
        age = age_of_limit * limits.stale_s
        level = self.working(limits)
        state = self.loaded(limits, level)
        state, outs = self.hold(limits, state, level, limits.stale_ramp_s + 0.01, feedback_age_s=age)
        if age <= limits.stale_s:
            assert state.output_n == pytest.approx(level)
        else:
            assert state.output_n == 0.0
            assert all(b.force_n <= a.force_n for a, b in itertools.pairwise(outs))

    @pytest.mark.parametrize("of_limit", np.linspace(0.0, 2.0, 11))
    def test_retract_overspeed_removes_tension(self, limits, of_limit):
        velocity = -of_limit * limits.max_retract_mps
        level = self.working(limits)
        state = self.loaded(limits, level, velocity_mps=-0.5 * self.pace(limits))
        state, outs = self.hold(limits, state, level, 0.05, velocity_mps=velocity, hand_pull_n=level)
        if velocity < -limits.max_retract_mps:
            assert state.output_n == 0.0 and outs[-1].flags & Flag.OVERSPEED_IN
        else:
            assert state.output_n == pytest.approx(level)

    @pytest.mark.parametrize("of_limit", np.linspace(0.0, 2.0, 11))
    def test_payout_overspeed_allows_no_increase(self, limits, of_limit):
        velocity = of_limit * limits.max_payout_mps
        level = self.working(limits)
        state = self.loaded(limits, 0.5 * level)
        state, _ = self.hold(limits, state, level, 0.5, velocity_mps=velocity, hand_pull_n=0.5 * level)
        if velocity > limits.max_payout_mps:
            assert state.output_n == pytest.approx(0.5 * level)
        else:
            assert state.output_n == pytest.approx(level)

    @pytest.mark.parametrize("of_zone", np.linspace(0.0, 1.2, 13))
    def test_tension_eases_off_near_the_dock(self, limits, of_zone):
        position = of_zone * limits.dock_zone_m
        level = self.working(limits)
        state = self.loaded(limits, level)
        state, _ = self.hold(limits, state, level, 0.5, position_m=position)
        cap = limits.max_concentric_n
        ceiling = level
        if position < limits.dock_zone_m:
            ceiling = limits.idle_n + (cap - limits.idle_n) * position / limits.dock_zone_m
        window = min(
            1.0, max(0.0, min(position - limits.rom_min_m, limits.rom_max_m - position) / limits.rom_soft_m)
        )
        ceiling = min(ceiling, limits.idle_n + max(0.0, min(ceiling, cap) - limits.idle_n) * window)
        assert state.output_n == pytest.approx(min(level, ceiling))

    @pytest.mark.parametrize("of_zone", [-1.0, -0.5, 0.0, 0.5, 1.0, 1.5])
    def test_tension_eases_off_at_the_caps_range_ends(self, limits, of_zone):
        """Past either end of a clinician's range of motion only the idle take-up remains; with no
        range in the caps, the whole cable between the machine's own soft zones is open."""
        level = self.working(limits)
        cap = limits.max_concentric_n
        for end, inward in ((limits.rom_max_m, -1.0), (limits.rom_min_m, 1.0)):
            fraction = min(1.0, max(0.0, of_zone))
            if abs(end) == float("inf"):
                end = limits.cable_end_m if inward < 0 else limits.dock_zone_m
                fraction = 1.0
            position = end + inward * of_zone * limits.rom_soft_m
            if not limits.dock_zone_m <= position <= limits.cable_end_m:
                continue  # the machine's own soft zones (their own sweeps) govern there
            state = self.loaded(limits, level)
            state, _ = self.hold(limits, state, level, 2.0, position_m=position)
            assert state.output_n == pytest.approx(
                min(level, limits.idle_n + (cap - limits.idle_n) * fraction)
            )

    @pytest.mark.parametrize("pull_fraction", [1.0, 0.8, 0.6, 0.49, 0.3, 0.24, 0.1, 0.0])
    @pytest.mark.parametrize("direction", [-1, 0, 1])
    def test_let_go_cuts_to_idle_and_latches(self, limits, pull_fraction, direction):
        level = self.working(limits)
        velocity = direction * self.pace(limits)
        state = self.loaded(limits, level)
        felt = level * pull_fraction
        out = apply(
            limits,
            state,
            self.inp(limits, after(state), level, velocity_mps=velocity, hand_pull_n=felt),
        )
        let_go = velocity < -0.1 and pull_fraction < RELEASE_PULL_FRACTION and level > limits.release_arm_n
        assert bool(out.flags & Flag.RELEASE) == let_go
        state, _ = self.hold(limits, out.state, level, limits.release_cut_s + 0.004, velocity_mps=velocity)
        assert state.output_n == pytest.approx(limits.idle_n if let_go else level)
        if let_go:
            state, _ = self.hold(limits, state, level, 0.2)  # at rest, not re-armed: still latched
            assert state.output_n == pytest.approx(limits.idle_n)
            state, _ = self.hold(limits, state, limits.idle_n, 0.1, rearm=True)
            assert not state.released

    @pytest.mark.parametrize("fraction", [0.0, 0.2, 0.7])
    def test_decrease_without_hazard_is_slew_limited_but_always_reaches_target(self, limits, fraction):
        level = self.working(limits)
        state = self.loaded(limits, level)
        state, outs = self.hold(limits, state, fraction * level, 1.0 + level / limits.slew_down)
        steps = np.diff([level] + [o.force_n for o in outs])
        assert steps.min() >= -limits.slew_down * DT - 1e-6
        assert state.output_n == pytest.approx(fraction * level)

    def test_properties_hold_for_any_input_sequence(self, limits):
        properties_hold(limits)

    def test_zero_is_always_reachable(self, limits):
        zero_reachable(self, limits)


class TestA6Diy(GateSafety):
    machine = "a6-diy"


class TestA6Rs485(GateSafety):
    machine = "a6-rs485"


@pytest.mark.fast  # the reference machine's sweeps: enough for the edit-test loop
class TestHomeGym2kw(GateSafety):
    machine = "home-gym-2kw"


@pytest.mark.fast
def test_every_shipped_machine_has_its_safety_sweeps():
    covered = {cls.machine for cls in GateSafety.__subclasses__()}
    assert covered == set(SHIPPED_MACHINES), "add a GateSafety subclass for the new machine"


gate_inputs = st.fixed_dictionaries(
    {
        "request_n": st.floats(-100, 3000),
        "position_m": st.floats(-0.1, 3.0),
        "velocity_mps": st.floats(-5, 5),
        "acceleration_mps2": st.floats(-500, 500),
        "feedback_age_s": st.sampled_from([0.0, 0.002, 0.01, 0.03, 1.0]),
        "pull_fraction": st.floats(0, 1.5),
        "estop": st.sampled_from([False] * 9 + [True]),
        "reset": st.booleans(),
        "rearm": st.booleans(),
        "dt": st.sampled_from([0.001, 0.002, 0.004, 0.05]),
    }
)


def properties_hold(limits: GateLimits) -> None:
    @settings(max_examples=25, deadline=None)  # per machine and caps table
    @given(st.lists(gate_inputs, min_size=1, max_size=60))
    def check(sequence: list[dict[str, Any]]) -> None:
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
                hand_pull_n=last * step["pull_fraction"],
                estop=step["estop"],
                reset=step["reset"],
                rearm=step["rearm"],
            )
            out = apply(limits, state, gi)
            dt = min(step["dt"], 0.1) if state.time_s is not None else 0.0
            assert 0.0 <= out.force_n <= limits.max_force_n
            assert out.force_n <= max(limits.max_concentric_n, limits.max_eccentric_n) + 1e-9
            assert out.force_n - last <= limits.slew_up * dt + 1e-6, "rose faster than the slew limit"
            assert out.force_n <= max(gi.request_n, last - limits.slew_down * dt, 0.0) + 1e-6, "added tension"
            if step["estop"] or (was_latched and not (step["reset"] and abs(step["velocity_mps"]) < 0.05)):
                assert out.force_n == 0.0 and out.state.estop, "e-stop not latched"
            state = out.state

    check()


def zero_reachable(suite: GateSafety, limits: GateLimits) -> None:
    @settings(max_examples=20, deadline=None)
    @given(st.floats(0, limits.max_force_n), st.floats(-1.0, 1.0))
    def check(start: float, velocity: float) -> None:
        state = GateState(output_n=start, time_s=0.0)
        deadline = start / limits.slew_down + 2 * DT
        state, outs = suite.hold(limits, state, 0.0, deadline, velocity_mps=velocity, hand_pull_n=start)
        assert state.output_n == 0.0
        assert all(b.force_n <= a.force_n for a, b in itertools.pairwise(outs))

    check()
