"""The set's lifecycle: idle -> loading -> active -> finishing -> deloading -> resting -> ... -> done.

Load only comes in after the person has taken up the slack and holds still (no surprise weight),
and only goes out at the rest position: never mid-rep, never as the last rep starts. One exception
to the load-in: a set the gate unloaded a moment ago (slack, a let-go) goes on at once if the hand
is back on the cable where it was cut, as a weight stack's would.
"""

from __future__ import annotations

from enum import StrEnum

from controller.config import ProfileKind
from controller.core.estimator import Motion
from controller.core.profile_input import ProfileInput
from controller.core.profiles import Profile, Target
from controller.core.reps import Phase, RepMetrics, RepTracker
from controller.core.shaping import Ramp

ENGAGE_MIN_POSITION_M = 0.05
STILL_MPS = 0.05
ENGAGE_HOLD_S = 0.5
AT_REST_HOLD_S = 0.3
DELOAD_S = 0.8
# A light handle flung up overruns the spool: the cable goes slack at the top, then snaps back
# tight with the hand on it, and the gate cuts as for a let-go (the hand pulled nothing while the
# cable came in). The set goes on, with no load-in and no lost rep, if the hand holds the cable
# again soon and close to where it was cut: further than slack can be, the handle was let go and
# went home (a let-go handle comes in at up to the speed cap, 1.5 m/s).
RESUME_WITHIN_S = 0.5
RESUME_TRAVEL_M = 0.08
RESUME_PULL_FRACTION = 0.5  # of the idle tension: a hand holds the cable, not just a handle's weight


class SetState(StrEnum):
    IDLE = "idle"
    LOADING = "loading"
    ACTIVE = "active"
    FINISHING = "finishing"
    DELOADING = "deloading"
    RESTING = "resting"
    DONE = "done"
    STOPPED = "stopped"


LOADED = (SetState.LOADING, SetState.ACTIVE, SetState.FINISHING)


