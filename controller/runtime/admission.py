"""Admission: may a set or a workout start, and as what? Everything slow or fallible about a start
-- validating the profile, the person's caps and overload history from the store (SQLite, which
another process may hold locked) -- runs here, on the service's worker thread, never on the loop's.
The loop hands a request over and later picks up a frozen decision; it only checks, with no I/O,
that the machine is still free to start it.
"""

from __future__ import annotations

import os
import queue
import sqlite3
import uuid
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from controller.app.clinic import Clinic
from controller.app.set_request import SetRequestError, requested_profile, with_person_caps
from controller.app.store import SqliteSessionStore
from controller.app.workout import (
    PlannedBlock,
    PlannedWorkout,
    build_workout,
    overload_warning,
    overloads_eccentric,
)
from controller.config import CapsConfig, ConfigError, MachineConfig, ProfileConfig
from controller.config.workout import OVERLOAD_SPACING_DAYS
from controller.core.loop import SafetyEvent
from controller.core.profiles import check_fits_machine
from controller.core.reps import RepMetrics
from controller.runtime.ipc import PendingRequest
from controller.runtime.recorder import RecordingWriter
from controller.wire import StartSet, StartWorkout

# A start waits no longer than this for a store another process holds: the answer must reach the
# dashboard within its request timeout (2 s), as a reason, not as "control process unavailable".
STORE_WAIT_S = 1.0


@dataclass(slots=True)
class BlockOfSets:
    """What a person starts: one profile at one load, its sets; a workout is several in a row."""

    profile: ProfileConfig
    load_kg: float | None
    person: str
    exercise: str
    by: str
    writer: RecordingWriter | None
    record: Path | None = None  # where to record; default: a new file in the recordings folder
    workout: str = ""  # the workout this is a block of, by name
    finished: bool = False
    set_reps: list[list[RepMetrics]] = field(default_factory=list)
    converged_eccentric_kg: float | None = None  # adaptive eccentric: the load the lowerings settled at
    safety_events: list[SafetyEvent] = field(default_factory=list)  # its loop's, once it ended
    # Names this block in everything the machine says about it, so a site that hears a rep twice
    # (a redelivery, a bridge's retry) stores it once: (machine, block, set, rep) is unique.
    uid: str = field(default_factory=lambda: uuid.uuid4().hex)
    caps_note: str = ""  # where the person's caps came from, when the machine has a site to say it


@dataclass(frozen=True, slots=True)
class Plan:
    """What the loop starts: the blocks in order (one for a set), and a warning for the person."""

    pending: PendingRequest
    blocks: tuple[BlockOfSets, ...]
    workout: PlannedWorkout | None
    warning: str
    caps_note: str = ""


@dataclass(frozen=True, slots=True)
class Refusal:
    pending: PendingRequest
    reason: str
    status: int  # as HTTP says it: 404 nothing of that name, 422 out of range, 409 not now


class Admission:
    def __init__(
        self, machine: MachineConfig, store: Path | None, recordings: Path | None, worker: Executor
    ) -> None:
        self.machine = machine
        self.store = store
        self.recordings = recordings
        self._worker = worker
        self._decided: queue.SimpleQueue[Plan | Refusal] = queue.SimpleQueue()
        self.busy = False  # one start at a time is being admitted

    def submit(self, pending: PendingRequest, start: StartSet | None, workout: StartWorkout | None) -> None:
        """From the loop thread: returns at once; the decision comes back through `take`."""
        self.busy = True
        self._worker.submit(self._decide, pending, start, workout)

    def take(self) -> Plan | Refusal | None:
        """From the loop thread, each cycle: the decision, once there is one."""
        try:
            decided = self._decided.get_nowait()
        except queue.Empty:
            return None
        self.busy = False
        return decided

    # -- on the worker thread ----------------------------------------------------------------------
    def _decide(self, pending: PendingRequest, start: StartSet | None, workout: StartWorkout | None) -> None:
        by = pending.request.by
        planned = None
        try:
            if workout is not None:
                planned = build_workout(workout)
                blocks = [
                    self._workout_block(i, b, planned.name, workout.person, by)
                    for i, b in enumerate(planned.blocks)
                ]
                spacing = planned.overload_spacing_days
            elif start is not None:
                profile = requested_profile(start)
                blocks = [self._block(profile, start.person, start.exercise, by)]
                spacing = OVERLOAD_SPACING_DAYS
            else:
                raise SetRequestError(422, "start: give the set to start (start.profile, ...)")
            self._check_recordings()
            warning = self._spacing_warning(blocks, spacing)
        except SetRequestError as exc:
            self._decided.put(Refusal(pending, str(exc), exc.status))
        except (sqlite3.Error, OSError) as exc:
            # Without the person's caps nobody can say what is safe for them: no start.
            reason = f"the session store cannot be read ({exc}): try again"
            self._decided.put(Refusal(pending, reason, 409))
        else:
            note = next((b.caps_note for b in blocks if b.caps_note), "")
            self._decided.put(Plan(pending, tuple(blocks), planned, warning, note))

    def _block(self, profile: ProfileConfig, person: str | None, exercise: str, by: str) -> BlockOfSets:
        """Here, in the one process that owns the drive, whoever asked: no API can skip the caps."""
        person = person or "lifter"  # a request straight to the port may name nobody
        try:
            caps, note = self._caps_for(person)
            profile = with_person_caps(profile, caps)
            check_fits_machine(self.machine, profile, None)
        except (ConfigError, ValueError) as exc:
            raise SetRequestError(422, str(exc)) from None
        return BlockOfSets(profile, None, person, exercise, by, None, caps_note=note)

    def _workout_block(
        self, index: int, planned: PlannedBlock, workout: str, person: str | None, by: str
    ) -> BlockOfSets:
        try:
            block = self._block(planned.profile, person, planned.exercise, by)
        except SetRequestError as exc:
            raise SetRequestError(exc.status, f"workout.blocks.{index} ({planned.label}): {exc}") from None
        block.workout = workout
        return block

    def _check_recordings(self) -> None:
        """Every set is recorded: one that could not be is not started."""
        folder = self.recordings
        if folder is not None and not (folder.is_dir() and os.access(folder, os.W_OK | os.X_OK)):
            reason = f"recordings folder {folder} cannot be written: no set starts until it can"
            raise SetRequestError(409, reason)

    def _caps_for(self, person: str) -> tuple[CapsConfig | None, str]:
        """The person's caps, and what the set must say about where they came from."""
        if self.store is None:
            return None, ""
        store = SqliteSessionStore(self.store, STORE_WAIT_S)
        try:
            clinic = Clinic(store)
            return clinic.caps_for(person), clinic.site_caps_note(person)
        finally:
            store.close()

    def _spacing_warning(self, blocks: list[BlockOfSets], spacing_days: float) -> str:
        """Eccentric overload closer to the last than the spacing. A person on a clinician's
        protocol follows its schedule instead."""
        overloading = [b for b in blocks if overloads_eccentric(b.profile)]
        if not overloading or self.store is None:
            return ""
        store = SqliteSessionStore(self.store, STORE_WAIT_S)
        try:
            person = overloading[0].person
            if Clinic(store).plan_for(person) is not None:
                return ""
            return overload_warning(store.overload_sessions(person), spacing_days, datetime.now(UTC))
        finally:
            store.close()
