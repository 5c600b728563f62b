"""ControlLoop: read -> step -> write on absolute deadlines.

`step` is a pure function of (now, feedback, internal state): no I/O, no clock reads. `run` is the
only place that touches the drive and the clock, so a simulated set (SimulatedClock) makes exactly
the decisions a real-time one would make given the same feedback.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntFlag

from controller.config import MachineConfig, ProfileConfig
from controller.core.estimator import Estimator, Motion, friction_force_n
from controller.core.feel import FeelCorrection
from controller.core.kinematics import Kinematics
from controller.core.profiles import Profile
from controller.core.reps import RepMetrics
from controller.core.safety import Flag, GateInput, GateLimits, GateState, apply
from controller.core.set_lifecycle import LOADED, SetLifecycle, SetState
from controller.core.stats import LoopStats, PeriodStats
from controller.drive import Drive, DriveFault, DriveFeedback
from controller.drive.supervisor import DriveSupervisor
from controller.drive.torque_window import TorqueWindow
from controller.timing import Clock

UNDER_LOAD = (*LOADED, SetState.DELOADING)
EVENT_FLAGS = Flag.ESTOP | Flag.STALE | Flag.RELEASE | Flag.OVERSPEED_IN | Flag.OVERSPEED_OUT | Flag.CAPPED


@dataclass(frozen=True, slots=True)
class Frame:
    """Everything decided in one cycle: what the recorder stores and telemetry shows."""

    time_s: float
    position_m: float
    velocity_mps: float
    acceleration_mps2: float
    felt_tension_n: float
    request_n: float
    command_n: float
    phase: str
    rep_index: int
    set_state: str
    flags: int
    commands: int  # Command flags applied in this cycle (replayed as they were)
    lag_s: float  # how late this cycle started against its deadline
    feedback: DriveFeedback | None  # the raw reading this cycle decided on (None: the read failed)


class Command(IntFlag):
    NONE = 0
    START = 1
    STOP = 2
    ESTOP = 4
    RESET = 8


@dataclass(frozen=True, slots=True)
class SafetyEvent:
    time_s: float
    kind: str
    rep_index: int
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Decision:
    """What one step decided: the torque for the drive, and what observers are told of it."""

    torque_nm: float
    frame: Frame | None  # None: no reading yet, nothing to decide on
    rep: RepMetrics | None = None  # a rep completed in this cycle
    events: tuple[SafetyEvent, ...] = ()  # safety events raised in this cycle


@dataclass(slots=True)
class _Observers:
    on_frame: list[Callable[[Frame], None]] = field(default_factory=list)
    on_rep: list[Callable[[RepMetrics], None]] = field(default_factory=list)


def lag_cause(lateness_s: float, woke_late_s: float) -> str:
    """Where a late cycle's time went, for whoever has to make it stop happening: a wait that ended
    late is the computer (the scheduler, a virtual machine's host, another thread holding the
    interpreter); the rest is work done in the loop's thread after its wait (the service, tasks)."""
    if woke_late_s >= lateness_s / 2:
        return f"woken {woke_late_s * 1e3:.1f} ms late from its wait: the computer held it back"
    return f"woken {woke_late_s * 1e3:.1f} ms late: other work in its thread ran long"


