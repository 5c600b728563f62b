"""Phase of the movement, rep boundaries, range of motion learned from the first reps, and
per-rep metrics with separate concentric and eccentric figures.

Mean propulsive velocity is the free-weight VBT figure (Sanchez-Medina 2010): the mean velocity of
the lift up to where the person starts to hold the load back, because its momentum would carry it
on (a barbell decelerating faster than gravity). On a cable the tension brakes the handle far
harder than gravity brakes a bar, so a lift rarely has that phase: the figure equals the mean
concentric velocity unless the person's pull goes below zero (Motion.pull_n) before the top.

Phases switch on speed thresholds with hysteresis (enter above `speed_on`, leave below `speed_off`),
so noise at the turnaround cannot make the phase chatter. A slowdown mid-lift (a sticking point)
lands in TOP but returns to the same rep's CONCENTRIC when the person moves on.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from controller.core.estimator import Motion

SPEED_ON_MPS = 0.05
SPEED_OFF_MPS = 0.015
STALL_SPEED_MPS = 0.08
MOVING_AGAIN_MPS = 0.1
MIN_REP_ROM_M = 0.04
# A slow lowering (a maximal-effort negative, rehab work) can run below SPEED_ON for its whole
# length and wobble in speed on the way: it begins once the handle is TURN_M below the top, and a
# rise ends it only once it is a real move (TURN_M above its lowest point; BOTTOM_TURN_M near the
# bottom, where the next rep must not start under the eccentric load). Stopping back where the rep
# began ends it at once; stopping higher in the bottom part, only after BOTTOM_DWELL_S still.
TURN_M = 0.02
BOTTOM_TURN_M = 0.003
STILL_BAND_M = 0.004
BOTTOM_DWELL_S = 0.5
TOP_BAND_M = 0.002
BOTTOM_SPAN_FRACTION = 0.3
FLOOR_SPAN_FRACTION = 0.1
FAILED_BELOW_ROM_FRACTION = 0.8
# A short excursion is a failed rep only if the person fought for it; a quick bob is no rep at all.
FAILED_MIN_STALL_S = 0.5
# Until the range is learned a stall mid-lift looks like the pause at the top; in the first rep a
# pause counts as a stall only after this long (longer than any normal top pause), and a first rep
# lowered after a stall of this plus FAILED_MIN_STALL_S at its top is a lift given up, not a rep (a
# rehab patient at 16 kg stuck 7 cm up for 1.7 s was counted, and 7 cm learned as the range).
UNLEARNED_TOP_PAUSE_S = 0.7
NEAR_TOP_ROM_FRACTION = 0.85
BOTTOM_ROM_FRACTION = 0.25
ROM_LEARNING_RATE = 0.3


class Phase(StrEnum):
    REST = "rest"
    CONCENTRIC = "concentric"
    TOP = "top"
    ECCENTRIC = "eccentric"


@dataclass(frozen=True, slots=True)
class RepMetrics:
    index: int
    concentric_s: float
    eccentric_s: float
    rom_m: float
    mean_concentric_force_n: float
    mean_eccentric_force_n: float
    peak_force_n: float
    mean_concentric_velocity_mps: float
    mean_propulsive_velocity_mps: float
    peak_concentric_velocity_mps: float
    mean_concentric_power_w: float
    time_under_tension_s: float
    velocity_loss_pct: float
    peak_speed_mps: float
    longest_stall_s: float
    assisted: bool
    failed: bool
    # Both phases' peaks and the lowering's power: the eccentric:concentric ratios a flywheel (or any
    # overload) is judged by. Zero for reps stored before they were measured.
    peak_concentric_force_n: float = 0.0
    peak_eccentric_force_n: float = 0.0
    peak_concentric_power_w: float = 0.0
    mean_eccentric_power_w: float = 0.0
    peak_eccentric_power_w: float = 0.0
    pre_rep: bool = False  # a flywheel's spin-up: done, but left out of the set's figures


@dataclass(slots=True)
class _RepAccumulator:
    index: int
    start_s: float
    start_m: float
    concentric_end_s: float = 0.0
    eccentric_start_s: float = 0.0
    top_m: float = 0.0
    left_top_s: float = 0.0  # the last time the handle was at its top (the lowering starts there)
    low_m: float = float("inf")  # the lowest point of the lowering, and when it was reached
    low_s: float = 0.0
    still_m: float = 0.0  # where the handle has been within STILL_BAND_M of, since still_s
    still_s: float = 0.0
    con_force_dt: float = 0.0
    con_power_dt: float = 0.0
    con_time: float = 0.0
    braked_at: tuple[float, float] | None = None  # (time, position) the person first held the handle back
    ecc_force_dt: float = 0.0
    ecc_power_dt: float = 0.0
    ecc_time: float = 0.0
    peak_force_n: float = 0.0
    peak_con_force_n: float = 0.0
    peak_ecc_force_n: float = 0.0
    peak_con_power_w: float = 0.0
    peak_ecc_power_w: float = 0.0
    peak_con_velocity: float = 0.0
    peak_speed: float = 0.0
    stall_s: float = 0.0
    longest_stall_s: float = 0.0
    stall_at_turn_s: float = 0.0  # how long the handle had been stuck when the lowering began
    assisted: bool = False


class RepTracker:
    def __init__(self, top_pause_s: float = 0.0, pre_reps: int = 0) -> None:
        """`top_pause_s`: the tempo's pause at the top, which a first rep may hold without failing.
        `pre_reps`: the first reps only spin a flywheel up; their speed is no one's best."""
        self._first_rep_gave_up_s = top_pause_s + UNLEARNED_TOP_PAUSE_S + FAILED_MIN_STALL_S
        self._pre_reps = pre_reps
        self.phase = Phase.REST
        self.completed: list[RepMetrics] = []
        self.bottom_m: float | None = None
        self.top_m: float | None = None
        self._rep: _RepAccumulator | None = None
        self._last_time: float | None = None
        self._best_mcv = 0.0

    # -- what profiles and the session ask ---------------------------------------------------------
    @property
    def rep_index(self) -> int:
        return self._rep.index if self._rep else len(self.completed)

    @property
    def stalled_s(self) -> float:
        if self._rep is None or self.phase not in (Phase.CONCENTRIC, Phase.TOP):
            return 0.0
        if self.rom_m is None and self.phase is Phase.TOP:
            return max(0.0, self._rep.stall_s - UNLEARNED_TOP_PAUSE_S)
        return self._rep.stall_s

    @property
    def rom_m(self) -> float | None:
        if self.bottom_m is None or self.top_m is None:
            return None
        return self.top_m - self.bottom_m

    def range_fraction(self, position_m: float) -> float | None:
        """0 at the learned bottom, 1 at the learned top (None until a rep has taught the range)."""
        rom = self.rom_m
        if rom is None or self.bottom_m is None or rom <= 0.0:
            return None
        return min(1.0, max(0.0, (position_m - self.bottom_m) / rom))

    def height_m(self, position_m: float) -> float | None:
        """How far above the bottom the handle is: the learned bottom, or before that the point
        this rep started from (None between reps of an unlearned range)."""
        if self.bottom_m is not None:
            return position_m - self.bottom_m
        return None if self._rep is None else position_m - self._rep.start_m

    def near_top(self, position_m: float) -> bool:
        rom = self.rom_m
        if rom is None or self.bottom_m is None:
            return False
        return position_m >= self.bottom_m + NEAR_TOP_ROM_FRACTION * rom

    def at_bottom(self, position_m: float) -> bool:
        """Near the bottom of the learned range (or, before it is learned, between reps)."""
        if self.bottom_m is None or self.rom_m is None:
            return self.phase is Phase.REST
        return position_m <= self.bottom_m + BOTTOM_ROM_FRACTION * self.rom_m

    def lowering(self) -> bool:
        """The person is past the top of a real rep: the eccentric load applies. Before the range is
        learned (first rep) that is any lowering; after, only from near the learned top."""
        rep = self._rep
        if rep is None or self.phase not in (Phase.TOP, Phase.ECCENTRIC):
            return False
        if self.rom_m is None:
            return self.phase is Phase.ECCENTRIC and rep.top_m - rep.start_m >= MIN_REP_ROM_M
        return self.near_top(rep.top_m)

    def discard_last(self) -> None:
        """The last rep counted is none after all (a flywheel's pull after its set was over)."""
        self.completed.pop()

    def mark_assisted(self) -> None:
        if self._rep is not None:
            self._rep.assisted = True

    # -- the update --------------------------------------------------------------------------------
    def update(self, m: Motion) -> RepMetrics | None:
        dt = 0.0 if self._last_time is None else max(0.0, m.time_s - self._last_time)
        self._last_time = m.time_s
        v = m.velocity_mps
        rep = self._rep
        if rep is not None:
            self._accumulate(rep, m, dt)
        match self.phase:
            case Phase.REST:
                if v > SPEED_ON_MPS:
                    self._rep = _RepAccumulator(len(self.completed) + 1, m.time_s, m.position_m)
                    self.phase = Phase.CONCENTRIC
            case Phase.CONCENTRIC:
                if v < SPEED_OFF_MPS and rep is not None:
                    rep.concentric_end_s = m.time_s
                    self.phase = Phase.TOP
            case Phase.TOP:
                if v > SPEED_ON_MPS:
                    self.phase = Phase.CONCENTRIC
                elif rep is not None and self._lowering_begun(rep, m):
                    rep.eccentric_start_s = rep.left_top_s
                    rep.stall_at_turn_s = rep.stall_s
                    self.phase = Phase.ECCENTRIC
            case Phase.ECCENTRIC:
                if rep is not None and (end_s := self._lowering_ended(rep, m)) is not None:
                    return self._finish(rep, end_s)
        return None

    def _accumulate(self, rep: _RepAccumulator, m: Motion, dt: float) -> None:
        force, v = m.felt_tension_n, m.velocity_mps
        rep.peak_force_n = max(rep.peak_force_n, force)
        rep.peak_speed = max(rep.peak_speed, abs(v))
        rep.top_m = max(rep.top_m, m.position_m)
        if m.position_m >= rep.top_m - TOP_BAND_M:
            rep.left_top_s = m.time_s
        if abs(m.position_m - rep.still_m) > STILL_BAND_M:
            rep.still_m, rep.still_s = m.position_m, m.time_s
        if self.phase is Phase.CONCENTRIC:
            rep.con_force_dt += force * dt
            rep.con_power_dt += force * v * dt
            rep.con_time += dt
            rep.peak_con_velocity = max(rep.peak_con_velocity, v)
            rep.peak_con_force_n = max(rep.peak_con_force_n, force)
            rep.peak_con_power_w = max(rep.peak_con_power_w, force * v)
            if m.pull_n < 0.0 and rep.braked_at is None:
                rep.braked_at = (m.time_s, m.position_m)
        elif self.phase is Phase.ECCENTRIC:
            rep.ecc_force_dt += force * dt
            rep.ecc_power_dt += force * -v * dt
            rep.ecc_time += dt
            rep.peak_ecc_force_n = max(rep.peak_ecc_force_n, force)
            rep.peak_ecc_power_w = max(rep.peak_ecc_power_w, force * -v)
            if m.position_m < rep.low_m:
                rep.low_m, rep.low_s = m.position_m, m.time_s
        if self.phase in (Phase.CONCENTRIC, Phase.TOP) and not self.near_top(m.position_m):
            if v < STALL_SPEED_MPS and m.time_s - rep.start_s > 0.2:
                rep.stall_s += dt
                rep.longest_stall_s = max(rep.longest_stall_s, rep.stall_s)
            elif v > MOVING_AGAIN_MPS:
                rep.stall_s = 0.0

    @staticmethod
    def _lowering_begun(rep: _RepAccumulator, m: Motion) -> bool:
        v = m.velocity_mps
        return v < -SPEED_ON_MPS or (v < -SPEED_OFF_MPS and m.position_m < rep.top_m - TURN_M)

    @staticmethod
    def _lowering_ended(rep: _RepAccumulator, m: Motion) -> float | None:
        """When the lowering ended (the turnaround, or the moment it stopped), once it is sure."""
        span = max(MIN_REP_ROM_M, rep.top_m - rep.start_m)
        height = m.position_m - rep.start_m
        near_bottom = height <= BOTTOM_SPAN_FRACTION * span
        rise = BOTTOM_TURN_M if near_bottom else TURN_M
        if m.velocity_mps > SPEED_OFF_MPS and m.position_m >= rep.low_m + rise:
            return rep.low_s  # turned round (before the bottom: this rep ends, the next begins)
        if height <= FLOOR_SPAN_FRACTION * span and abs(m.velocity_mps) < SPEED_OFF_MPS:
            return m.time_s  # stopped where the rep began: the load must be off before the next lift
        if near_bottom and m.time_s - rep.still_s >= BOTTOM_DWELL_S:
            return rep.still_s
        return None

    def _finish(self, rep: _RepAccumulator, now: float) -> RepMetrics | None:
        self.phase = Phase.REST
        self._rep = None
        rom = rep.top_m - rep.start_m
        if rom < MIN_REP_ROM_M:
            return None  # a twitch, not a rep
        learned = self.rom_m
        short = learned is not None and rom < FAILED_BELOW_ROM_FRACTION * learned
        if short and rep.longest_stall_s < FAILED_MIN_STALL_S:
            return None
        failed = short or (learned is None and rep.stall_at_turn_s >= self._first_rep_gave_up_s)
        if not failed:
            self._learn(rep.start_m, rep.top_m)
        con_time = max(rep.con_time, 1e-6)
        concentric_s = rep.concentric_end_s - rep.start_s
        mcv = rom / concentric_s if concentric_s > 0 else 0.0
        mpv = mcv
        if rep.braked_at is not None and rep.braked_at[0] > rep.start_s:
            mpv = (rep.braked_at[1] - rep.start_m) / (rep.braked_at[0] - rep.start_s)
        pre_rep = len(self.completed) < self._pre_reps
        if not failed and not rep.assisted and not pre_rep:
            self._best_mcv = max(self._best_mcv, mcv)
        loss = 100.0 * (self._best_mcv - mcv) / self._best_mcv if self._best_mcv > 0 else 0.0
        metrics = RepMetrics(
            index=len(self.completed) + 1,
            concentric_s=concentric_s,
            eccentric_s=max(0.0, now - rep.eccentric_start_s),
            rom_m=rom,
            mean_concentric_force_n=rep.con_force_dt / con_time,
            mean_eccentric_force_n=rep.ecc_force_dt / max(rep.ecc_time, 1e-6),
            peak_force_n=rep.peak_force_n,
            mean_concentric_velocity_mps=mcv,
            mean_propulsive_velocity_mps=mpv,
            peak_concentric_velocity_mps=rep.peak_con_velocity,
            mean_concentric_power_w=rep.con_power_dt / con_time,
            time_under_tension_s=now - rep.start_s,
            velocity_loss_pct=max(0.0, loss),
            peak_speed_mps=rep.peak_speed,
            longest_stall_s=rep.longest_stall_s,
            assisted=rep.assisted,
            failed=failed,
            peak_concentric_force_n=rep.peak_con_force_n,
            peak_eccentric_force_n=rep.peak_ecc_force_n,
            peak_concentric_power_w=rep.peak_con_power_w,
            mean_eccentric_power_w=rep.ecc_power_dt / max(rep.ecc_time, 1e-6),
            peak_eccentric_power_w=rep.peak_ecc_power_w,
            pre_rep=pre_rep,
        )
        self.completed.append(metrics)
        return metrics

    def _learn(self, bottom_m: float, top_m: float) -> None:
        if self.bottom_m is None or self.top_m is None:
            self.bottom_m, self.top_m = bottom_m, top_m
            return
        self.bottom_m += (bottom_m - self.bottom_m) * ROM_LEARNING_RATE
        self.top_m += (top_m - self.top_m) * ROM_LEARNING_RATE
