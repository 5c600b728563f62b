"""The dashboard's side of the control port: the latest status, the current block's reps, and a
fan-out of everything to the browsers, each behind its own bounded queue (a stuck browser loses
its own oldest messages, counted, and slows nobody else), each seeing what dashboard/views.py lets
its viewer see of whose set it is."""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path
from typing import Any

from controller.wire import PortClient
from dashboard.auth import User
from dashboard.views import for_others, sees_everything, view

CLIENT_QUEUE = 256
RECENT_EVENTS = 50


class Subscriber:
    def __init__(self, viewer: User) -> None:
        self.viewer = viewer
        self.queue: asyncio.Queue[str] = asyncio.Queue(CLIENT_QUEUE)
        self.dropped = 0

    def offer(self, text: str) -> None:
        if self.queue.full():
            self.queue.get_nowait()
            self.dropped += 1
        self.queue.put_nowait(text)


class Hub:
    def __init__(self, control_socket: Path) -> None:
        self.client = PortClient(control_socket, self._receive)
        self.status: dict[str, Any] | None = None
        self.person: str | None = None  # whose set is on the machine now
        self.reps: list[dict[str, Any]] = []
        self.reps_person: str | None = None  # whose set those reps are
        self.events: list[tuple[str | None, dict[str, Any]]] = []  # (whose, event)
        self.subscribers: set[Subscriber] = set()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self.client.run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    @property
    def connected(self) -> bool:
        return self.client.connected.is_set()

    def seen_by(self, viewer: User) -> dict[str, Any]:
        """The latest status, the set's reps and the recent events, as this viewer may see them."""
        status = None if self.status is None else view(self.status, viewer, self.person)
        reps = self.reps if sees_everything(viewer, self.reps_person) else []
        events = [seen for whose, e in self.events if (seen := view(e, viewer, whose)) is not None]
        return {"status": status, "reps": reps, "events": events}

    def snapshot(self, viewer: User) -> list[str]:
        """What a browser that just connected needs before the live stream."""
        seen = self.seen_by(viewer)
        messages = ([seen["status"]] if seen["status"] is not None else []) + seen["reps"] + seen["events"]
        return [json.dumps(m) for m in messages]

    def _receive(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "status":
            self.status = message
            self.person = message.get("person")
        elif kind == "set_started":
            self.person = self.reps_person = message.get("person")
            self.reps = []
        # A block's end and the telemetry name their person; a status in between says only who is on now.
        whose = message.get("person") if kind in ("block_done", "telemetry") else self.person
        if kind in ("rep", "set_done"):
            self.reps.append(message)
        elif kind in ("safety", "block_done", "warning", "workout"):
            self.events = [*self.events, (whose, message)][-RECENT_EVENTS:]
        self._fan_out(message, whose)

    def _fan_out(self, message: dict[str, Any], whose: str | None) -> None:
        full = json.dumps(message)  # encoded once for every browser that sees it whole
        others: str | None = None
        for subscriber in self.subscribers:
            if sees_everything(subscriber.viewer, whose):
                subscriber.offer(full)
                continue
            if others is None:
                redacted = for_others(message)
                others = "" if redacted is None else json.dumps(redacted)
            if others:
                subscriber.offer(others)
