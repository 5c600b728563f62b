"""Filing a finished block, on the service's worker thread: close its recording, store its sets as
one session, say it is done. A store that cannot be written (locked by another process, a full
disk) does not lose the set: the block is kept, said at once (a `store_failed` safety message
naming its recording), and filed again every RETRY_S until it lands."""

from __future__ import annotations

import logging
import sqlite3
from concurrent.futures import Executor
from pathlib import Path

from controller.app.store import SqliteSessionStore
from controller.app.workout import overloads_eccentric
from controller.config import MachineConfig
from controller.core.loop import SafetyEvent
from controller.runtime.admission import STORE_WAIT_S, BlockOfSets
from controller.runtime.ipc import ControlPort
from controller.timing import Clock

RETRY_S = 10.0
log = logging.getLogger(__name__)


class BlockFiler:
    def __init__(
        self, machine: MachineConfig, store: Path | None, port: ControlPort, clock: Clock, worker: Executor
    ) -> None:
        self.machine = machine
        self.store = store
        self.port = port
        self.clock = clock
        self._worker = worker
        self._unfiled: list[tuple[BlockOfSets, str | None]] = []  # the worker thread's alone
        self.waiting = 0  # blocks not stored yet (read by the loop's thread)
        self._next_retry_s = 0.0

    def file(self, block: BlockOfSets) -> None:
        """From the loop's thread: returns at once."""
        self._worker.submit(self._close_and_store, block)

    def retry_if_due(self, now_s: float) -> None:
        """From the loop's thread, each cycle: a time comparison, and a hand-over when due."""
        if self.waiting and now_s >= self._next_retry_s:
            self._next_retry_s = now_s + RETRY_S
            self._worker.submit(self.retry)

    def retry(self) -> None:
        """On the worker thread (also once more as the service stops)."""
        unfiled, self._unfiled = self._unfiled, []
        for block, recording in unfiled:
            self._store(block, recording)
        self.waiting = len(self._unfiled)
        for block, recording in self._unfiled:
            log.error("set by %s not stored: its recording %s is kept", block.person, recording)

    def _close_and_store(self, block: BlockOfSets) -> None:
        recording = None
        if block.writer is not None:
            block.writer.close()
            recording = str(block.writer.path) if block.writer.frames_written else None
            trouble = block.writer.trouble()
            if trouble is not None:
                kind, detail = trouble
                self.port.publish({"type": "safety", "kind": kind, "detail": detail})
                block.safety_events.append(SafetyEvent(self.clock.now(), kind, _reps(block), detail))
        self._store(block, recording)
        self.waiting = len(self._unfiled)

    def _store(self, block: BlockOfSets, recording: str | None) -> None:
        session_id = None
        load = block.load_kg if block.load_kg is not None else block.profile.load_kg
        if self.store is not None and any(block.set_reps):
            overload = overloads_eccentric(block.profile)
            sets = [(block.profile.name, load, reps, overload, block.exercise) for reps in block.set_reps]
            try:
                store = SqliteSessionStore(self.store, STORE_WAIT_S)
                try:
                    notes = [block.caps_note] if block.caps_note else []
                    session_id = store.add_block(
                        block.person, self.machine.name, recording, sets, block.workout, notes
                    )
                finally:
                    store.close()
            except (sqlite3.Error, OSError) as exc:
                self._unfiled.append((block, recording))
                detail = (
                    f"the set of {_reps(block)} reps by {block.person} is not stored yet ({exc}); "
                    f"its recording {recording or '(none)'} is kept; trying again every {RETRY_S:.0f} s"
                )
                self.port.publish({"type": "safety", "kind": "store_failed", "detail": detail})
                log.warning(detail)
                return
        self.port.publish(
            {
                "type": "block_done",
                "block": block.uid,
                "session": session_id,
                "recording": recording,
                "reps": _reps(block),
                "profile": block.profile.name,
                "exercise": block.exercise,
                "person": block.person,
                "load_kg": load,
                "converged_eccentric_kg": block.converged_eccentric_kg,
            }
        )


def _reps(block: BlockOfSets) -> int:
    return sum(len(r) for r in block.set_reps)
