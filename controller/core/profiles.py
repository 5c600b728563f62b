"""Tension targets. A profile picks a level for the part of the rep the person is in; shaping.py
turns level changes into ramps, and the SafetyGate has the last word."""

from __future__ import annotations

import math
from dataclasses import dataclass

from controller.config import MachineConfig, ProfileConfig, ProfileKind
from controller.config.machine import DRIVE_SPEED_LIMIT_FRACTION, LimitsConfig
from controller.config.profile import DropOffMetric
from controller.core.adaptive import EccentricAdapter
from controller.core.curves import curve_multiplier, curve_peak
from controller.core.flywheel import VirtualDisc
from controller.core.isometric import IsometricHold
from controller.core.pace import Pacing
from controller.core.profile_input import ProfileInput
from controller.core.reps import RepMetrics
from controller.units import kg_to_newtons, newtons_to_kg

# Near the lifter's limit, lowering speed changes steeply with load: a gentle exponent, with the
# per-rep step bound doing the rest.
ADAPTIVE_GAIN = 0.03
# A flywheel winds the cable in no faster than this share of the drive's own speed limit (itself
# under the retract limit the gate cuts at) or the caps' speed: a spool held back by the drive would
# leave the hand running ahead of it on a slack cable.
DISC_SPEED_SHARE = 0.9


def check_fits_machine(machine: MachineConfig, profile: ProfileConfig, load_kg: float | None) -> None:
    """A load the machine cannot pull is refused up front rather than silently capped."""
    limit = machine.limits.max_tension_n
    field = "load_kg" if load_kg is not None else "profile.load_kg"
    load = load_kg if load_kg is not None else profile.load_kg
    if kg_to_newtons(load) > limit:
        raise ValueError(
            f"{field} = {load}: more than machine {machine.name!r} can pull "
            f"(limits.max_tension_n = {limit} N, {newtons_to_kg(limit):.1f} kg)"
        )


@dataclass(frozen=True, slots=True)
class Target:
    """What a profile asks for in one cycle: a level, which the ramp shapes, and a factor (the range
    curve, the pace) applied on the ramped level so that it follows the handle with no ramp lag. A
    flywheel's cord pulls on top of it (`extra_n`): the disc's inertia, which no ramp may soften."""

    level_n: float
    factor: float = 1.0
    extra_n: float = 0.0


