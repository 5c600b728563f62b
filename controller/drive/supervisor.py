"""What a fault on the link means for the loop.

A lone timeout, garbled reply or exception response is counted and the cycle runs without fresh
feedback (the SafetyGate's stale watchdog covers a run of them). Three in a row, a lost link or a
drive alarm is a fault: the loop latches a stop and keeps the cause. A link that is down (lost, or
three failures in a row) is not polled each cycle; we try to reconnect every half second, and the
load comes back only through reset at rest and a new set start.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass

from controller.drive.base import Drive, DriveAlarm, DriveFault, DriveFeedback, DriveLinkLost

MAX_CONSECUTIVE_FAILURES = 3
RECONNECT_EVERY_S = 0.5


@dataclass(slots=True)
class LinkCounters:
    transient: int = 0
    consecutive: int = 0
    reconnects: int = 0


class DriveSupervisor:
    def __init__(self, drive: Drive, on_fault: Callable[[float, str, str], None]) -> None:
        self.drive = drive
        self.counters = LinkCounters()
        self.link_up = True
        self._on_fault = on_fault
        self._next_reconnect_s = 0.0

    async def read(self, now_s: float) -> DriveFeedback | None:
        if not self.link_up:
            await self._reconnect(now_s)
            return None
        try:
            feedback = await self.drive.read()
        except DriveFault as fault:
            self._failed(now_s, fault)
            return None
        self.counters.consecutive = 0
        return feedback

    async def write(self, now_s: float, torque_nm: float) -> None:
        if not self.link_up:
            return
        try:
            await self.drive.write(torque_nm)
        except DriveFault as fault:
            self._failed(now_s, fault)

    def _failed(self, now_s: float, fault: DriveFault) -> None:
        if isinstance(fault, DriveAlarm):
            self._on_fault(now_s, "drive_alarm", fault.text)
            return
        if isinstance(fault, DriveLinkLost):
            self.link_up = False
            self._next_reconnect_s = now_s + RECONNECT_EVERY_S
            self._on_fault(now_s, "drive_link_lost", str(fault))
            return
        self.counters.transient += 1
        self.counters.consecutive += 1
        if self.counters.consecutive >= MAX_CONSECUTIVE_FAILURES:
            # A drive that stopped answering is treated as gone: polling it every cycle would stall
            # the loop for a timeout each period.
            self.link_up = False
            self._next_reconnect_s = now_s + RECONNECT_EVERY_S
            self._on_fault(
                now_s, "drive_fault", f"{self.counters.consecutive} failed exchanges in a row: {fault}"
            )

    async def _reconnect(self, now_s: float) -> None:
        if now_s < self._next_reconnect_s:
            return
        self._next_reconnect_s = now_s + RECONNECT_EVERY_S
        with contextlib.suppress(DriveFault):
            await self.drive.close()
        try:
            await self.drive.connect()
        except DriveFault:
            return
        self.link_up = True
        self.counters.consecutive = 0
        self.counters.reconnects += 1
