"""What the bridge sends, in order of how much it matters, and how much junk it answers.

A storm of malformed commands must not delay the answer to a signed e-stop: answers to commands that
reached the machine, and safety faults, go out ahead of everything else; refusals of what could not
even be verified are answered at a bounded rate, the rest counted.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass

REFUSALS_PER_S = 5.0
REFUSAL_BURST = 20


@dataclass(frozen=True, slots=True)
class Outgoing:
    topic: str
    payload: bytes
    qos: int
    retain: bool = False


class Outbox:
    """Two bounded lanes, urgent first; a full lane loses its oldest message, counted."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.urgent: deque[Outgoing] = deque()
        self.items: deque[Outgoing] = deque()
        self.dropped = 0
        self.ready = asyncio.Event()

    def put(self, item: Outgoing, urgent: bool = False) -> None:
        lane = self.urgent if urgent else self.items
        if len(lane) >= self.size:
            lane.popleft()
            self.dropped += 1
        lane.append(item)
        self.ready.set()

    def __bool__(self) -> bool:
        return bool(self.urgent or self.items)

    def next_lane(self) -> deque[Outgoing]:
        return self.urgent if self.urgent else self.items


class RefusalBudget:
    """A token bucket: REFUSAL_BURST answers at once, then REFUSALS_PER_S."""

    def __init__(self) -> None:
        self.tokens = float(REFUSAL_BURST)
        self.last = time.monotonic()
        self.unanswered = 0

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(float(REFUSAL_BURST), self.tokens + (now - self.last) * REFUSALS_PER_S)
        self.last = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        self.unanswered += 1
        return False
