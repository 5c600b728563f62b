"""What a fault on the link or in the feedback means for the loop.

A lone timeout, garbled reply or exception response is counted and the cycle runs without fresh
feedback (the SafetyGate's stale watchdog covers a run of them). Three in a row, a lost link, a
drive alarm or a reading that cannot be true (plausibility.py) is a fault: the loop latches a stop
and keeps the cause, and the drive is disabled at once -- zero torque alone would leave a power
stage live behind a latch that only software holds. A link that is down (lost, or three failures in
a row) is not polled each cycle; we try to reconnect every half second, and a reconnected drive is
disabled again until the stop is reset at rest (`rearm`).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

from controller.config import MachineConfig
from controller.drive.base import Drive, DriveAlarm, DriveFault, DriveFeedback, DriveLinkLost
from controller.drive.plausibility import FeedbackCheck

MAX_CONSECUTIVE_FAILURES = 3
RECONNECT_EVERY_S = 0.5

log = logging.getLogger("eccentrix.drive")


@dataclass(slots=True)
class LinkCounters:
    transient: int = 0
    consecutive: int = 0
    reconnects: int = 0


class DriveSupervisor:
    def __init__(
        self, drive: Drive, machine: MachineConfig, on_fault: Callable[[float, str, str], None]
    ) -> None:
        self.drive = drive
        self.counters = LinkCounters()
        self.link_up = True
        self.armed = True  # False: disabled after a fault, until the stop is reset at rest
        self.check = FeedbackCheck(machine, drive.sources)
        self._on_fault = on_fault
        self._next_reconnect_s = 0.0

    async def read(self, now_s: float) -> DriveFeedback | None:
        if not self.link_up:
            await self._reconnect(now_s)
            return None
        try:
            feedback = await self.drive.read()
        except DriveFault as fault:
            await self._failed(now_s, fault)
            return None
        self.counters.consecutive = 0
        problem = self.check.problem(feedback)
        if problem is not None:
            await self._fault(now_s, "drive_implausible", problem)
            return None
        return feedback

    async def write(self, now_s: float, torque_nm: float) -> None:
        if not (self.link_up and self.armed):
            return
        try:
            await self.drive.write(torque_nm)
        except DriveFault as fault:
            await self._failed(now_s, fault)

    async def rearm(self, now_s: float) -> bool:
        """After the stop was reset at rest: enable the drive again (a fresh connect, which writes
        zero torque before the enable sequence). False while the drive cannot be enabled; tried
        again every RECONNECT_EVERY_S, not every cycle (each try may take a second)."""
        if self.armed or not self.link_up or now_s < self._next_reconnect_s:
            return self.armed
        self._next_reconnect_s = now_s + RECONNECT_EVERY_S
        with contextlib.suppress(DriveFault):
            await self.drive.close()
        try:
            await self.drive.connect()
        except DriveFault as fault:
            log.warning("drive not re-enabled: %s", fault)
            return False
        self.armed = True
        self.check.reset()
        return True

    async def _fault(self, now_s: float, kind: str, detail: str) -> None:
        if not self.armed:
            return  # one fault per arming, not one per cycle it stands: the drive is off already
        self._on_fault(now_s, kind, detail)
        log.error("%s: %s", kind, detail)
        self.armed = False
        await self.drive.disable()

    async def _failed(self, now_s: float, fault: DriveFault) -> None:
        if isinstance(fault, DriveAlarm):
            await self._fault(now_s, "drive_alarm", fault.text)
            return
        if isinstance(fault, DriveLinkLost):
            self._link_down(now_s)
            await self._fault(now_s, "drive_link_lost", str(fault))
            return
        self.counters.transient += 1
        self.counters.consecutive += 1
        if self.counters.consecutive >= MAX_CONSECUTIVE_FAILURES:
            # A drive that stopped answering is treated as gone: polling it every cycle would stall
            # the loop for a timeout each period.
            self._link_down(now_s)
            detail = f"{self.counters.consecutive} failed exchanges in a row: {fault}"
            await self._fault(now_s, "drive_fault", detail)

    def _link_down(self, now_s: float) -> None:
        self.link_up = False
        self._next_reconnect_s = now_s + RECONNECT_EVERY_S

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
        self.check.reset()
        if not self.armed:
            await self.drive.disable()  # back, but off until the stop is reset at rest
