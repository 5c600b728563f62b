"""SafetyGate: the last thing before every write to the drive.

It only clips, never adds: the output is never above the request, except while it is letting off a
previous output at the normal slew-down rate (a load that vanishes instantly under someone pushing
hard throws them, so ordinary decreases are rate-limited too). Hazards skip that: an e-stop cuts at
once; stale feedback, a let-go handle, slack or an overspeed ramp down on their own short clocks.
Any decrease is always allowed; any increase is bounded by every limit at once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from enum import IntFlag

from controller.config import CapsConfig, MachineConfig

_DIRECTION_SPEED_MPS = 0.02
_REST_SPEED_MPS = 0.05
_MAX_DT_S = 0.1
_RELEASE_SPEED_MPS = 0.1
RELEASE_PULL_FRACTION = 0.25
_RELEASE_ARM_FRACTION = 0.05


class Flag(IntFlag):
    NONE = 0
    ESTOP = 1
    STALE = 2
    RELEASE = 4
    OVERSPEED_IN = 8
    OVERSPEED_OUT = 16
    SOFT_LIMIT = 32
    CAPPED = 64
    SLEW = 128


HAZARDS = Flag.ESTOP | Flag.STALE | Flag.RELEASE | Flag.OVERSPEED_IN


@dataclass(frozen=True, slots=True)
class GateLimits:
    max_force_n: float
    max_concentric_n: float
    max_eccentric_n: float
    max_retract_mps: float
    max_payout_mps: float
    slew_up: float
    slew_down: float
    idle_n: float
    stale_s: float
    stale_ramp_s: float
    dock_zone_m: float
    cable_end_m: float
    release_cut_s: float
    release_arm_n: float  # below this pull a slack cable stores too little energy to matter
    rom_min_m: float = -math.inf  # the caps' range-of-motion window, with its soft zone
    rom_max_m: float = math.inf
    rom_soft_m: float = 0.03

    @classmethod
    def of(
        cls, machine: MachineConfig, caps: CapsConfig | None = None, peak_concentric_n: float | None = None
    ) -> GateLimits:
        """`peak_concentric_n`: the most the profile asks for on the way up; with
        caps.max_eccentric_pct it bounds the lowering tension too."""
        lim = machine.limits
        caps = caps or CapsConfig()
        top = lim.max_tension_n
        speed_cap = caps.max_speed_mps or math.inf
        concentric = min(top, caps.max_concentric_force_n or top)
        eccentric = min(top, caps.max_eccentric_force_n or top)
        if caps.max_eccentric_pct is not None and peak_concentric_n is not None:
            eccentric = min(
                eccentric, min(concentric, peak_concentric_n) * (1.0 + caps.max_eccentric_pct / 100.0)
            )
        return cls(
            max_force_n=top,
            max_concentric_n=concentric,
            max_eccentric_n=eccentric,
            max_retract_mps=min(lim.max_retract_speed_mps, speed_cap),
            max_payout_mps=min(lim.max_payout_speed_mps, speed_cap),
            slew_up=lim.slew_up_n_per_s,
            slew_down=lim.slew_down_n_per_s,
            idle_n=min(lim.idle_tension_n, top),
            stale_s=lim.stale_feedback_s,
            stale_ramp_s=lim.stale_ramp_s,
            dock_zone_m=lim.retract_soft_zone_m,
            cable_end_m=lim.max_position_m - lim.end_soft_zone_m,
            release_cut_s=lim.release_cut_s,
            release_arm_n=max(2.0 * lim.idle_tension_n, _RELEASE_ARM_FRACTION * top),
            rom_min_m=-math.inf if caps.rom_min_m is None else caps.rom_min_m,
            rom_max_m=math.inf if caps.rom_max_m is None else caps.rom_max_m,
            rom_soft_m=caps.rom_soft_m,
        )


@dataclass(frozen=True, slots=True)
class GateInput:
    now_s: float
    request_n: float
    position_m: float
    velocity_mps: float
    acceleration_mps2: float
    feedback_age_s: float
    felt_extra_n: float = 0.0  # what the person feels on top of the motor's pull (friction going out)
    hand_pull_n: float = 0.0  # the person's pull: the cable's tension less what moves the handle itself
    estop: bool = False  # an e-stop was pressed this cycle (latches)
    reset: bool = False  # someone asks to clear the e-stop (only honoured at rest)
    rearm: bool = False  # the set has gone back to idle: a let-go may be forgotten


@dataclass(frozen=True, slots=True)
class GateState:
    output_n: float = 0.0
    time_s: float | None = None
    estop: bool = False
    released: bool = False
    lowering: bool = False


@dataclass(frozen=True, slots=True)
class GateOutput:
    force_n: float
    flags: Flag
    state: GateState


def apply(limits: GateLimits, state: GateState, inp: GateInput) -> GateOutput:
    dt = 0.0 if state.time_s is None else min(_MAX_DT_S, max(0.0, inp.now_s - state.time_s))
    last = state.output_n
    v = inp.velocity_mps
    flags = Flag.NONE
    at_rest = abs(v) < _REST_SPEED_MPS

    estop = (state.estop or inp.estop) and not (inp.reset and at_rest and not inp.estop)
    lowering = v < -_DIRECTION_SPEED_MPS or (state.lowering and v < _DIRECTION_SPEED_MPS)
    held_again = at_rest and inp.hand_pull_n >= RELEASE_PULL_FRACTION * last
    released = (state.released and not (inp.rearm and held_again)) or _let_go(limits, last, inp)

    ceiling = (limits.max_eccentric_n if lowering else limits.max_concentric_n) - inp.felt_extra_n
    if inp.request_n > ceiling:
        flags |= Flag.CAPPED
    hazard_ceiling = float("inf")
    if estop:
        flags |= Flag.ESTOP
        hazard_ceiling = 0.0
    if inp.feedback_age_s > limits.stale_s:
        flags |= Flag.STALE
        hazard_ceiling = min(hazard_ceiling, last - limits.max_force_n * dt / limits.stale_ramp_s)
    if released:
        flags |= Flag.RELEASE
        hazard_ceiling = min(
            hazard_ceiling, max(limits.idle_n, last - limits.max_force_n * dt / limits.release_cut_s)
        )
    if v < -limits.max_retract_mps:
        flags |= Flag.OVERSPEED_IN
        hazard_ceiling = min(hazard_ceiling, last - limits.max_force_n * dt / limits.release_cut_s)
    if v > limits.max_payout_mps:
        flags |= Flag.OVERSPEED_OUT
        ceiling = min(ceiling, last)
    if inp.position_m < limits.dock_zone_m:
        flags |= Flag.SOFT_LIMIT
        fraction = max(0.0, inp.position_m) / limits.dock_zone_m if limits.dock_zone_m > 0 else 1.0
        ceiling = min(ceiling, limits.idle_n + (ceiling - limits.idle_n) * fraction)
    elif inp.position_m > limits.cable_end_m:
        flags |= Flag.SOFT_LIMIT
        ceiling = min(ceiling, last)
    window = _rom_window_fraction(limits, inp.position_m)
    if window < 1.0:
        flags |= Flag.SOFT_LIMIT
        ceiling = min(ceiling, limits.idle_n + max(0.0, ceiling - limits.idle_n) * window)

    wanted = inp.request_n
    if not flags & HAZARDS and wanted < last - limits.slew_down * dt:
        wanted = last - limits.slew_down * dt
        flags |= Flag.SLEW
    if wanted > last + limits.slew_up * dt:
        wanted = last + limits.slew_up * dt
        flags |= Flag.SLEW
    force = max(0.0, min(wanted, ceiling, hazard_ceiling, limits.max_force_n))
    new_state = replace(
        state, output_n=force, time_s=inp.now_s, estop=estop, released=released, lowering=lowering
    )
    return GateOutput(force, flags, new_state)


def _rom_window_fraction(limits: GateLimits, position_m: float) -> float:
    """1 inside the caps' window, falling to 0 across the soft zone at each end, 0 outside."""
    soft = limits.rom_soft_m
    into = min(position_m - limits.rom_min_m, limits.rom_max_m - position_m)
    return min(1.0, max(0.0, into / soft))


def _let_go(limits: GateLimits, last_n: float, inp: GateInput) -> bool:
    """Nobody is holding the cable back (a let-go handle, or slack): it is being reeled in and the
    hand pulls on it with well under the motor's pull. A person losing a heavy negative still holds
    most of it, so that is not this. The hand's pull, not the cable's tension: once the hand is
    open the cable still carries what accelerates the handle itself, more of it the heavier the
    handle is against the spool. A quarter, not a half: at the top of a fast light rep the spool's
    own inertia takes most of the pull for a moment, and a lifter turning 10 kg around pulled a
    third of it (a cut at a half ended that set at every rep; issue 19). A let-go still leaves
    next to nothing: cut in 20 ms at 10 kg on the 2 kW build and at 12 kg on the A6 DIY build."""
    return (
        last_n > limits.release_arm_n
        and inp.velocity_mps < -_RELEASE_SPEED_MPS
        and inp.hand_pull_n < RELEASE_PULL_FRACTION * last_n
    )