class SetLifecycle:
    def __init__(self, profile: Profile, idle_n: float, slew_up_n_per_s: float) -> None:
        self.profile = profile
        self.idle_n = idle_n
        self.slew_up_n_per_s = slew_up_n_per_s
        self.state = SetState.IDLE
        self.armed = False
        self.set_index = 1
        self.tracker = self._new_tracker()
        self.ramp = Ramp(idle_n, slew_up_n_per_s)
        self.rest_until_s = 0.0
        self.history: list[RepTracker] = []
        self._still_since_s: float | None = None
        self._cut: tuple[float, float, SetState] | None = None  # when, where and from what the gate unloaded
        self.resumed: tuple[float, float] | None = None  # the last resume: seconds and metres after its cut
        self._after_the_last: int | None = None  # a flywheel's set over: reps past this are none

    # -- commands ----------------------------------------------------------------------------------
    def start(self) -> None:
        if self.state in (SetState.IDLE, SetState.STOPPED, SetState.DONE):
            self.state = SetState.IDLE
            self.armed = True

    def stop(self, now_s: float) -> None:
        """End the set normally: let the load off at the normal rate, wherever the handle is. A set
        that is not loaded (waiting for its load-in, or resting) ends at once: it stayed open, and
        its block unfiled, until the next start."""
        if self.state in LOADED:
            self._deload(now_s)
        elif self.state is SetState.RESTING or (self.state is SetState.IDLE and self.armed):
            self.state = SetState.STOPPED
        self.armed = False

    def skip_rest(self, now_s: float) -> bool:
        """The next set now. It still loads only once the handle is held still (as every set)."""
        if self.state is not SetState.RESTING:
            return False
        self.rest_until_s = now_s
        return True

    def halt(self, now_s: float) -> None:
        """After an e-stop or a fault: nothing more until started again."""
        self.state = SetState.STOPPED
        self.armed = False
        self._cut = None
        self.profile.unloaded()
        self._reset_ramp(now_s)

    def unloaded(self, now_s: float, position_m: float) -> None:
        """The gate took the load off (let go, slack): the set goes on through a new load-in, or
        at once if the hand is soon back on the cable where it was cut (RESUME_*)."""
        self.profile.unloaded()
        if self.state in LOADED:
            running = self.state in (SetState.ACTIVE, SetState.FINISHING)
            self._cut = (now_s, position_m, self.state) if running else None
            self.state = SetState.IDLE
            self._reset_ramp(now_s)

    # -- per cycle ---------------------------------------------------------------------------------
    def profile_input(self, now_s: float, position_m: float, velocity_mps: float) -> ProfileInput:
        reps = self.tracker.completed
        return ProfileInput(
            now_s=now_s,
            lowering=self.tracker.lowering(),
            at_bottom=self.tracker.phase is Phase.REST,
            stalled_s=self.tracker.stalled_s,
            failed_reps=sum(1 for r in reps if r.failed),
            completed_reps=sum(1 for r in reps if not r.failed),
            last_velocity_loss_pct=reps[-1].velocity_loss_pct if reps else 0.0,
            range_fraction=self.tracker.range_fraction(position_m),
            velocity_mps=velocity_mps,
            rom_m=self.tracker.rom_m,
            height_m=self.tracker.height_m(position_m),
            position_m=position_m,
        )

    def track(self, m: Motion) -> RepMetrics | None:
        """Reps count only while the load is on, or for the moment it may come straight back:
        walking the handle out is not rep 1."""
        if self.state not in (SetState.ACTIVE, SetState.FINISHING) and self._cut is None:
            return None
        rep = self.tracker.update(m)
        if rep is not None and self._after_the_last is not None and rep.index > self._after_the_last:
            # A flywheel's set ends on its last rep; the pull a lifter starts before they hear so
            # meets no disc (it is not spun up again) and is no rep of the set
            self.tracker.discard_last()
            return None
        if rep is not None:
            self.profile.rep_done(rep)
        return rep

    def update(self, now_s: float, m: Motion) -> float:
        """The tension to ask the SafetyGate for: the profile's target, its level through the ramp,
        its factor on the ramped level, and a flywheel's pull on top."""
        inp = self.profile_input(now_s, m.position_m, m.velocity_mps)
        target = self._advance(now_s, inp, m)
        if target is None:
            return self.ramp.at(now_s)
        return self.ramp.at(now_s) * target.factor + target.extra_n

    def _advance(self, now_s: float, inp: ProfileInput, m: Motion) -> Target | None:
        """One cycle of the lifecycle. The profile is asked once, and only while the load is on
        (None: it has no say, and the ramp goes on to where the lifecycle sent it)."""
        held_still = self._held_still(now_s, m)
        match self.state:
            case SetState.IDLE:
                if self._resumes(now_s, m):
                    return self._aim(now_s, self.profile.target(inp), self.profile.config.ramp_s)
                if self.armed and m.position_m >= ENGAGE_MIN_POSITION_M and held_still >= ENGAGE_HOLD_S:
                    self.state = SetState.LOADING
                    return self._aim(now_s, self.profile.load_in_target(inp), self.profile.config.load_in_s)
            case SetState.LOADING:
                if not self.ramp.settled(now_s):
                    return self._aim(now_s, self.profile.load_in_target(inp), self.profile.config.load_in_s)
                self.state = SetState.ACTIVE
                return self._aim(now_s, self.profile.target(inp), self.profile.config.ramp_s)
            case SetState.ACTIVE:
                target = self._aim(now_s, self.profile.target(inp), self.profile.config.ramp_s)
                if self.profile.assisting():
                    self.tracker.mark_assisted()
                if self.profile.set_complete(inp):
                    self.state = SetState.FINISHING
                    if self.profile.disc is not None:
                        self.profile.finishing()
                        self._after_the_last = len(self.tracker.completed)
                return target
            case SetState.FINISHING:
                target = self._aim(now_s, self.profile.target(inp), self.profile.config.ramp_s)
                # Where the handle is decides, not the phase: a twitch at the bottom must not keep
                # the load on.
                if self.tracker.at_bottom(m.position_m) and held_still >= AT_REST_HOLD_S:
                    self._deload(now_s)
                    return None
                return target
            case SetState.DELOADING:
                if self.ramp.settled(now_s):
                    self._after_set(now_s)
            case SetState.RESTING:
                if now_s >= self.rest_until_s:
                    self._next_set()
            case SetState.DONE | SetState.STOPPED:
                pass
        return None

    def _aim(self, now_s: float, target: Target, ramp_s: float) -> Target:
        """A level is never under the machine's idle tension: an assisted lift of a light load (25 %
        of 4 kg: 10 N) pulled less than the spool's static friction (12 N), so the handle stayed
        where the lift left it and the lowering never began. A factor (a curve, a pace hold) may
        still take the tension lower: that is its shape, not the load."""
        self.ramp.go_to(max(target.level_n, self.idle_n), now_s, ramp_s)
        return target

    def _resumes(self, now_s: float, m: Motion) -> bool:
        if self._cut is None:
            return False
        cut_s, cut_m, state = self._cut
        if now_s - cut_s > RESUME_WITHIN_S or abs(m.position_m - cut_m) > RESUME_TRAVEL_M or not self.armed:
            self._cut = None
            return False
        # A handle at the dock is held by the machine's frame, not a hand: as for a load-in, it must be out
        docked = m.position_m < ENGAGE_MIN_POSITION_M
        if docked or abs(m.velocity_mps) >= STILL_MPS or m.pull_n < RESUME_PULL_FRACTION * self.idle_n:
            return False
        self._cut = None
        self.state = state
        self.resumed = (now_s - cut_s, abs(m.position_m - cut_m))
        return True

    def _held_still(self, now_s: float, m: Motion) -> float:
        if abs(m.velocity_mps) >= STILL_MPS:
            self._still_since_s = None
            return 0.0
        if self._still_since_s is None:
            self._still_since_s = now_s
        return now_s - self._still_since_s

    def _deload(self, now_s: float) -> None:
        self.profile.unloaded()
        self.state = SetState.DELOADING
        self.ramp.go_to(self.idle_n, now_s, DELOAD_S)

    def _after_set(self, now_s: float) -> None:
        if self.set_index >= self.profile.config.sets or not self.armed:
            self.state = SetState.DONE if self.armed else SetState.STOPPED
            self.armed = False
        else:
            self.state = SetState.RESTING
            self.rest_until_s = now_s + self.profile.config.rest_s

    def _next_set(self) -> None:
        self._after_the_last = None
        self.profile.next_set()
        self.history.append(self.tracker)
        self.tracker = self._new_tracker()
        self.set_index += 1
        self.state = SetState.IDLE

    def _new_tracker(self) -> RepTracker:
        config = self.profile.config
        pre_reps = config.flywheel.pre_reps if config.kind is ProfileKind.FLYWHEEL else 0
        return RepTracker(config.tempo.pause_s if config.tempo is not None else 0.0, pre_reps)

    def _reset_ramp(self, now_s: float) -> None:
        self.ramp = Ramp(self.idle_n, self.slew_up_n_per_s)
        self.ramp.at(now_s)
