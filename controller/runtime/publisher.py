"""What a running loop says to the outside, put into the control port: frames decimated to
TELEMETRY_HZ, each rep with its tempo cue, each set's summary once it is over, and safety events.
The control service and a simulated set with a bridge (simulate --mqtt) both publish through it."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from controller.config.profile import TempoConfig
from controller.core.loop import ControlLoop, Frame
from controller.core.reps import RepMetrics
from controller.core.set_lifecycle import SetState
from controller.core.set_summary import summarise_set
from controller.core.tempo import tempo_feedback
from controller.runtime.ipc import ControlPort
from controller.units import newtons_to_kg

TELEMETRY_HZ = 100.0
SET_OVER = (SetState.RESTING, SetState.DONE, SetState.STOPPED)


class LoopPublisher:
    def __init__(self, port: ControlPort, rate_hz: float) -> None:
        self.port = port
        self._decimate = max(1, round(rate_hz / TELEMETRY_HZ))
        self._frames = 0
        self._events_sent = 0
        self._loop: ControlLoop | None = None
        self._tempo: TempoConfig | None = None
        self._person: str | None = None
        self._block = ""  # the uid of the block of sets the loop runs ("" at standby)
        self._set_over = False  # the summary goes out as the set ends, once

    def attach(
        self, loop: ControlLoop, tempo: TempoConfig | None, person: str | None = None, block: str = ""
    ) -> None:
        """`person`: whose set the loop runs; its frames stay theirs until the next loop (the
        machine coming to rest after their set, an e-stop's tension falling). `block`: the uid its
        reps, summaries and safety events carry."""
        self._loop, self._tempo, self._person, self._block = loop, tempo, person, block
        self._events_sent, self._set_over = 0, False
        loop.observers.on_frame.append(self._on_frame)
        loop.observers.on_rep.append(self._on_rep)

    def publish_events(self) -> None:
        """New safety events of the attached loop, and the summary of a set just over; once per
        cycle, outside step()."""
        if self._loop is None:
            return
        events = self._loop.safety_events
        while self._events_sent < len(events):
            self.port.publish({"type": "safety", "block": self._block, **asdict(events[self._events_sent])})
            self._events_sent += 1
        self._publish_set_over(self._loop)

    def _publish_set_over(self, loop: ControlLoop) -> None:
        lifecycle = loop.lifecycle
        was_over, self._set_over = self._set_over, lifecycle.state in SET_OVER
        if was_over or not self._set_over:
            return
        load_kg = newtons_to_kg(lifecycle.profile.base_n)
        summary = summarise_set(lifecycle.tracker.completed, load_kg)
        if summary is not None:
            sets = lifecycle.profile.config.sets
            self.port.publish(
                {
                    "type": "set_done",
                    "block": self._block,
                    "set": lifecycle.set_index,
                    "sets": sets,
                    **asdict(summary),
                }
            )

    def _on_frame(self, frame: Frame) -> None:
        self._frames += 1
        if self._frames % self._decimate == 0:
            self.port.frame(frame, self._person)

    def _on_rep(self, rep: RepMetrics) -> None:
        set_index = self._loop.lifecycle.set_index if self._loop is not None else 1
        message: dict[str, Any] = {
            "type": "rep",
            "block": self._block,
            "person": self._person,
            "set": set_index,
            **asdict(rep),
        }
        if self._tempo is not None:
            feedback = tempo_feedback(rep, self._tempo)
            message["tempo"] = {"cue": feedback.cue, **asdict(feedback)}
        self.port.publish(message)