class Profile:
    def __init__(
        self, config: ProfileConfig, load_kg: float | None = None, limits: LimitsConfig | None = None
    ) -> None:
        """`limits`: the machine's, which a flywheel's disc keeps within."""
        self.config = config
        base = kg_to_newtons(load_kg if load_kg is not None else config.load_kg)
        self.base_n = base
        if config.eccentric_load_kg is not None and load_kg is None:
            self.eccentric_n = kg_to_newtons(config.eccentric_load_kg)
        else:
            self.eccentric_n = base * (1.0 + config.effective_eccentric_pct / 100.0)
        self.assist_n = base * config.concentric_assist_pct / 100.0
        self._spotter_factor = 1.0
        self._restored = False
        self._last_step_s = -1e9
        self._negatives_from: int | None = None
        self.adapter: EccentricAdapter | None = None
        self.pace: Pacing | None = None
        if config.kind is ProfileKind.ADAPTIVE_ECCENTRIC:
            ceiling_pct = min(config.adaptive.max_eccentric_pct, config.caps.max_eccentric_pct or 100.0)
            ceiling = min(base * (1.0 + ceiling_pct / 100.0), config.caps.max_eccentric_force_n or math.inf)
            self.adapter = EccentricAdapter(config.adaptive, self.eccentric_n, base, ceiling)
            self.pace = Pacing.adaptive(config.adaptive)
        elif config.kind is ProfileKind.ISOKINETIC:
            self.pace = Pacing.isokinetic(config.isokinetic, base)
        self.isometric = (
            IsometricHold(config.isometric, base) if config.kind is ProfileKind.ISOMETRIC else None
        )
        self.disc = None
        if config.kind is ProfileKind.FLYWHEEL:
            limits = limits or LimitsConfig()
            reel_in = min(
                DRIVE_SPEED_LIMIT_FRACTION * limits.max_retract_speed_mps,
                config.caps.max_speed_mps or math.inf,
            )
            self.disc = VirtualDisc(config.flywheel, DISC_SPEED_SHARE * reel_in, limits.slew_up_n_per_s)
        self._best_drop_off_metric = 0.0
        self._dropped_off = False

    @property
    def peak_concentric_n(self) -> float:
        """The most this profile asks for on the way up, anywhere in the range. A flywheel's lift
        is met with whatever the person puts into it: as much as the caps allow."""
        if self.disc is not None:
            return math.inf
        return self.base_n * curve_peak(self.config.curve)

    @property
    def kind(self) -> ProfileKind:
        return self.config.kind

    @property
    def loads_n(self) -> tuple[float, float]:
        """The lift's and the lowering's load as they stand, before range curves, pace and a
        spotter's help: what a screen shows as the weight."""
        assisted = self.kind is ProfileKind.ECCENTRIC_ONLY or self._negatives_from is not None
        lowering = self.base_n if self.kind is ProfileKind.CONSTANT else self.eccentric_n
        return (self.assist_n if assisted else self.base_n), lowering

    def concentric_level(self, inp: ProfileInput) -> float:
        match self.kind:
            case ProfileKind.ECCENTRIC_ONLY:
                return self.assist_n
            case ProfileKind.FINISHING_NEGATIVES:
                self._watch_for_failure(inp)
                return self.base_n if self._negatives_from is None else self.assist_n
            case ProfileKind.SPOTTER:
                if not inp.at_bottom:
                    self._restored = False
                return self.base_n * self._spot(inp)
            case _:
                return self.base_n

    def load_in_target(self, inp: ProfileInput) -> Target:
        """While the load comes in: the first rep's level; an isokinetic pace already holds, but the
        range curve waits for the set to start."""
        return Target(self.concentric_level(inp), self._pace_factor(inp))

    def target(self, inp: ProfileInput) -> Target:
        """During the set: the phase's level, with the range curve and the pace on top, or a
        flywheel's cord pulling on top of its least tension."""
        level = self._level(inp)
        if self.disc is not None:
            return Target(
                level,
                extra_n=self.disc.pull_n(inp.now_s, inp.position_m, inp.velocity_mps, inp.range_fraction),
            )
        return Target(level, self._curve_factor(inp) * self._pace_factor(inp))

    def next_set(self) -> None:
        """A flywheel's next set spins the disc up from rest and is judged against its own best."""
        if self.disc is not None:
            self.disc.stop()
            self.disc.spent = False
        self._best_drop_off_metric = 0.0
        self._dropped_off = False

    def finishing(self) -> None:
        """The set is over: a flywheel brings back what it holds, and is not spun up again."""
        if self.disc is not None:
            self.disc.spent = True

    def unloaded(self) -> None:
        """The gate took the load off (a let-go, slack) or the set stopped: a flywheel stops dead."""
        if self.disc is not None:
            self.disc.stop()

    def _level(self, inp: ProfileInput) -> float:
        concentric = self.concentric_level(inp)
        if not inp.lowering:
            return concentric
        if self.kind in (ProfileKind.CONSTANT, ProfileKind.FLYWHEEL):
            return self.base_n
        return self.eccentric_n

    def rep_done(self, rep: RepMetrics) -> None:
        """Adaptive eccentric: the next lowering load, from how long this one took. A flywheel: the
        drop-off from the best rep so far (pre-reps left out)."""
        if self.disc is not None:
            self._watch_drop_off(rep)
        if self.adapter is None or self.pace is None or rep.failed or rep.eccentric_s <= 0:
            return
        self.adapter.rep_done(rep.eccentric_s, self.pace.lowering_mean(), rep.mean_eccentric_force_n)
        self.eccentric_n = self.adapter.load_n

    @property
    def converged_eccentric_kg(self) -> float | None:
        """Adaptive eccentric: the lowering load of the reps that took the target time."""
        converged = None if self.adapter is None else self.adapter.converged_n
        return None if converged is None else newtons_to_kg(converged)

    def _pace_factor(self, inp: ProfileInput) -> float:
        """Isokinetic and adaptive eccentric: the factor on the level that holds the speed."""
        if self.isometric is not None:
            return self.isometric.factor(inp)
        if self.pace is None:
            return 1.0
        factor = self.pace.factor(inp)
        if self.adapter is not None and inp.lowering:
            factor = min(factor, self.adapter.ceiling_n / self.eccentric_n)  # the trim obeys the ceiling too
        return factor

    def _curve_factor(self, inp: ProfileInput) -> float:
        return curve_multiplier(self.config.curve, inp.range_fraction)

    def assisting(self) -> bool:
        """Whether the machine is doing part of the lifting in this rep."""
        return (
            self.kind is ProfileKind.ECCENTRIC_ONLY
            or self._negatives_from is not None
            or self._spotter_factor < 1.0
        )

    def set_complete(self, inp: ProfileInput) -> bool:
        if self.isometric is not None:
            return self.isometric.done(inp.now_s)
        if self.disc is not None:
            return self._dropped_off or inp.completed_reps >= self.config.reps + self.config.flywheel.pre_reps
        threshold = self.config.stop_at_velocity_loss_pct
        if threshold is not None and inp.last_velocity_loss_pct > threshold:
            return True
        if self._negatives_from is not None:
            return inp.completed_reps - self._negatives_from >= self.config.negatives
        return inp.completed_reps >= self.config.reps

    def _watch_drop_off(self, rep: RepMetrics) -> None:
        flywheel = self.config.flywheel
        if rep.failed or rep.pre_rep or flywheel.stop_at_drop_off_pct is None:
            return
        metric = {
            DropOffMetric.POWER: rep.mean_concentric_power_w,
            DropOffMetric.FORCE: rep.mean_concentric_force_n,
            DropOffMetric.VELOCITY: rep.mean_concentric_velocity_mps,
        }[flywheel.drop_off]
        if metric < (1.0 - flywheel.stop_at_drop_off_pct / 100.0) * self._best_drop_off_metric:
            self._dropped_off = True
        self._best_drop_off_metric = max(self._best_drop_off_metric, metric)

    def _watch_for_failure(self, inp: ProfileInput) -> None:
        if self._negatives_from is None and inp.failed_reps > 0:
            self._negatives_from = inp.completed_reps

    def _spot(self, inp: ProfileInput) -> float:
        spotter = self.config.spotter
        if inp.at_bottom:
            self._restore_between_reps()
        elif (
            not inp.lowering
            and inp.stalled_s >= spotter.stall_time_s
            and inp.now_s - self._last_step_s >= spotter.step_interval_s
        ):
            floor = spotter.min_load_pct / 100.0
            self._spotter_factor = max(floor, self._spotter_factor - spotter.step_pct / 100.0)
            self._last_step_s = inp.now_s
        return self._spotter_factor

    def _restore_between_reps(self) -> None:
        """After an assisted rep the load comes back one step, not all the way: a person who needed
        help on this rep is no stronger on the next, and a stuck start looks like a rest to us."""
        if self._spotter_factor < 1.0 and not self._restored:
            self._spotter_factor = min(1.0, self._spotter_factor + self.config.spotter.step_pct / 100.0)
            self._restored = True
