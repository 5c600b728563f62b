"""The control process's one door to the outside: requests in, telemetry out, on a Unix socket.

The control thread never touches a socket. It appends frames and events to bounded deques and
takes at most a few requests per cycle from a bounded queue. A thread of its own serves the socket,
encodes JSON and drops (and counts) what a slow client cannot take, so no client -- a dashboard
with a stuck browser, an MQTT bridge with a dead broker -- can delay a torque command.

Wire format: one JSON object per line, both ways. The socket is created mode 0600: only the user
who runs the machine can command it. Authentication of people happens in the dashboard and the
bridge, which are that user's processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import queue
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from controller.core.loop import Frame
from controller.runtime.priority import helper_priority
from controller.wire import MAX_LINE_BYTES, PROTOCOL_VERSION, Request, RequestError, json_line, parse_request

FLUSH_EVERY_S = 0.02
CLIENT_BUFFER_LIMIT_BYTES = 1 << 20
MAX_PENDING_REQUESTS = 32


@dataclass(frozen=True, slots=True)
class PendingRequest:
    request: Request
    connection: int


@dataclass(frozen=True, slots=True)
class SentFrame:
    produced: float  # time.perf_counter() when the frame left the loop
    frame: Frame
    person: str | None  # whose set the frame is part of (None: nobody's)


def telemetry_message(frames: list[SentFrame]) -> dict[str, Any]:
    """Columns of the decimated frames (all of one person's), plus the newest frame's discrete
    state. The message names whose frames they are: the dashboard shows a set's forces to its
    person and the supervisors only, and a status that comes between (the set has ended) must not
    decide whose frames from before it were."""
    last = frames[-1].frame
    return {
        "type": "telemetry",
        "v": PROTOCOL_VERSION,
        "person": frames[-1].person,
        "produced": frames[-1].produced,
        "t": [s.frame.time_s for s in frames],
        "position_m": [s.frame.position_m for s in frames],
        "velocity_mps": [s.frame.velocity_mps for s in frames],
        "tension_n": [s.frame.felt_tension_n for s in frames],
        "command_n": [s.frame.command_n for s in frames],
        "phase": last.phase,
        "rep": last.rep_index,
        "set_state": last.set_state,
        "flags": last.flags,
    }


class ControlPort:
    """`path` None: a port nobody can reach (a simulation's). What is published is kept in the
    bounded deques and dropped, at the same cost to the loop as a served port."""

    def __init__(self, path: str | Path | None) -> None:
        self._path = None if path is None else Path(path)
        self.requests: queue.Queue[PendingRequest] = queue.Queue(MAX_PENDING_REQUESTS)
        self.dropped_messages = 0  # not delivered to a client that could not keep up
        self.rejected_requests = 0
        self.client_buffer_limit = CLIENT_BUFFER_LIMIT_BYTES
        self._frames: deque[SentFrame] = deque(maxlen=256)
        self._events: deque[tuple[int | None, dict[str, Any]]] = deque(maxlen=4096)
        self._clients: dict[int, asyncio.StreamWriter] = {}
        self._ids = itertools.count(1)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._run, name="control-port", daemon=True)
        self._server: asyncio.Server | None = None
        self._flusher: asyncio.Task[None] | None = None

    @property
    def path(self) -> Path:
        if self._path is None:
            raise RuntimeError("this control port serves no socket")
        return self._path

    @property
    def client_count(self) -> int:
        return len(self._clients)

    # -- the control thread's side: O(1), never blocks ----------------------------------------------
    def frame(self, frame: Frame, person: str | None = None) -> None:
        self._frames.append(SentFrame(time.perf_counter(), frame, person))

    def publish(self, message: dict[str, Any], connection: int | None = None) -> None:
        self._events.append((connection, message))

    def reply(self, pending: PendingRequest, ok: bool, error: str = "", **extra: Any) -> None:
        """The answer goes out now, not at the next flush: an e-stop's sender waits on it. Waking the
        port thread is a byte on its self-pipe, as O(1) and non-blocking as the rest of this side."""
        message = {"type": "reply", "id": pending.request.id, "ok": ok, "error": error, **extra}
        self.publish(message, pending.connection)
        if self._loop is not None:
            with contextlib.suppress(RuntimeError):  # the port has stopped: nobody is left to tell
                self._loop.call_soon_threadsafe(self._flush)

    def _run(self) -> None:
        helper_priority()
        assert self._loop is not None
        self._loop.run_forever()

    # -- lifecycle -----------------------------------------------------------------------------------
    def start(self) -> None:
        """Serve the socket (once: a second start is a no-op)."""
        if self._path is None or self._loop is not None:
            return
        self._loop = asyncio.new_event_loop()
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._serve(), self._loop).result(timeout=5)

    def stop(self) -> None:
        if self._loop is None or not self._thread.is_alive():
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(timeout=5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        if not self._thread.is_alive():
            self._loop.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    # -- the port thread ---------------------------------------------------------------------------
    async def _serve(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()  # left by a killed process; we own this path
        old_mask = os.umask(0o177)
        try:
            self._server = await asyncio.start_unix_server(
                self._serve_client, path=str(self.path), limit=MAX_LINE_BYTES
            )
        finally:
            os.umask(old_mask)
        self._flusher = asyncio.create_task(self._flush_forever())

    async def _shutdown(self) -> None:
        if self._flusher is not None:
            self._flusher.cancel()
        self._flush()  # the last events (a block's end) still go out
        for writer in list(self._clients.values()):
            with contextlib.suppress(ConnectionError, TimeoutError):
                await asyncio.wait_for(writer.drain(), 1.0)
        if self._server is not None:
            self._server.close()
        for writer in list(self._clients.values()):
            writer.close()

    async def _serve_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connection = next(self._ids)
        self._clients[connection] = writer
        try:
            while line := await reader.readline():
                self._take(line, connection, writer)
        except (ValueError, ConnectionError):
            # ValueError: a line past MAX_LINE_BYTES; the stream cannot be resynchronised
            self._write(
                writer, json_line({"type": "reply", "id": None, "ok": False, "error": "line too long"})
            )
        finally:
            self._clients.pop(connection, None)
            writer.close()

    def _take(self, line: bytes, connection: int, writer: asyncio.StreamWriter) -> None:
        try:
            request = parse_request(line)
        except RequestError as exc:
            self.rejected_requests += 1
            reply = {"type": "reply", "id": exc.request_id, "ok": False, "error": str(exc), "status": 422}
            self._write(writer, json_line(reply))
            return
        try:
            self.requests.put_nowait(PendingRequest(request, connection))
        except queue.Full:
            self.rejected_requests += 1
            error = "busy: too many requests waiting for the control loop"
            busy = {"type": "reply", "id": request.id, "ok": False, "error": error, "status": 503}
            self._write(writer, json_line(busy))

    async def _flush_forever(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_EVERY_S)
            self._flush()

    def _flush(self) -> None:
        frames = [self._frames.popleft() for _ in range(len(self._frames))]
        events = [self._events.popleft() for _ in range(len(self._events))]
        broadcast = [json_line(message) for target, message in events if target is None]
        for _, same_person in itertools.groupby(frames, key=lambda sent: sent.person):
            broadcast.append(json_line(telemetry_message(list(same_person))))
        for connection, writer in list(self._clients.items()):
            lines = [json_line(m) for target, m in events if target == connection] + broadcast
            if lines:
                self._send(writer, b"".join(lines), len(lines))

    def _send(self, writer: asyncio.StreamWriter, data: bytes, messages: int) -> None:
        if writer.transport.get_write_buffer_size() > self.client_buffer_limit:
            self.dropped_messages += messages
            return
        self._write(writer, data)

    @staticmethod
    def _write(writer: asyncio.StreamWriter, data: bytes) -> None:
        if not writer.is_closing():
            writer.write(data)