class ControlLoop:
    def __init__(self, machine: MachineConfig, profile: ProfileConfig, load_kg: float | None = None) -> None:
        self.machine = machine
        self.period_s = 1.0 / machine.control.rate_hz
        self.kinematics = Kinematics.of(machine)
        self.torque_window = TorqueWindow.of(machine)
        self.estimator = Estimator(machine)
        shaped = Profile(profile, load_kg, machine.limits)
        self.limits = GateLimits.of(machine, profile.caps, shaped.peak_concentric_n)
        self.gate = GateState()
        self.lifecycle = SetLifecycle(shaped, self.limits.idle_n, self.limits.slew_up)
        # A pace (isokinetic) or a held handle (isometric) sets the tension itself: no take-up fights it
        self.feel = FeelCorrection(
            profile.feel, machine, take_up=shaped.pace is None and shaped.isometric is None
        )
        self.safety_events: list[SafetyEvent] = []
        self.observers = _Observers()
        self.fault: str | None = None
        self.link: DriveSupervisor | None = None
        self._pending = Command.NONE
        self._motion: Motion | None = None
        self._flags = Flag.NONE

    # -- commands (applied at the next step) -------------------------------------------------------
    def estop(self) -> None:
        self._pending |= Command.ESTOP

    def reset(self) -> None:
        self._pending |= Command.RESET

    def start_set(self) -> None:
        self._pending |= Command.START

    def stop_set(self) -> None:
        self._pending |= Command.STOP

    def command(self, commands: Command) -> None:
        """Queue commands for the next step (how a replay feeds back what a recording applied)."""
        self._pending |= commands

    def report_fault(self, now_s: float, kind: str, detail: str) -> None:
        """A fault from outside step (the drive, the clock): safe state at once, cause kept until
        the stop is reset at rest."""
        if self.fault is None:
            self.fault = f"{kind}: {detail}"
        self._pending |= Command.ESTOP
        self.safety_events.append(SafetyEvent(now_s, kind, self.lifecycle.tracker.rep_index, detail))

    @property
    def reps(self) -> list[RepMetrics]:
        done = [r for tracker in self.lifecycle.history for r in tracker.completed]
        return done + self.lifecycle.tracker.completed

    # -- the pure step -----------------------------------------------------------------------------
    def step(self, now_s: float, feedback: DriveFeedback | None, lag_s: float = 0.0) -> Decision:
        """One cycle's decision. `feedback` is None when the read failed; `lag_s` is only recorded,
        never decided on. Nothing is told to observers here: `run` (or a replay) does that."""
        events_before = len(self.safety_events)
        rep = None
        if feedback is not None:
            self._motion = self.estimator.update(self.kinematics.cable(feedback))
            rep = self.lifecycle.track(self._motion)
        m = self._motion
        if m is None:
            return Decision(0.0, None, rep)
        commands, self._pending = self._pending, Command.NONE
        self._apply_commands(now_s, commands)
        # The gate forgets a let-go once the set went back to idle and the hand holds again: idle as
        # this cycle began, so a set the lifecycle resumes now is not cut again for its old let-go
        rearm = self.lifecycle.state not in LOADED
        resumed = self.lifecycle.resumed
        request = self.lifecycle.update(now_s, m)
        if self.lifecycle.resumed is not resumed:
            self._note_resume(now_s)
        out = apply(self.limits, self.gate, self._gate_input(now_s, m, request, commands, rearm))
        if self.gate.estop and not out.state.estop:
            self.fault = None  # the stop was reset at rest: the cause has been seen
        self.gate = out.state
        self._note_flags(now_s, out.flags)
        if out.flags & (Flag.RELEASE | Flag.OVERSPEED_IN):
            self.lifecycle.unloaded(now_s, m.position_m)
        frame = Frame(
            time_s=now_s,
            position_m=m.position_m,
            velocity_mps=m.velocity_mps,
            acceleration_mps2=m.acceleration_mps2,
            felt_tension_n=m.felt_tension_n,
            request_n=request,
            command_n=out.force_n,
            phase=self.lifecycle.tracker.phase.value,
            rep_index=self.lifecycle.tracker.rep_index,
            set_state=self.lifecycle.state.value,
            flags=int(out.flags),
            commands=int(commands),
            lag_s=lag_s,
            feedback=feedback,
        )
        torque = self.torque_window.clamp(self.kinematics.torque_nm(out.force_n))
        raised = self.safety_events[events_before:] if len(self.safety_events) > events_before else ()
        return Decision(torque, frame, rep, tuple(raised))

    def tell(self, decision: Decision) -> None:
        """Hand one decision to the observers (the recorder, telemetry, the rep listeners)."""
        if decision.rep is not None:
            for on_rep in self.observers.on_rep:
                on_rep(decision.rep)
        if decision.frame is not None:
            for on_frame in self.observers.on_frame:
                on_frame(decision.frame)

    def _note_resume(self, now_s: float) -> None:
        if self.lifecycle.resumed is None:
            return
        after_s, moved_m = self.lifecycle.resumed
        detail = (
            f"the hand held the cable again {after_s:.2f} s after the cut, {moved_m * 100:.0f} cm from it"
        )
        self.safety_events.append(
            SafetyEvent(now_s, "slack_taken_up", self.lifecycle.tracker.rep_index, detail)
        )

    def _gate_input(
        self, now_s: float, m: Motion, request_n: float, commands: Command, rearm: bool
    ) -> GateInput:
        """The session's request, less what friction already gives the person (the gate hears of
        it as felt extra) and plus the weight-feel correction while a set runs."""
        friction = friction_force_n(self.machine, m.velocity_mps)
        feel = 0.0
        if self.lifecycle.state in (SetState.ACTIVE, SetState.FINISHING):
            feel = self._feel_correction_n(now_s, request_n, m)
        return GateInput(
            now_s=now_s,
            request_n=max(0.0, request_n - friction + feel),
            position_m=m.position_m,
            velocity_mps=m.velocity_mps,
            acceleration_mps2=m.acceleration_mps2,
            feedback_age_s=max(0.0, now_s - m.time_s),
            felt_extra_n=max(0.0, friction),
            hand_pull_n=m.pull_n,
            estop=bool(commands & Command.ESTOP),
            reset=bool(commands & Command.RESET),
            rearm=rearm,
        )

    def _feel_correction_n(self, now_s: float, request_n: float, m: Motion) -> float:
        was_ringing = self.feel.ringing
        correction = self.feel.correction_n(request_n, m)
        if self.feel.ringing and not was_ringing:
            detail = "weight feel switched off for this set: check machine inertia figures"
            self.safety_events.append(
                SafetyEvent(now_s, "feel_ringing", self.lifecycle.tracker.rep_index, detail)
            )
        return correction

    def _apply_commands(self, now_s: float, commands: Command) -> None:
        if commands & Command.ESTOP:
            self.lifecycle.halt(now_s)
        if commands & Command.STOP:
            self.lifecycle.stop(now_s)
        if commands & Command.START and not self.gate.estop:
            self.lifecycle.start()

    def _note_flags(self, now_s: float, flags: Flag) -> None:
        rising = (flags & ~self._flags) & EVENT_FLAGS
        self._flags = flags
        if not rising:  # nearly every cycle: no walk over the flags
            return
        for flag in Flag:
            if flag & rising and flag.name:
                self.safety_events.append(
                    SafetyEvent(now_s, flag.name.lower(), self.lifecycle.tracker.rep_index)
                )

    # -- real time ---------------------------------------------------------------------------------
    async def run(
        self,
        drive: Drive,
        clock: Clock,
        between_cycles: Callable[[ControlLoop], bool],
        max_s: float,
        stats: PeriodStats | None = None,
        hand_over: Callable[[], bool] = lambda: False,
    ) -> LoopStats:
        """Run until `between_cycles(self)` says it is over: whoever runs the loop does its own work
        there, on the loop's thread, before each cycle. The drive is then left torque-off, unless
        `hand_over()` says another loop takes it over at once (at rest; see service.py)."""
        # Everything built so far lives as long as the loop: keep the collector from walking it
        # mid-set, which costs milliseconds on a large heap.
        gc.freeze()
        link = DriveSupervisor(drive, self.machine, self.report_fault)
        self.link = link
        stats = stats or PeriodStats(self.period_s)
        lag_limit = self.machine.control.lag_fault_periods * self.period_s
        deadline = clock.now()
        end = deadline + max_s
        woke_late = 0.0
        try:
            while deadline < end and not between_cycles(self):
                lateness = clock.now() - deadline
                stats.record_lateness(lateness)
                if lateness > lag_limit:
                    self._fell_behind(deadline, lateness, woke_late)
                started = time.perf_counter()
                feedback = await link.read(deadline)
                decision = self.step(deadline, feedback, max(0.0, lateness))
                stats.record_step(time.perf_counter() - started)
                await link.write(deadline, decision.torque_nm)
                self.tell(decision)
                if not link.armed and self.fault is None and not self.gate.estop:
                    await link.rearm(deadline)  # the stop was reset at rest: load may come again
                deadline += self.period_s
                missed = stats.skip_missed(clock.now(), deadline)
                deadline += missed * self.period_s
                clock.wait_until(deadline)
                woke_late = clock.now() - deadline
                await asyncio.sleep(0)
        finally:
            if not hand_over():
                await self._safe_stop(drive)
        return stats.summary()

    def _fell_behind(self, now_s: float, lateness_s: float, woke_late_s: float) -> None:
        """Under load, a late cycle means a stale command on a person: stop. Unloaded, the drive
        holds the idle take-up tension, which harms nobody; the event is recorded but nothing is
        latched, so a busy computer at rest does not leave the machine needing a reset."""
        detail = f"{lateness_s * 1e3:.1f} ms behind its deadline, {lag_cause(lateness_s, woke_late_s)}"
        if self.lifecycle.state in UNDER_LOAD:
            if self.fault is None:
                self.report_fault(now_s, "loop_lag", detail)
        else:
            self.safety_events.append(
                SafetyEvent(now_s, "loop_lag_unloaded", self.lifecycle.tracker.rep_index, detail)
            )

    async def _safe_stop(self, drive: Drive) -> None:
        with contextlib.suppress(DriveFault):
            await drive.write(0.0)
        with contextlib.suppress(DriveFault):
            await drive.disable()
