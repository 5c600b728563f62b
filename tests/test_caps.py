"""A clinician's caps: whatever an athlete or patient asks for, in any mode, the machine never pulls
harder, lowers faster, overloads the lowering more or loads outside the range-of-motion window than
the caps allow. Enforced in the control process (the person's caps from the store) and in the gate."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from controller.app.clinic import Clinic
from controller.app.set_request import SetRequestError, authorize, requested_profile, with_person_caps
from controller.app.store import SqliteSessionStore
from controller.config import CapsConfig, ConfigError, ProfileKind, load_athlete, load_machine, load_profile
from controller.config.loader import CONFIG_ROOT
from controller.core.curves import curve_peak
from controller.core.safety import GateInput, GateLimits, GateState, apply
from controller.units import kg_to_newtons
from controller.wire import StartSet
from simulator.simulate import SimulationSetup, simulate
from tests.service_harness import running_service
from tests.test_service import Listener, profile, with_client

MACHINE = load_machine("home-gym-2kw")
MAX_ECCENTRIC_PCT = 15.0
MAX_SPEED_MPS = 0.6
CLINICIAN = CapsConfig(
    max_concentric_force_n=300.0,
    max_eccentric_force_n=360.0,
    max_speed_mps=MAX_SPEED_MPS,
    max_eccentric_pct=MAX_ECCENTRIC_PCT,
    rom_min_m=0.08,
    rom_max_m=0.55,
    rom_soft_m=0.03,
)
PROFILES = sorted(p.stem for p in (CONFIG_ROOT / "profiles").glob("*.toml"))


def test_tightest_takes_the_lower_bound_and_the_narrower_window():
    mine = CapsConfig(max_concentric_force_n=500.0, max_speed_mps=0.3, rom_min_m=0.1, rom_max_m=0.9)
    both = mine.tightest(CLINICIAN)
    assert both.max_concentric_force_n == 300.0 and both.max_eccentric_force_n == 360.0
    assert both.max_speed_mps == 0.3 and both.max_eccentric_pct == 15.0
    assert (both.rom_min_m, both.rom_max_m) == (0.1, 0.55)


def test_a_window_narrower_than_its_soft_zones_is_refused_by_name():
    with pytest.raises(ValueError, match=r"caps\.rom_max_m = 0\.1: must be at least 3 x rom_soft_m"):
        CapsConfig(rom_min_m=0.05, rom_max_m=0.1, rom_soft_m=0.03)


@pytest.mark.parametrize("position", np.linspace(0.0, 0.8, 161))
def test_the_window_eases_the_tension_off_at_both_ends(position):
    limits = GateLimits.of(MACHINE, CLINICIAN)
    state = GateState()
    for k in range(1500):  # 3 s asking for far more than the caps, held at this position
        inp = GateInput(k * 0.002, 2000.0, position, 0.0, 0.0, 0.0, hand_pull_n=state.output_n)
        state = apply(limits, state, inp).state
    into = min(position - 0.08, 0.55 - position)
    allowed = limits.idle_n + (limits.max_concentric_n - limits.idle_n) * min(1.0, max(0.0, into / 0.03))
    assert state.output_n <= allowed + 1e-9
    if into >= 0.03:
        assert state.output_n == pytest.approx(limits.max_concentric_n)  # the window does not weaken the set
    if into <= 0.0:
        assert state.output_n <= limits.idle_n + 1e-9


# Derandomized: the same cases every run keep the suite's time steady (some cases run a set to
# failure, 80 s on one seed); other seeds are worth a run after a change to the gate or the caps.
@settings(max_examples=12, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(PROFILES),
    load_unit=st.one_of(  # on the steps a person can ask for: 0.5 kg or 1 lb
        st.tuples(st.integers(4, 120).map(lambda halves: halves / 2), st.just("kg")),
        st.tuples(st.integers(4, 130).map(float), st.just("lb")),
    ),
    eccentric_pct=st.one_of(st.none(), st.floats(0.0, 100.0)),
    reps=st.integers(1, 2),
)
def test_no_request_from_an_athlete_exceeds_the_clinicians_caps(name, load_unit, eccentric_pct, reps):
    """Any shipped mode, any load and overload the request allows, with the strong trained athlete
    pulling: refused by name, or run within every cap."""
    load, unit = load_unit
    body = StartSet(profile=name, load=load, unit=unit, eccentric_pct=eccentric_pct, reps=reps, sets=1)
    with pytest.raises(SetRequestError, match="caps are set by a clinician"):
        authorize(body.model_copy(update={"caps": CapsConfig(max_concentric_force_n=5000.0)}), "ann", False)
    with pytest.raises(SetRequestError, match="whole profiles come from a clinician"):
        authorize(body.model_copy(update={"profile": load_profile(name).model_dump()}), "ann", False)
    forwarded = StartSet.model_validate(authorize(body, "ann", supervising=False))
    try:
        requested = requested_profile(forwarded)  # as the control process's admission resolves it
    except SetRequestError as exc:
        assert exc.status == 422 and "caps" in str(exc)  # the profile's own caps refuse it, by name
        return
    try:
        config = with_person_caps(requested, CLINICIAN)
    except ConfigError as exc:
        assert "caps" in str(exc)  # refused, naming the cap
        return
    result = simulate(SimulationSetup(MACHINE, config, load_athlete("trained")), keep_frames=True)
    caps = config.caps
    assert caps.max_concentric_force_n is not None and caps.max_eccentric_force_n is not None
    peak_lift = min(caps.max_concentric_force_n, kg_to_newtons(config.load_kg) * curve_peak(config.curve))
    if config.kind is ProfileKind.FLYWHEEL:  # the lift meets what the person puts in, up to the cap
        peak_lift = caps.max_concentric_force_n
    eccentric_limit = min(caps.max_eccentric_force_n, peak_lift * (1 + MAX_ECCENTRIC_PCT / 100))
    idle = MACHINE.limits.idle_tension_n
    for f, speed in zip(result.frames, result.true_handle_speed_mps, strict=True):
        assert f.command_n <= max(caps.max_concentric_force_n, eccentric_limit) + 1e-9
        if f.velocity_mps > 0.05:
            assert f.command_n <= caps.max_concentric_force_n + 1e-9
        if f.velocity_mps < -0.05:
            assert f.command_n <= eccentric_limit + 1e-9
        if not 0.08 <= f.position_m <= 0.55:
            assert f.command_n <= idle + 1e-9, (f.position_m, f.command_n)
        assert -speed <= 1.25 * MAX_SPEED_MPS  # the machine never reels the handle in faster


def test_the_control_process_applies_the_persons_caps_whoever_asks(tmp_path):
    """Caps stored for a patient bind every set started for them through the port (the dashboard's
    and the MQTT bridge's way in), whatever profile or caps the request carries."""

    async def body(listener: Listener) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        too_heavy = await listener.client.request(
            "start", start={"profile": profile("constant", load_kg=40.0), "person": "ann"}
        )
        loose = profile("eccentric-overload-130", load_kg=20.0, caps={"max_eccentric_pct": 100.0})
        overload = await listener.client.request("start", start={"profile": loose, "person": "ann"})
        fine = await listener.client.request(
            "start", start={"profile": profile("constant", load_kg=20.0), "person": "ann"}
        )
        return too_heavy, overload, fine

    with running_service(tmp_path) as service:
        store = SqliteSessionStore(tmp_path / "sessions.sqlite")
        Clinic(store).set_caps("ann", CLINICIAN, by="dr-lee")
        store.close()
        too_heavy, overload, fine = asyncio.run(with_client(service.port.path, body))
        deadline = time.monotonic() + 10
        while service.block is None:  # the set starts at the loop's next cycle
            assert time.monotonic() < deadline, "the capped set did not start"
            time.sleep(0.01)
        limits = service.loop.limits
    assert not too_heavy["ok"] and "caps.max_concentric_force_n = 300.0" in too_heavy["error"]
    assert not overload["ok"] and "caps.max_eccentric_pct = 15.0" in overload["error"]
    assert fine["ok"]
    assert limits.max_concentric_n == 300.0 and limits.max_eccentric_n <= 360.0 and limits.rom_max_m == 0.55


@pytest.mark.parametrize(
    ("load", "unit", "ok"), [(12.5, "kg", True), (12.3, "kg", False), (25, "lb", True), (25.5, "lb", False)]
)
def test_loads_go_in_half_kilogram_or_one_pound_steps(load, unit, ok):
    if ok:
        assert StartSet(profile="constant", load=load, unit=unit).load == load
    else:
        with pytest.raises(ValueError, match=f"load = {load}: in {unit}, loads go in steps of"):
            StartSet(profile="constant", load=load, unit=unit)
