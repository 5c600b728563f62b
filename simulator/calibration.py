"""Fit a person's Strength to their configured load-velocity profile.

Two unknowns, two targets. The strength-curve amplitude sets how fast a 1RM lift moves (the person
is faster where they are stronger than at the sticking region); vmax sets how fast light loads move.
Targets are mean concentric velocities of full-effort lifts from rest against a constant motor
torque: v_at_1rm at 1RM, and the configured straight line at 30 % of 1RM.

A load-velocity profile is always measured on some device, so the configured one is taken as
measured on the machine being simulated: the fit includes that machine's moving mass (handle and
reflected inertia) and friction. The fit runs the real Athlete intent, so braking at the top and
muscle activation are included.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from controller.config import AthleteConfig, MachineConfig
from controller.units import kg_to_newtons
from simulator.athlete import Athlete, AthletePhase
from simulator.strength import Strength

LIGHT_LOAD_FRACTION = 0.3
# Strength at the sticking region above the configured 1RM (plus the machine's friction). With none,
# a 1RM lift stalls there for ever; 5 % (less the fatigue of holding it first) lets it through at the
# configured speed, while 103 % of 1RM still cannot be lifted.
ONE_RM_RESERVE = 0.05
_DT_S = 0.001


@dataclass(frozen=True, slots=True)
class Device:
    """What the person moves besides their own limbs: mass at the handle and friction."""

    moving_mass_kg: float = 0.5
    coulomb_n: float = 0.0
    viscous_n_s_per_m: float = 0.0

    @classmethod
    def of(cls, machine: MachineConfig) -> Device:
        return cls(
            moving_mass_kg=machine.handle.mass_kg + machine.reflected_mass_kg,
            coulomb_n=machine.friction.coulomb_n,
            viscous_n_s_per_m=machine.friction.viscous_n_s_per_m,
        )


def mean_velocity_at(
    strength: Strength, config: AthleteConfig, load_n: float, device: Device = Device()
) -> float:
    """Mean concentric velocity of one full-effort rep against `load_n`, lifted after the usual
    hold at the start position with the load in hand; 0 if it stalls."""
    athlete = Athlete(config, strength, planned_reps=1, dt_s=_DT_S, device_mass_kg=device.moving_mass_kg)
    athlete.take_load_in_hand(load_n)
    mass = config.moving_mass_kg + device.moving_mass_kg
    x, v, t = config.start_position_m, 0.0, 0.0
    limit_s = 6.0 + 2.0 * config.fatigue.give_up_after_stall_s
    while t < limit_s and athlete.state.phase in (AthletePhase.HOLD, AthletePhase.CONCENTRIC):
        force = athlete.step(t, x, v, load_n)
        resistance = load_n + (device.coulomb_n + device.viscous_n_s_per_m * v if v > 0.0 else 0.0)
        v += _DT_S * (force - resistance) / mass
        x += v * _DT_S
        t += _DT_S
    reps = athlete.state.reps
    if not reps or reps[0].failed or athlete.state.phase is AthletePhase.CONCENTRIC:
        return 0.0
    return reps[0].mean_concentric_velocity_mps


def _solve_increasing(f: Callable[[float], float], target: float, low: float, high: float) -> float:
    """Root of f(x) = target for f increasing on [low, high] (Illinois false position)."""
    f_low, f_high = f(low) - target, f(high) - target
    if f_low >= 0.0:
        return low
    if f_high <= 0.0:
        return high
    side = 0
    x = low
    for _ in range(40):
        x = (low * f_high - high * f_low) / (f_high - f_low)
        fx = f(x) - target
        if abs(fx) < 2e-4:
            break
        if fx < 0.0:
            low, f_low = x, fx
            if side == -1:
                f_high /= 2.0
            side = -1
        else:
            high, f_high = x, fx
            if side == 1:
                f_low /= 2.0
            side = 1
    return x


def _strength(config: AthleteConfig, amplitude: float, vmax: float, device: Device) -> Strength:
    one_rm = kg_to_newtons(config.one_rm_kg)
    sticking = (one_rm + device.coulomb_n) * (1.0 + ONE_RM_RESERVE)
    return Strength(
        sticking_force_n=sticking,
        amplitude=amplitude,
        vmax_mps=vmax,
        hill_a=config.hill_curvature,
        eccentric_plateau=config.eccentric_ratio * one_rm / sticking,
        start_m=config.start_position_m,
        rom_m=config.rom_m,
    )


def target_velocity(config: AthleteConfig, load_fraction: float) -> float:
    v0, v1 = config.v_at_zero_load_mps, config.v_at_1rm_mps
    return v0 + (v1 - v0) * load_fraction


def full_effort(config: AthleteConfig) -> AthleteConfig:
    """The same person lifting as fast as they can: how load-velocity profiles are measured."""
    return config.model_copy(update={"tempo": config.tempo.model_copy(update={"concentric_s": 0.0})})


@lru_cache(maxsize=64)
def fit_strength(config: AthleteConfig, device: Device = Device()) -> Strength:
    config = full_effort(config)
    one_rm = kg_to_newtons(config.one_rm_kg)
    light = LIGHT_LOAD_FRACTION * one_rm

    def amplitude_for(vmax: float) -> float:
        return _solve_increasing(
            lambda a: mean_velocity_at(_strength(config, a, vmax, device), config, one_rm, device),
            config.v_at_1rm_mps,
            0.0,
            4.0,
        )

    def light_velocity(vmax: float) -> float:
        return mean_velocity_at(_strength(config, amplitude_for(vmax), vmax, device), config, light, device)

    v0 = config.v_at_zero_load_mps
    vmax = _solve_increasing(light_velocity, target_velocity(config, LIGHT_LOAD_FRACTION), 0.7 * v0, 4.0 * v0)
    return _strength(config, amplitude_for(vmax), vmax, device)
