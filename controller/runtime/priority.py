"""Give the control thread the CPU first, as far as the operating system lets us.

On a small computer the dashboard, a browser or a bridge compete with the loop for two cores; a
cycle that starts 10 ms late under load is a fault. We ask for SCHED_FIFO for the loop's thread
(root or CAP_SYS_NICE; the kernel's RT throttling still leaves 5 % to everyone else), else a
lower nice value, else nothing -- and say which. The GIL's switch interval is shortened so another
thread of this process holds the interpreter for at most half a millisecond when the loop wants it.
"""

from __future__ import annotations

import contextlib
import os
import struct
import sys
from typing import BinaryIO

FIFO_PRIORITY = 50
HELPER_PRIORITY = 10
SWITCH_INTERVAL_S = 0.0005


def loop_cpu() -> int | None:
    """The core kept for the control thread: the last one, when there are at least two."""
    cpus = sorted(os.sched_getaffinity(0))
    return cpus[-1] if len(cpus) >= 2 else None


def other_cpus() -> set[int]:
    """Where everything else of ours runs (the dashboard, the bridge)."""
    cpus = set(os.sched_getaffinity(0))
    keep = loop_cpu()
    return cpus - {keep} if keep is not None else cpus


_LATENCY_REQUEST: list[BinaryIO] = []  # the request holds while the file stays open


def keep_cpus_awake() -> bool:
    """Ask the kernel (PM QoS) to keep CPUs out of idle states that take long to leave: a sleeping
    core wakes the loop late. Root only; released when the process exits."""
    if _LATENCY_REQUEST:
        return True
    try:
        request = open("/dev/cpu_dma_latency", "wb", buffering=0)  # noqa: SIM115 -- kept open on purpose
        request.write(struct.pack("i", 0))
    except OSError:
        return False
    _LATENCY_REQUEST.append(request)
    return True


def prefer_control_thread() -> str:
    """Call from the thread that runs the loop; returns what was granted, for the log."""
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    keep_cpus_awake()
    with contextlib.suppress(OSError, AttributeError):
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(FIFO_PRIORITY))
        return f"real-time scheduling (SCHED_FIFO {FIFO_PRIORITY})"
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, 0, -10)  # on Linux, 0 here is this thread
        return "raised priority (nice -10)"
    return "normal priority (no permission to raise it)"


def helper_priority() -> None:
    """For the control process's other threads (port, recorder, store writer). They share the GIL
    with the loop: one of them preempted while holding it, behind a browser's threads, stalls the
    loop for as long as the OS makes it wait (19 ms seen). So they too run ahead of everything
    else on the machine, below the loop. Their work per wake-up is small and bounded."""
    with contextlib.suppress(OSError, AttributeError):
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(HELPER_PRIORITY))
        return
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, 0, -10)
