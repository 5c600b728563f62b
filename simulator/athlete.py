"""A simulated person on the handle: follows a tempo, tires, stalls, gives up, and can let go.

The person's hand force tracks a desired handle speed for the current phase of the rep (a velocity
loop of about 2 Hz bandwidth plus the tension they feel, as people do). It sets muscle activation,
which lags by tens of milliseconds; the force is activation times what they can push at that
position and speed (strength.py), reduced by fatigue. Because force follows the force-velocity
curve at every activation, a sudden drop in load speeds the hand up only a little, as in real
muscle. Full effort is simply a desired speed they cannot reach (activation 1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum

from controller.config import AthleteConfig
from controller.units import kg_to_newtons
from simulator.flywheel_intent import FlywheelIntent
from simulator.scenarios import Scenario, ScenarioKind
from simulator.strength import Strength

_VELOCITY_GAIN_PER_S = 12.0
_ACTIVATION_TIME_CONSTANT_S = 0.04
_STALL_SPEED_MPS = 0.03
_MOVING_AGAIN_MPS = 0.06
_HAND_PUSH_FRACTION = 0.3
_RETURN_SPEED_MPS = 0.25
_SLACK_THROW_SPEED_MPS = 2.5
_JERK_DURATION_S = 0.06
# Letting go: the handle slips out of the hand as soon as the cable pulls harder than the opening
# grip holds, so the limb no longer moves with it, but the sliding hand still drags on it with a
# force that fades within about ten milliseconds, until the handle has left it.
_GRIP_RELEASE_TIME_CONSTANT_S = 0.01


class AthletePhase(StrEnum):
    APPROACH = "approach"
    HOLD = "hold"
    CONCENTRIC = "concentric"
    TOP = "top"
    ECCENTRIC = "eccentric"
    BOTTOM = "bottom"
    FAILED = "failed"
    FINISH = "finish"
    RETURN = "return"
    RELEASED = "released"


@dataclass(slots=True)
class RepTruth:
    """What the person really did in one rep (ground truth for tests, not the controller's view)."""

    index: int
    concentric_start_s: float
    concentric_start_m: float
    concentric_end_s: float = math.nan
    concentric_end_m: float = math.nan
    eccentric_end_s: float = math.nan
    failed: bool = False

    @property
    def mean_concentric_velocity_mps(self) -> float:
        duration = self.concentric_end_s - self.concentric_start_s
        return (self.concentric_end_m - self.concentric_start_m) / duration


@dataclass(slots=True)
class _Timers:
    phase_start_s: float = 0.0
    stall_s: float = 0.0
    steady_s: float = 0.0
    event_until_s: float = -1.0


@dataclass(slots=True)
class AthleteState:
    phase: AthletePhase = AthletePhase.APPROACH
    force_n: float = 0.0
    activation: float = 0.0  # 0..1 of capacity pulling; negative: fraction of the hand's push
    fatigue: float = 0.0
    felt_tension_n: float = 0.0
    attempts_left: int = 0
    reps: list[RepTruth] = field(default_factory=list)
    timers: _Timers = field(default_factory=_Timers)


class Athlete:
    def __init__(
        self,
        config: AthleteConfig,
        strength: Strength,
        planned_reps: int,
        scenario: Scenario | None = None,
        dt_s: float = 0.001,
        device_mass_kg: float = 0.5,
    ) -> None:
        self.config = config
        self.strength = strength
        self.planned_reps = planned_reps
        self.scenario = scenario
        self.dt_s = dt_s
        self.state = AthleteState(attempts_left=config.fatigue.attempts_after_failure)
        self._alpha = 1.0 - math.exp(-dt_s / _ACTIVATION_TIME_CONSTANT_S)
        # People learn a machine's feel within a rep or two: they plan with its moving mass too.
        self._mass = config.moving_mass_kg + device_mass_kg
        self._top_m = config.start_position_m + config.rom_m
        self._one_rm_n = kg_to_newtons(config.one_rm_kg)
        self._push_n = _HAND_PUSH_FRACTION * self._one_rm_n
        self._scenario_fired = False
        self._finish_tension = 1.0
        self.flywheel: FlywheelIntent | None = None  # set by whoever gives the set (simulator/lifter.py)

    # -- what the plant needs -------------------------------------------------------------------
    @property
    def attached(self) -> bool:
        """Whether the limb moves with the handle."""
        return self.state.phase is not AthletePhase.RELEASED

    @property
    def moving_mass_kg(self) -> float:
        return self.config.moving_mass_kg

    @property
    def letting_go(self) -> bool:
        return self.state.phase is AthletePhase.RELEASED

    @property
    def done(self) -> bool:
        return self.state.phase is AthletePhase.RELEASED and self.state.force_n == 0.0

    @property
    def completed_reps(self) -> int:
        return sum(1 for rep in self.state.reps if not rep.failed and not math.isnan(rep.eccentric_end_s))

    def begin_next_set(self, planned_reps: int) -> None:
        """Come back to the handle for another set (fatigue keeps what the rest did not recover)."""
        st = self.state
        st.phase = AthletePhase.APPROACH
        st.force_n = st.activation = 0.0
        st.attempts_left = self.config.fatigue.attempts_after_failure
        st.reps = []
        self.planned_reps = planned_reps

    def step_away(self) -> None:
        """Away from the machine until asked to do a set (the demo's lifter before the first set)."""
        st = self.state
        st.phase = AthletePhase.RELEASED
        st.force_n = st.activation = 0.0

    def resting(self, seconds: float) -> None:
        """Away from the handle between sets: fatigue recovers."""
        self.state.fatigue *= math.exp(-seconds * self.config.fatigue.recovery_per_s)

    def take_load_in_hand(self, tension_n: float) -> None:
        """Start holding at the start position with this load already in hand (a weight stack)."""
        st = self.state
        st.phase = AthletePhase.HOLD
        st.force_n = st.felt_tension_n = tension_n
        x = self.config.start_position_m
        st.activation = min(1.0, tension_n / self.strength.capacity(x, 0.0))

    def step(self, now_s: float, position_m: float, velocity_mps: float, tension_n: float) -> float:
        """The hand's force on the handle (N, outward positive) for the next physics step."""
        st = self.state
        if st.phase is AthletePhase.RELEASED:
            return self._opening_grip()
        st.felt_tension_n += (tension_n - st.felt_tension_n) * 0.05
        desired = self._desired_velocity(now_s, position_m, velocity_mps, tension_n)
        if self.letting_go:
            return self._opening_grip()
        target = tension_n + self._mass * _VELOCITY_GAIN_PER_S * (desired - velocity_mps)
        if self.flywheel is not None and st.phase is AthletePhase.ECCENTRIC and velocity_mps < 0.0:
            target = max(target, self.flywheel.least_pull_n(tension_n))
        capacity = self.strength.capacity(position_m, velocity_mps) * (1.0 - st.fatigue)
        push = self._push_n * (4.0 if self._throwing(now_s) else 1.0)
        wanted = min(1.0, target / capacity) if target >= 0.0 else max(-1.0, target / push)
        st.activation += (wanted - st.activation) * self._alpha
        st.force_n = st.activation * (capacity if st.activation >= 0.0 else push)
        self._tire(velocity_mps)
        if self._jerking(now_s):
            return st.force_n + 0.4 * self._one_rm_n
        return st.force_n

    def _opening_grip(self) -> float:
        st = self.state
        st.force_n *= math.exp(-self.dt_s / _GRIP_RELEASE_TIME_CONSTANT_S)
        if abs(st.force_n) < 0.5:
            st.force_n = 0.0
        st.activation = 0.0
        return st.force_n

    # -- intent ------------------------------------------------------------------------------------
    def _enter(self, phase: AthletePhase, now_s: float) -> None:
        self.state.phase = phase
        self.state.timers.phase_start_s = now_s
        self.state.timers.stall_s = 0.0

    def _hold_at(self, target_m: float, position_m: float) -> float:
        return max(-0.3, min(0.3, 3.0 * (target_m - position_m)))

    def _desired_velocity(self, now: float, x: float, v: float, tension: float) -> float:
        st, cfg = self.state, self.config
        in_phase = now - st.timers.phase_start_s
        start, top = cfg.start_position_m, self._top_m
        match st.phase:
            case AthletePhase.APPROACH:
                if abs(x - start) < 0.01 and abs(v) < 0.05:
                    self._enter(AthletePhase.HOLD, now)
                return max(-0.4, min(0.4, 2.0 * (start - x)))
            case AthletePhase.HOLD:
                self._wait_for_steady_load(now, tension)
                return self._hold_at(start, x)
            case AthletePhase.CONCENTRIC:
                return self._concentric(now, x, v, tension, in_phase)
            case AthletePhase.TOP:
                if self._fire(ScenarioKind.RELEASE_AT_TOP, 0.0):
                    self._enter(AthletePhase.RELEASED, now)
                elif in_phase >= cfg.tempo.pause_top_s or self.flywheel is not None:
                    self._enter(AthletePhase.ECCENTRIC, now)
                    if self._fire(ScenarioKind.SLACK_AT_TOP, 0.0):
                        self.state.timers.event_until_s = now + 0.25
                return self._hold_at(top, x)
            case AthletePhase.ECCENTRIC:
                return self._eccentric(now, x, v, in_phase)
            case AthletePhase.BOTTOM:
                if in_phase >= cfg.tempo.pause_bottom_s or self.flywheel is not None:  # a yo-yo goes on
                    self._next_rep_or_finish(now, x)
                return self._hold_at(start, x)
            case AthletePhase.FAILED:
                if x <= start + 0.01 and v > -0.05:
                    if st.attempts_left > 0:
                        st.attempts_left -= 1
                        self._enter(AthletePhase.BOTTOM, now)
                    else:
                        self._enter(AthletePhase.FINISH, now)
                        self._finish_tension = max(st.felt_tension_n, 1.0)
                return -min(0.3, math.sqrt(3.0 * max(0.0, x - start)))
            case AthletePhase.FINISH:
                # People wait for the machine to let the load off before walking the handle home.
                if in_phase >= 1.0 and (tension < 0.2 * self._finish_tension or in_phase >= 3.0):
                    self._enter(AthletePhase.RETURN, now)
                return self._hold_at(start, x)
            case AthletePhase.RETURN:
                if x < 0.01:
                    self._enter(AthletePhase.RELEASED, now)
                return -min(_RETURN_SPEED_MPS, math.sqrt(2.0 * max(0.0, x)))
            case AthletePhase.RELEASED:
                return 0.0

    def _wait_for_steady_load(self, now: float, tension: float) -> None:
        st = self.state
        steady = abs(tension - st.felt_tension_n) < 0.03 * max(tension, 20.0)
        st.timers.steady_s = st.timers.steady_s + self.dt_s if steady else 0.0
        in_phase = now - st.timers.phase_start_s
        if st.timers.steady_s >= self.config.reaction_time_s + 0.3 and in_phase >= 1.0:
            self._next_rep_or_finish(now, None)

    def _next_rep_or_finish(self, now: float, x: float | None) -> None:
        if self.completed_reps >= self.planned_reps:
            self._enter(AthletePhase.FINISH, now)
            self._finish_tension = max(self.state.felt_tension_n, 1.0)
            return
        self._enter(AthletePhase.CONCENTRIC, now)
        position = self.config.start_position_m if x is None else x
        self.state.reps.append(RepTruth(len(self.state.reps) + 1, now, position))
        if self._fire(ScenarioKind.CONCENTRIC_FAILURE, 0.0):
            self.state.fatigue = max(self.state.fatigue, 0.5)

    def _concentric(self, now: float, x: float, v: float, tension: float, in_phase: float) -> float:
        st, cfg = self.state, self.config
        rep = st.reps[-1]
        progress = (x - rep.concentric_start_m) / max(1e-6, self._top_m - rep.concentric_start_m)
        if self._fire(ScenarioKind.RELEASE_MID_REP, progress, phase=AthletePhase.CONCENTRIC):
            self._enter(AthletePhase.RELEASED, now)
            return 0.0
        if self._fire(ScenarioKind.JERK, progress):
            st.timers.event_until_s = now + _JERK_DURATION_S
        if x >= self._top_m - 0.015 or (v <= 0.0 and progress > 0.9):
            rep.concentric_end_s, rep.concentric_end_m = now, x
            self._enter(AthletePhase.TOP, now)
            return 0.0
        if v < _STALL_SPEED_MPS and in_phase > 0.4:
            st.timers.stall_s += self.dt_s
        elif v > _MOVING_AGAIN_MPS:
            st.timers.stall_s = 0.0
        if st.timers.stall_s > cfg.fatigue.give_up_after_stall_s:
            rep.failed = True
            rep.concentric_end_s, rep.concentric_end_m = now, x
            self._enter(AthletePhase.FAILED, now)
            return 0.0
        wanted = self.config.rom_m / cfg.tempo.concentric_s if cfg.tempo.concentric_s > 0 else 10.0
        if self.flywheel is not None:
            if rep.index > self.planned_reps and in_phase >= cfg.reaction_time_s:
                # The machine ended the set as this lift began (a yo-yo has no pause between reps)
                st.reps.pop()
                self._enter(AthletePhase.FINISH, now)
                return 0.0
            wanted = self.flywheel.lifting(rep.index, v, wanted, tension)
        # Slowing for the top: the load helps, but a flywheel's cord goes slack as soon as they slow
        braking = 3.0 + 0.5 * (self._push_n if self.flywheel is not None else tension) / self._mass
        return min(wanted, math.sqrt(2.0 * braking * max(0.0, self._top_m - x)))

    def _eccentric(self, now: float, x: float, v: float, in_phase: float) -> float:
        cfg = self.config
        start = cfg.start_position_m
        progress = (self._top_m - x) / cfg.rom_m
        if self._fire(ScenarioKind.RELEASE_MID_REP, progress, phase=AthletePhase.ECCENTRIC):
            self._enter(AthletePhase.RELEASED, now)
            return 0.0
        if self._throwing(now):
            if x > start + 0.3 * cfg.rom_m:
                return -_SLACK_THROW_SPEED_MPS
            self.state.timers.event_until_s = now
        if x <= start + 0.01 and v > -0.05 and in_phase > 0.3:
            self.state.reps[-1].eccentric_end_s = now
            self._enter(AthletePhase.BOTTOM, now)
            return 0.0
        if self.flywheel is not None:
            return self.flywheel.lowering(x - start, cfg.rom_m, v, self.state.felt_tension_n)
        speed = cfg.rom_m / cfg.tempo.eccentric_s * min(1.0, in_phase / 0.3)
        return -min(speed, math.sqrt(3.0 * max(0.0, x - start)))

    # -- scenario events and fatigue ---------------------------------------------------------------
    def _fire(self, kind: ScenarioKind, progress: float, phase: AthletePhase | None = None) -> bool:
        sc = self.scenario
        if sc is None or self._scenario_fired or sc.kind is not kind:
            return False
        if phase is not None and sc.phase != phase.value:
            return False
        if len(self.state.reps) != sc.rep or progress < sc.at_fraction:
            return False
        self._scenario_fired = True
        return True

    def _throwing(self, now: float) -> bool:
        sc = self.scenario
        return (
            sc is not None
            and sc.kind is ScenarioKind.SLACK_AT_TOP
            and self.state.phase is AthletePhase.ECCENTRIC
            and now < self.state.timers.event_until_s
        )

    def _jerking(self, now: float) -> bool:
        sc = self.scenario
        return sc is not None and sc.kind is ScenarioKind.JERK and now < self.state.timers.event_until_s

    def _tire(self, velocity_mps: float) -> None:
        st, fat = self.state, self.config.fatigue
        effort = st.force_n / self._one_rm_n
        if effort > 0.1:
            cost = 1.0 if velocity_mps >= 0.0 else fat.eccentric_cost
            st.fatigue = min(0.95, st.fatigue + self.dt_s * fat.rate_per_s * effort * cost)
        else:
            st.fatigue = max(0.0, st.fatigue - self.dt_s * fat.recovery_per_s * st.fatigue)
