"""The dashboard's side of the control port: the latest status, the current block's reps, and a
fan-out of everything to the browsers, each behind its own bounded queue (a stuck browser loses
its own oldest messages, counted, and slows nobody else)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path
from typing import Any

from controller.wire import PortClient

CLIENT_QUEUE = 256
RECENT_EVENTS = 50


class Subscriber:
    def __init__(self) -> None:
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
        self.reps: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
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

    def snapshot(self) -> list[str]:
        """What a browser that just connected needs before the live stream."""
        messages: list[dict[str, Any]] = []
        if self.status is not None:
            messages.append(self.status)
        messages += self.reps + self.events
        return [json.dumps(m) for m in messages]

    def _receive(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "status":
            self.status = message
        elif kind == "set_started":
            self.reps = []
        elif kind == "rep":
            self.reps.append(message)
        elif kind in ("safety", "block_done", "warning", "workout"):
            self.events = ([*self.events, message])[-RECENT_EVENTS:]
        text = json.dumps(message)  # encoded once for every browser
        for subscriber in self.subscribers:
            subscriber.offer(text)
