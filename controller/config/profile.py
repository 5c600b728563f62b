"""A training profile: what load, how much more on the way down, and how the set runs."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import Field, model_validator

from controller.config.loader import Section, load
from controller.units import kg_to_newtons, newtons_to_kg


class ProfileKind(StrEnum):
    CONSTANT = "constant"
    ECCENTRIC_OVERLOAD = "eccentric_overload"
    ECCENTRIC_ONLY = "eccentric_only"
    FINISHING_NEGATIVES = "finishing_negatives"
    SPOTTER = "spotter"
    ADAPTIVE_ECCENTRIC = "adaptive_eccentric"  # the lowering load adapts rep by rep to a target time
    ISOKINETIC = "isokinetic"  # the machine yields to hold the handle at a set speed, up to the load
    ISOMETRIC = "isometric"  # the handle held still while the person pulls: a strength test
    FLYWHEEL = "flywheel"  # a virtual flywheel: the lift spins it up, the lowering must stop it


class Audience(StrEnum):
    """Who picks the profile from a list: lifters see the training ones; clinicians and admins see
    every one, clinic profiles included (a patient's come from their protocol)."""

    TRAINING = "training"
    CLINIC = "clinic"


class CapsConfig(Section):
    """Bounds set by whoever owns the profile or the person (a clinician, a coach), enforced in the
    SafetyGate. The range-of-motion window is in cable position (m out from the dock): the tension
    eases off to the machine's idle over `rom_soft_m` inside each end, and stays there outside."""

    max_concentric_force_n: float | None = Field(None, gt=0, le=5000)
    max_eccentric_force_n: float | None = Field(None, gt=0, le=5000)
    max_speed_mps: float | None = Field(None, gt=0.05, le=10.0)
    max_eccentric_pct: float | None = Field(None, ge=0, le=100)
    rom_min_m: float | None = Field(None, ge=0.0, le=3.0)
    rom_max_m: float | None = Field(None, gt=0.0, le=3.0)
    rom_soft_m: float = Field(0.03, ge=0.005, le=0.2)

    @model_validator(mode="after")
    def _window(self) -> CapsConfig:
        low, high = self.rom_min_m, self.rom_max_m
        if low is not None and high is not None and high - low < 3 * self.rom_soft_m:
            raise ValueError(
                f"caps.rom_max_m = {high}: must be at least 3 x rom_soft_m ({3 * self.rom_soft_m:.3f} m) "
                f"above caps.rom_min_m = {low}"
            )
        return self

    def tightest(self, other: CapsConfig) -> CapsConfig:
        """Both sets of caps at once: the lower of each bound, the narrower window."""

        def least(a: float | None, b: float | None) -> float | None:
            return b if a is None else a if b is None else min(a, b)

        def most(a: float | None, b: float | None) -> float | None:
            return b if a is None else a if b is None else max(a, b)

        return CapsConfig(
            max_concentric_force_n=least(self.max_concentric_force_n, other.max_concentric_force_n),
            max_eccentric_force_n=least(self.max_eccentric_force_n, other.max_eccentric_force_n),
            max_speed_mps=least(self.max_speed_mps, other.max_speed_mps),
            max_eccentric_pct=least(self.max_eccentric_pct, other.max_eccentric_pct),
            rom_min_m=most(self.rom_min_m, other.rom_min_m),
            rom_max_m=least(self.rom_max_m, other.rom_max_m),
            rom_soft_m=max(self.rom_soft_m, other.rom_soft_m),
        )


class SpotterConfig(Section):
    stall_time_s: float = Field(0.3, ge=0.1, le=3.0)
    step_pct: float = Field(10.0, gt=0, le=50)
    step_interval_s: float = Field(0.25, ge=0.05, le=2.0)
    min_load_pct: float = Field(30.0, ge=0, le=95)


class TempoConfig(Section):
    """Target durations of each part of a rep; the lifter is told per rep whether to go slower or
    faster. `tolerance_pct` is how far off still counts as on tempo."""

    concentric_s: float = Field(1.0, ge=0.3, le=10.0)
    pause_s: float = Field(0.0, ge=0.0, le=10.0)
    eccentric_s: float = Field(3.0, ge=0.5, le=15.0)
    tolerance_pct: float = Field(15.0, ge=5.0, le=50.0)


class CurveKind(StrEnum):
    FLAT = "flat"
    CHAINS = "chains"  # more load toward the top (links lift off the floor)
    INVERSE_CHAINS = "inverse_chains"  # more load toward the bottom
    BANDS = "bands"  # more toward the top, progressively (a band's stretch)
    CUSTOM = "custom"  # `points`: [range fraction, % of the load], straight lines between


class CurveConfig(Section):
    """Load over the range of motion, as a multiplier of the profile's level (both directions, so
    with eccentric overload the lowering tension is the curve times the overload factor)."""

    kind: CurveKind = CurveKind.FLAT
    change_pct: float = Field(30.0, ge=0, le=200)  # chains/bands: extra at the top; inverse: at the bottom
    points: list[tuple[float, float]] = Field(default_factory=list, max_length=32)

    @model_validator(mode="after")
    def _points(self) -> CurveConfig:
        if self.kind is not CurveKind.CUSTOM:
            return self
        if len(self.points) < 2:
            raise ValueError("curve.points: a custom curve needs at least 2 [fraction, pct] points")
        fractions = [f for f, _ in self.points]
        if fractions != sorted(fractions) or not 0.0 <= fractions[0] <= fractions[-1] <= 1.0:
            raise ValueError("curve.points: fractions must rise from 0 to 1")
        if any(not 10.0 <= pct <= 300.0 for _, pct in self.points):
            raise ValueError("curve.points: each pct must be from 10 to 300")
        return self


class FeelMode(StrEnum):
    MACHINE = "machine"  # the machine's own reflected inertia is felt (friction is compensated)
    PURE = "pure"  # constant tension: the machine's inertia cancelled too
    WEIGHT_STACK = "weight_stack"  # feels like a stack of the load's mass: its inertia, not the spool's


class FeelConfig(Section):
    mode: FeelMode = FeelMode.MACHINE
    max_correction_pct: float = Field(25.0, ge=0, le=60)  # the inertia term's bound, % of the level


class AdaptiveConfig(Section):
    """Adaptive eccentric: the lifter resists the lowering as hard as they honestly can; after each
    rep the lowering load moves (by at most max_step_pct) toward the load that makes the lowering
    last target_eccentric_s. It starts at eccentric_pct over the load and never goes past
    max_eccentric_pct (nor the caps)."""

    target_eccentric_s: float = Field(3.0, ge=1.0, le=10.0)
    max_step_pct: float = Field(8.0, gt=0, le=20)
    max_eccentric_pct: float = Field(60.0, gt=0, le=100)
    tolerance_pct: float = Field(10.0, ge=2.0, le=50.0)  # how far off the target time still counts
    trim_pct: float = Field(10.0, ge=0.0, le=25.0)  # how far the load may move within a lowering


class IsokineticConfig(Section):
    """The handle moves at `speed_mps` both ways: the machine resists a lift just enough to hold it
    there and pulls the handle back at that speed against the person, never above the profile's
    load. `start_force_n` is the least tension, which the person meets before reaching the speed."""

    speed_mps: float = Field(0.2, ge=0.05, le=1.0)
    start_force_n: float = Field(30.0, ge=5.0, le=500.0)


class IsometricConfig(Section):
    """An isometric test: the handle is held where it was when the load came in while the person
    pulls as hard as they can for `duration_s`; the profile's load is the most the machine gives."""

    duration_s: float = Field(5.0, ge=2.0, le=15.0)
    start_force_n: float = Field(20.0, ge=5.0, le=200.0)


class DropOffMetric(StrEnum):
    POWER = "power"  # mean concentric power
    FORCE = "force"  # mean concentric force
    VELOCITY = "velocity"  # mean concentric velocity


class FlywheelConfig(Section):
    """A virtual flywheel (controller/core/flywheel.py): a disc of `inertia_kgm2` on a shaft of
    `shaft_radius_m`, so the handle meets a mass of inertia / radius^2 (0.05 kg*m^2 on 25 mm: 80
    kg). The profile's load_kg is the least tension, which keeps the cable taut. The first
    `pre_reps` spin the disc up and do not count. The disc never holds more than `max_energy_j`.
    `stop_at_drop_off_pct`: end the set on the first rep whose `drop_off` metric is that far below
    the set's best rep."""

    inertia_kgm2: float = Field(0.050, ge=0.005, le=0.300)
    shaft_radius_m: float = Field(0.025, ge=0.010, le=0.100)
    pre_reps: int = Field(2, ge=0, le=5)
    max_energy_j: float = Field(150.0, gt=0, le=1000)
    stop_at_drop_off_pct: float | None = Field(None, ge=2, le=50)
    drop_off: DropOffMetric = DropOffMetric.POWER

    @property
    def mass_kg(self) -> float:
        """The disc's inertia as the handle meets it."""
        return self.inertia_kgm2 / self.shaft_radius_m**2


class ProfileConfig(Section):
    name: str = Field(min_length=1, max_length=64)
    title: str = Field("", max_length=80)  # what people read; `name` is the key files and logs use
    description: str = Field("", max_length=400)
    audience: Audience = Audience.TRAINING
    kind: ProfileKind
    load_kg: float = Field(gt=0, le=500)
    eccentric_pct: float = Field(0.0, ge=0, le=100)
    eccentric_load_kg: float | None = Field(None, gt=0, le=500)
    concentric_assist_pct: float = Field(25.0, ge=5, le=80)
    negatives: int = Field(3, ge=1, le=20)
    ramp_s: float = Field(0.15, ge=0.02, le=2.0)
    load_in_s: float = Field(1.0, ge=0.2, le=10.0)
    reps: int = Field(8, ge=1, le=100)
    sets: int = Field(1, ge=1, le=20)
    rest_s: float = Field(120.0, ge=0, le=1800)
    stop_at_velocity_loss_pct: float | None = Field(None, gt=0, le=80)  # end the set on the first rep past it
    spotter: SpotterConfig = SpotterConfig()
    tempo: TempoConfig | None = None
    curve: CurveConfig = CurveConfig()
    feel: FeelConfig = FeelConfig()
    adaptive: AdaptiveConfig = AdaptiveConfig()
    isokinetic: IsokineticConfig = IsokineticConfig()
    isometric: IsometricConfig = IsometricConfig()
    flywheel: FlywheelConfig = FlywheelConfig()
    caps: CapsConfig = CapsConfig()

    @model_validator(mode="after")
    def _consistent(self) -> ProfileConfig:
        if self.eccentric_load_kg is not None:
            if self.kind is not ProfileKind.ECCENTRIC_OVERLOAD:
                raise ValueError("eccentric_load_kg is only for kind = 'eccentric_overload'")
            if self.eccentric_pct:
                raise ValueError("give eccentric_pct or eccentric_load_kg, not both")
            if not self.load_kg <= self.eccentric_load_kg <= 2 * self.load_kg:
                raise ValueError(
                    f"eccentric_load_kg = {self.eccentric_load_kg}: allowed from load_kg ({self.load_kg}) "
                    f"to 2 x load_kg ({2 * self.load_kg})"
                )
        if self.kind is ProfileKind.FLYWHEEL and self.tempo is not None:
            raise ValueError("tempo: a flywheel sets its own pace (pull fast, brake late); leave it out")
        cap = self.caps.max_eccentric_pct
        if cap is not None and self.effective_eccentric_pct > cap:
            raise ValueError(
                f"eccentric {self.effective_eccentric_pct:.0f} % exceeds caps.max_eccentric_pct = {cap}"
            )
        # A load above the caps is refused rather than silently clipped (weight changing without
        # warning); the gate still clips whatever the set does on its own (curves, adaptation).
        load_n = kg_to_newtons(self.load_kg)
        concentric_cap = self.caps.max_concentric_force_n
        if concentric_cap is not None and load_n > concentric_cap:
            raise ValueError(
                f"load_kg = {self.load_kg}: {load_n:.0f} N is above caps.max_concentric_force_n = "
                f"{concentric_cap} N ({newtons_to_kg(concentric_cap):.1f} kg)"
            )
        eccentric_cap = self.caps.max_eccentric_force_n
        eccentric_n = load_n * (1.0 + self.effective_eccentric_pct / 100.0)
        if eccentric_cap is not None and eccentric_n > eccentric_cap:
            raise ValueError(
                f"the eccentric load ({eccentric_n:.0f} N) is above caps.max_eccentric_force_n = "
                f"{eccentric_cap} N: lower load_kg or eccentric_pct"
            )
        return self

    @property
    def effective_eccentric_pct(self) -> float:
        if self.eccentric_load_kg is not None:
            return 100.0 * (self.eccentric_load_kg / self.load_kg - 1.0)
        return self.eccentric_pct


def load_profile(name_or_path: str | Path) -> ProfileConfig:
    return load("profiles", name_or_path, ProfileConfig)
