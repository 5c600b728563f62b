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
import json
import os
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from controller.config.loader import describe
from controller.core.loop import Frame
from controller.runtime.priority import helper_priority

PROTOCOL_VERSION = 1
MAX_LINE_BYTES = 64 * 1024
FLUSH_EVERY_S = 0.02
CLIENT_BUFFER_LIMIT_BYTES = 1 << 20
MAX_PENDING_REQUESTS = 32


class StartSet(BaseModel):
    model_config = ConfigDict(extra="forbid")

    profile: dict[str, Any]  # a ProfileConfig as a dict: validated by the control process
    load_kg: float | None = Field(None, gt=0, le=500)
    person: str | None = Field(None, min_length=1, max_length=64)
    exercise: str = Field("", max_length=64)


class WorkoutBlock(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: StartSet
    label: str = Field(min_length=1, max_length=100)
    rest_after_s: float = Field(ge=0, le=1800)  # before the next block


class StartWorkout(BaseModel):
    """Blocks run one after the other (controller/workout.py expands a workout into them)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64)
    overload_spacing_days: float = Field(7.0, ge=0, le=60)
    blocks: list[WorkoutBlock] = Field(min_length=1, max_length=80)


class RequestError(ValueError):
    def __init__(self, message: str, request_id: int | None = None) -> None:
        super().__init__(message)
        self.request_id = request_id  # when the line said which request it was, the reply says too


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: int = Field(ge=0, lt=2**53)
    cmd: Literal["estop", "reset", "stop", "start", "workout", "skip_rest", "status"]
    start: StartSet | None = None
    workout: StartWorkout | None = None
    by: str = Field("", max_length=64)  # who asked, for the record


@dataclass(frozen=True, slots=True)
class PendingRequest:
    request: Request
    connection: int


def parse_request(line: bytes) -> Request:
    try:
        data = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RequestError(f"not a JSON object: {exc}") from None
    if not isinstance(data, dict):
        raise RequestError("a request is a JSON object")
    try:
        return Request.model_validate(data)
    except ValidationError as exc:
        request_id = data.get("id")
        known = request_id if isinstance(request_id, int) and not isinstance(request_id, bool) else None
        raise RequestError(describe(exc, Request, "request"), known) from None


def telemetry_message(frames: list[tuple[float, Frame]]) -> dict[str, Any]:
    """Columns of the decimated frames, plus the newest frame's discrete state."""
    last = frames[-1][1]
    return {
        "type": "telemetry",
        "v": PROTOCOL_VERSION,
        "produced": frames[-1][0],  # time.perf_counter() when the newest frame left the loop
        "t": [f.time_s for _, f in frames],
        "position_m": [f.position_m for _, f in frames],
        "velocity_mps": [f.velocity_mps for _, f in frames],
        "tension_n": [f.felt_tension_n for _, f in frames],
        "command_n": [f.command_n for _, f in frames],
        "phase": last.phase,
        "rep": last.rep_index,
        "set_state": last.set_state,
        "flags": last.flags,
    }


def _line(message: dict[str, Any]) -> bytes:
    return json.dumps(message, separators=(",", ":"), allow_nan=False).encode() + b"\n"


class ControlPort:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.requests: queue.Queue[PendingRequest] = queue.Queue(MAX_PENDING_REQUESTS)
        self.dropped_messages = 0  # not delivered to a client that could not keep up
        self.rejected_requests = 0
        self.client_buffer_limit = CLIENT_BUFFER_LIMIT_BYTES
        self._frames: deque[tuple[float, Frame]] = deque(maxlen=256)
        self._events: deque[tuple[int | None, dict[str, Any]]] = deque(maxlen=4096)
        self._clients: dict[int, asyncio.StreamWriter] = {}
        self._ids = itertools.count(1)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="control-port", daemon=True)
        self._server: asyncio.Server | None = None
        self._flusher: asyncio.Task[None] | None = None

    @property
    def client_count(self) -> int:
        return len(self._clients)

    # -- the control thread's side: O(1), never blocks ----------------------------------------------
    def frame(self, frame: Frame) -> None:
        self._frames.append((time.perf_counter(), frame))

    def publish(self, message: dict[str, Any], connection: int | None = None) -> None:
        self._events.append((connection, message))

    def reply(self, pending: PendingRequest, ok: bool, error: str = "", **extra: Any) -> None:
        message = {"type": "reply", "id": pending.request.id, "ok": ok, "error": error, **extra}
        self.publish(message, pending.connection)

    def _run(self) -> None:
        helper_priority()
        self._loop.run_forever()

    # -- lifecycle -----------------------------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._serve(), self._loop).result(timeout=5)

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(timeout=5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
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
            self._write(writer, _line({"type": "reply", "id": None, "ok": False, "error": "line too long"}))
        finally:
            self._clients.pop(connection, None)
            writer.close()

    def _take(self, line: bytes, connection: int, writer: asyncio.StreamWriter) -> None:
        try:
            request = parse_request(line)
        except RequestError as exc:
            self.rejected_requests += 1
            reply = {"type": "reply", "id": exc.request_id, "ok": False, "error": str(exc)}
            self._write(writer, _line(reply))
            return
        try:
            self.requests.put_nowait(PendingRequest(request, connection))
        except queue.Full:
            self.rejected_requests += 1
            error = "busy: too many requests waiting for the control loop"
            self._write(writer, _line({"type": "reply", "id": request.id, "ok": False, "error": error}))

    async def _flush_forever(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_EVERY_S)
            self._flush()

    def _flush(self) -> None:
        frames = [self._frames.popleft() for _ in range(len(self._frames))]
        events = [self._events.popleft() for _ in range(len(self._events))]
        broadcast = [_line(message) for target, message in events if target is None]
        if frames:
            broadcast.append(_line(telemetry_message(frames)))
        for connection, writer in list(self._clients.items()):
            lines = [_line(m) for target, m in events if target == connection] + broadcast
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


class ControlUnavailable(ConnectionError):
    pass


class PortClient:
    """A process outside the loop (dashboard, MQTT bridge): requests with replies, and a stream of
    everything the control process publishes. Reconnects by itself while `run` runs."""

    def __init__(self, path: str | Path, on_message: Callable[[dict[str, Any]], None]) -> None:
        self.path = Path(path)
        self.on_message = on_message
        self.connected = asyncio.Event()
        self._writer: asyncio.StreamWriter | None = None
        self._replies: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._ids = itertools.count(1)

    async def run(self, retry_s: float = 0.5) -> None:
        while True:
            try:
                reader, self._writer = await asyncio.open_unix_connection(str(self.path), limit=1 << 22)
            except OSError:
                await asyncio.sleep(retry_s)
                continue
            self.connected.set()
            try:
                while line := await reader.readline():
                    self._dispatch(json.loads(line))
            except (ConnectionError, ValueError):
                pass
            finally:
                self.connected.clear()
                self._writer.close()
                self._writer = None
                for future in self._replies.values():
                    if not future.done():
                        future.set_exception(ControlUnavailable("the control process went away"))
                self._replies.clear()
            await asyncio.sleep(retry_s)

    def _dispatch(self, message: dict[str, Any]) -> None:
        if message.get("type") == "reply" and message.get("id") in self._replies:
            future = self._replies.pop(message["id"])
            if not future.done():
                future.set_result(message)
            return
        self.on_message(message)

    async def request(self, cmd: str, timeout_s: float = 2.0, **fields: Any) -> dict[str, Any]:
        if self._writer is None:
            raise ControlUnavailable("the control process is not reachable")
        request_id = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._replies[request_id] = future
        self._writer.write(_line({"id": request_id, "cmd": cmd, **fields}))
        try:
            return await asyncio.wait_for(future, timeout_s)
        except TimeoutError:
            raise ControlUnavailable(f"no reply to {cmd!r} within {timeout_s} s") from None
        finally:
            self._replies.pop(request_id, None)
