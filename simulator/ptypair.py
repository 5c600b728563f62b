"""A virtual serial cable: two pseudo-terminals whose traffic is copied across, so a drive server
and a client can talk RTU or a line protocol with no hardware (what `socat pty pty` does). A pty
ignores baud rate: timing over it is Python's, not the wire's."""

from __future__ import annotations

import os
import select
import threading
import tty


class PtyPair:
    def __init__(self) -> None:
        self._masters: list[int] = []
        self._slaves: list[int] = []  # kept open so the far end never sees a hang-up
        self.paths: list[str] = []
        for _ in range(2):
            master, slave = os.openpty()
            tty.setraw(master)
            tty.setraw(slave)
            self._masters.append(master)
            self.paths.append(os.ttyname(slave))
            self._slaves.append(slave)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._forward, name="pty-pair", daemon=True)
        self._thread.start()

    @property
    def server_path(self) -> str:
        return self.paths[0]

    @property
    def client_path(self) -> str:
        return self.paths[1]

    def _forward(self) -> None:
        a, b = self._masters
        peer = {a: b, b: a}
        while not self._stop.is_set():
            ready, _, _ = select.select([a, b], [], [], 0.05)
            for fd in ready:
                try:
                    data = os.read(fd, 4096)
                except OSError:
                    continue
                if data:
                    os.write(peer[fd], data)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        for fd in self._masters + self._slaves:
            os.close(fd)

    def __enter__(self) -> PtyPair:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
