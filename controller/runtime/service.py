"""The control process of a running machine: one drive, one loop at a time, block after block of
sets, and the control port (ipc.py) as its only door.

Each block (what a user starts: a profile, a load, its sets) runs on a fresh ControlLoop with its
own recording, so every recording replays from a clean start. Before the first block and between
blocks a standby loop holds the idle tension. One loop hands the drive to the next only at rest,
never with the e-stop latched or a fault standing, so no latch is lost on the way.

Everything slow (closing a recording, writing the session store) happens on a worker thread.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from controller.app.workout import WorkoutRun
from controller.config import AthleteConfig, MachineConfig, ProfileConfig, ProfileKind
from controller.core.loop import ControlLoop, Frame
from controller.core.profiles import check_fits_machine
from controller.core.reps import RepMetrics
from controller.core.set_lifecycle import LOADED, SetState
from controller.core.stats import PeriodStats
from controller.drive import Drive
from controller.runtime.admission import Admission, BlockOfSets, Plan, Refusal
from controller.runtime.filing import BlockFiler
from controller.runtime.ipc import ControlPort, PendingRequest
from controller.runtime.priority import helper_priority, prefer_control_thread
from controller.runtime.publisher import LoopPublisher
from controller.runtime.recorder import RecordingWriter, recording_header
from controller.timing import Clock
from controller.units import newtons_to_kg

STATUS_EVERY_S = 0.5
REQUESTS_PER_CYCLE = 8
STATS_WINDOW_S = 60.0
STANDBY = ProfileConfig(name="standby", kind=ProfileKind.CONSTANT, load_kg=1.0, reps=1)
_BUSY = (*LOADED, SetState.DELOADING, SetState.RESTING)


class Lifter(Protocol):
    """A simulated person at the machine (the demo's, a simulation's), who does the sets started."""

    def ask(self, profile: ProfileConfig) -> None: ...

    def follow(self, loop: ControlLoop) -> None: ...

    @property
    def finished(self) -> bool:
        """Has let go of the handle, a moment ago: a simulation of one block may end."""
        ...


@dataclass(frozen=True, slots=True)
class ServiceSetup:
    machine: MachineConfig
    port_path: Path | None  # None: no port (a simulation of one block, `eccentrix simulate`)
    recordings: Path | None = None
    store: Path | None = None
    drive_link: str = "simulated"
    raise_priority: bool = True  # False: many simulated machines in one process (bench/fleet.py)
    athlete: AthleteConfig | None = None  # the simulated person, kept in each recording for what-ifs
    scenario: str | None = None  # the simulator event injected, kept in each recording
    max_run_s: float = math.inf  # a loop runs no longer than this (a simulation's time limit)


class ControlService:
    def __init__(self, setup: ServiceSetup, drive: Drive, clock: Clock, lifter: Lifter | None = None) -> None:
        self.setup = setup
        self.machine = setup.machine
        self.drive = drive
        self.clock = clock
        self.lifter = lifter
        self.port = ControlPort(setup.port_path)
        rate = self.machine.control.rate_hz
        self.stats = PeriodStats(1.0 / rate, window=round(STATS_WINDOW_S * rate))
        self.block: BlockOfSets | None = None
        self.rep_listeners: list[Callable[[RepMetrics], None]] = []
        self.frame_listeners: list[Callable[[Frame], None]] = []
        self.stop_after_block = (
            False  # `eccentrix run`, `simulate`: one block (and the lifter gone), then stop
        )
        self._blocks_ended = 0
        self._next: BlockOfSets | None = None
        self.workout: WorkoutRun | None = None
        self._workout_blocks: list[BlockOfSets] = []
        self._stop = threading.Event()
        self._worker = ThreadPoolExecutor(1, thread_name_prefix="service-io", initializer=helper_priority)
        self.admission = Admission(self.machine, setup.store, setup.recordings, self._worker)
        self.filer = BlockFiler(self.machine, setup.store, self.port, clock, self._worker)
        self.publisher = LoopPublisher(self.port, rate)
        self.loop = self._new_loop(STANDBY, None, None)
        self._next_status_s = 0.0
        self.priority = "not running"

    def start_block(
        self, profile: ProfileConfig, load_kg: float | None, person: str, record: Path | None = None
    ) -> None:
        """Start a block at the next cycle, from this process (what `eccentrix run` asks for)."""
        check_fits_machine(self.machine, profile, load_kg)
        self._next = BlockOfSets(profile, load_kg, person, "", "operator", None, record)

    def stop(self) -> None:
        """Thread-safe: the loop ends at its next cycle and leaves the drive torque-off."""
        self._stop.set()

    async def serve(self) -> None:
        self.port.start()
        if self.setup.raise_priority:
            self.priority = prefer_control_thread()
        try:
            await self.drive.connect()
            while not self._stop.is_set():
                await self.loop.run(
                    self.drive,
                    self.clock,
                    self._between_cycles,
                    self.setup.max_run_s,
                    self.stats,
                    self._handing_over,
                )
                if self._next is None:
                    break  # stopped, or out of time
                self._begin(self._next)
                self._next = None
        finally:
            self._end_block()
            await self.drive.close()
            self._worker.submit(self.filer.retry)  # a last try for sets the store refused
            self._worker.shutdown(wait=True)
            self.port.publish({"type": "end"})  # a bridge flushes what it holds, then exits
            self.port.stop()

    # -- one loop per block ------------------------------------------------------------------------
    def _new_loop(
        self, profile: ProfileConfig, load_kg: float | None, block: BlockOfSets | None
    ) -> ControlLoop:
        loop = ControlLoop(self.machine, profile, load_kg)
        self.publisher.attach(
            loop, profile.tempo, block.person if block else None, block.uid if block else ""
        )
        loop.observers.on_rep.extend(self.rep_listeners)
        loop.observers.on_frame.extend(self.frame_listeners)
        return loop

    def _begin(self, block: BlockOfSets) -> None:
        self._end_block()
        self.loop = self._new_loop(block.profile, block.load_kg, block)
        path = block.record
        if path is None and self.setup.recordings is not None:
            stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
            path = self.setup.recordings / f"{stamp}-{block.profile.name}.ecxr"
        if path is not None:
            setup = self.setup
            header = recording_header(
                self.machine, block.profile, block.load_kg, setup.athlete, setup.scenario
            )
            header["exercise"] = block.exercise
            block.writer = RecordingWriter(path, header, self.machine.control.rate_hz)
            self.loop.observers.on_frame.append(block.writer.append)
        self.block = block
        self.loop.start_set()
        if self.lifter is not None:
            self.lifter.ask(block.profile)
        self.port.publish(
            {
                "type": "set_started",
                "profile": block.profile.name,
                "by": block.by,
                "person": block.person,
                "block": block.uid,
            }
        )

    def _end_block(self) -> None:
        block, self.block = self.block, None
        if block is None or block.finished:
            return
        block.finished = True
        lifecycle = self.loop.lifecycle
        block.set_reps = [t.completed for t in lifecycle.history] + [lifecycle.tracker.completed]
        block.converged_eccentric_kg = lifecycle.profile.converged_eccentric_kg
        block.safety_events = self.loop.safety_events
        self._blocks_ended += 1
        if block.writer is not None:
            self.loop.observers.on_frame.remove(block.writer.append)
        self.filer.file(block)

    # -- every cycle -------------------------------------------------------------------------------
    def _between_cycles(self, loop: ControlLoop) -> bool:
        """The service's work on the loop's thread, none of it waiting on anything: the simulated
        lifter, requests, admission decisions, telemetry. True: this loop's run is over."""
        if self.lifter is not None:
            self.lifter.follow(loop)
        for _ in range(REQUESTS_PER_CYCLE):
            if self.port.requests.empty():
                break
            self._handle(loop, self.port.requests.get_nowait())
        self._admitted(loop)
        self.publisher.publish_events()
        now = self.clock.now()
        self.filer.retry_if_due(now)
        if self.block is not None and loop.lifecycle.state in (SetState.DONE, SetState.STOPPED):
            self._end_block()
            self._workout_block_ended(loop.lifecycle.state is SetState.DONE, now)
        if self.stop_after_block and self._blocks_ended and (self.lifter is None or self.lifter.finished):
            self._stop.set()
        self._run_workout(loop, now)
        if now >= self._next_status_s:
            self._next_status_s = now + STATUS_EVERY_S
            self.port.publish(self.status())
        return self._stop.is_set() or self._next is not None

    # -- requests ----------------------------------------------------------------------------------
    def _handle(self, loop: ControlLoop, pending: PendingRequest) -> None:
        request = pending.request
        match request.cmd:
            case "estop":
                loop.estop()
                self._next = None  # a start asked for in the same breath does not happen
                self._end_workout("e-stop")
                self.port.reply(pending, True)
            case "reset":
                loop.reset()
                self.port.reply(pending, True, note="the stop is cleared once the handle is at rest")
            case "stop":
                loop.stop_set()
                self._end_workout("stopped")
                self.port.reply(pending, True)
            case "skip_rest":
                if self._skip_rest(loop):
                    self.port.reply(pending, True)
                else:
                    self.port.reply(pending, False, "not resting: there is no rest to skip")
            case "status":
                self.port.reply(pending, True, status=self.status())
            case "start" | "workout":
                refusal = self._refusal(loop) or (
                    "another start is being checked" if self.admission.busy else ""
                )
                if refusal:
                    self.port.reply(pending, False, refusal, status=409)
                else:
                    self.admission.submit(pending, request.start, request.workout)

    def _refusal(self, loop: ControlLoop) -> str:
        """Why no start can be taken now, or ""; checked when a start is asked for and again when
        its admission comes back (the machine may have been stopped meanwhile)."""
        if loop.gate.estop or loop.fault:
            return f"the machine is stopped ({loop.fault or 'e-stop'}): reset at rest first"
        if loop.lifecycle.state in _BUSY or loop.lifecycle.armed or self._next is not None:
            return f"a set is running ({loop.lifecycle.state.value}): stop it first"
        if self.workout is not None:
            return f"workout {self.workout.name!r} is on: stop it first"
        if self.admission.busy:
            return "another start is being checked: wait for its answer"
        return ""

    def _admitted(self, loop: ControlLoop) -> None:
        """The admission's decision, once it is back from the worker thread."""
        decided = self.admission.take()
        if decided is None:
            return
        if isinstance(decided, Refusal):
            self.port.reply(decided.pending, False, decided.reason, status=decided.status)
        elif refusal := self._refusal(loop):
            self.port.reply(decided.pending, False, refusal, status=409)
        else:
            self._start(decided)

    def _start(self, plan: Plan) -> None:
        self._next = plan.blocks[0]
        if plan.workout is not None:
            workout = plan.workout
            labels = [b.label for b in workout.blocks]
            self.workout = WorkoutRun(workout.name, labels, [b.rest_after_s for b in workout.blocks])
            self._workout_blocks = list(plan.blocks)
            self.port.publish(
                {"type": "workout", "event": "started", **self.workout.status(self.clock.now())}
            )
        if plan.warning:
            self.port.publish({"type": "warning", "kind": "overload_spacing", "detail": plan.warning})
        if plan.caps_note:
            self.port.publish({"type": "warning", "kind": "site_caps", "detail": plan.caps_note})
        self.port.reply(plan.pending, True, warning="; ".join(w for w in (plan.caps_note, plan.warning) if w))

    def _skip_rest(self, loop: ControlLoop) -> bool:
        """Between the sets of a block, or between a workout's blocks."""
        now = self.clock.now()
        if loop.lifecycle.skip_rest(now):
            return True
        return self.workout is not None and self._next is None and self.workout.skip_rest(now)

    # -- workouts ----------------------------------------------------------------------------------
    def _workout_block_ended(self, as_planned: bool, now: float) -> None:
        if self.workout is None:
            return
        self.workout.block_ended(as_planned, now)
        if self.workout.ended:
            self._end_workout(self.workout.ended)

    def _run_workout(self, loop: ControlLoop, now: float) -> None:
        """Start the next block when its rest is over, unless the machine has stopped meanwhile: a
        fault or an e-stop in the rest ends the workout, and its latch stays on this loop."""
        if self.workout is None or self._next is not None:
            return
        if loop.fault or loop.gate.estop:
            self._end_workout(loop.fault or "e-stop")
            return
        index = self.workout.due(now)
        if index is not None:
            self._next = self._workout_blocks[index]

    def _end_workout(self, why: str) -> None:
        """Done, or stopped: nothing more of it starts on its own."""
        if self.workout is None:
            return
        self.workout.stop(why)
        status = self.workout.status(self.clock.now())
        self.port.publish({"type": "workout", "event": "ended", **status})
        self.workout = None
        self._workout_blocks = []

    def _handing_over(self) -> bool:
        return self._next is not None

    def status(self) -> dict[str, Any]:
        loop, lifecycle = self.loop, self.loop.lifecycle
        resting = lifecycle.state is SetState.RESTING
        block = self.block
        link = loop.link
        figures = self.stats.summary(last=1000)
        now = self.clock.now()
        return {
            "type": "status",
            "time_s": now,
            "machine": self.machine.name,
            "drive": {
                "kind": self.machine.drive.kind,
                "link": self.setup.drive_link,
                "link_up": link.link_up if link else False,
                "transient_errors": link.counters.transient if link else 0,
                "reconnects": link.counters.reconnects if link else 0,
            },
            "fault": loop.fault,
            "estop": loop.gate.estop,
            "set_state": lifecycle.state.value,
            "armed": lifecycle.armed,  # idle and armed: the load comes once the handle is held still
            "set_index": lifecycle.set_index,
            "sets": block.profile.sets if block else 0,
            "rest_left_s": max(0.0, lifecycle.rest_until_s - now) if resting else 0.0,
            "workout": self.workout.status(now) if self.workout is not None else None,
            "reps_done": len(lifecycle.tracker.completed),
            "profile": block.profile.model_dump(mode="json") if block else None,
            "load_kg": (block.load_kg or block.profile.load_kg) if block else None,
            "loads_kg": [newtons_to_kg(n) for n in lifecycle.profile.loads_n] if block else None,
            "person": block.person if block else None,
            "exercise": block.exercise if block else None,
            "recording": str(block.writer.path) if block and block.writer else None,
            "loop": {
                "rate_hz": figures.rate_hz,
                "period_p99_us": figures.period_p99_us,
                "missed_deadlines": self.stats.missed,
            },
            "port": {
                "dropped_messages": self.port.dropped_messages,
                "rejected_requests": self.port.rejected_requests,
            },
        }
