"""The control port's wire: what a dashboard or a bridge may send, and the client that sends it.

A leaf: it knows the request schema and JSON lines, nothing of the control core, so the processes
at the edge import it without pulling in the loop. A start travels as the person asked for it -- a
shipped profile's name and today's changes -- and is resolved and validated once, in the control
process (controller/runtime/admission.py). The edge only decides who may ask for what.

Wire format: one JSON object per line, both ways.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from controller.config import CapsConfig
from controller.config.loader import describe
from controller.config.profile import TempoConfig
from controller.units import POUND_KG

PROTOCOL_VERSION = 1
MAX_LINE_BYTES = 64 * 1024

NAME_PATTERN = r"^[A-Za-z0-9_.@ -]+$"  # a person's or an account's: it goes into MQTT topics too
Name = Annotated[str, Field(min_length=1, max_length=64, pattern=NAME_PATTERN)]
FileName = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9-]+$")]


class StartSet(BaseModel):
    """A set as asked for: a shipped profile (or a whole one: a clinician's plan, a warm-up) and
    what may be changed for today."""

    model_config = ConfigDict(extra="forbid")
    profile: FileName | dict[str, Any] = Field(description="a shipped profile's name, or a whole profile")
    load: float | None = Field(None, gt=0, le=1100, description="in `unit`; default: the profile's")
    unit: Literal["kg", "lb"] = "kg"
    eccentric_pct: float | None = Field(None, ge=0, le=100)
    inertia_kgm2: float | None = Field(None, ge=0.005, le=0.3)  # a flywheel's disc
    reps: int | None = Field(None, ge=1, le=100, strict=True)  # strict: `true` is not one rep
    sets: int | None = Field(None, ge=1, le=20, strict=True)
    rest_s: float | None = Field(None, ge=0, le=1800)
    tempo: TempoConfig | None = None
    exercise: str = Field("", max_length=64)
    person: Name | None = Field(None, description="whose set (clinicians); default: who asks")
    caps: CapsConfig | None = Field(None, description="clinicians and admins only")

    @model_validator(mode="after")
    def _load_step(self) -> StartSet:
        """Loads go in 0.5 kg or 1 lb steps, as on the plates a clinic counts in."""
        step = 1.0 if self.unit == "lb" else 0.5
        if self.load is not None and abs(self.load / step - round(self.load / step)) > 1e-6:
            raise ValueError(f"load = {self.load}: in {self.unit}, loads go in steps of {step:g}")
        return self

    @property
    def load_kg(self) -> float | None:
        return None if self.load is None else self.load * (POUND_KG if self.unit == "lb" else 1.0)


class StartWorkout(BaseModel):
    """A workout (a shipped one's name, or a whole one), with today's working load per step if it
    differs from the workout's."""

    model_config = ConfigDict(extra="forbid")
    workout: FileName | dict[str, Any]
    loads: list[Annotated[float, Field(gt=0, le=1100)] | None] | None = Field(
        None, max_length=20, description="per step, in `unit`"
    )
    unit: Literal["kg", "lb"] = "kg"
    person: Name | None = None


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


class TooDeep(ValueError):
    pass


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def strict_json(text: bytes | str) -> Any:
    """JSON as RFC 8259 has it: no NaN or Infinity (Python's json takes them by default, and
    nothing downstream does), and a nesting too deep for the stack is a ValueError like any other
    malformed input, not a RecursionError that escapes the handler."""
    try:
        return json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        raise TooDeep("nested too deeply") from None


def parse_request(line: bytes) -> Request:
    try:
        data = strict_json(line)
    except ValueError as exc:
        raise RequestError(f"not a JSON object: {exc}") from None
    if not isinstance(data, dict):
        raise RequestError("a request is a JSON object")
    try:
        return Request.model_validate(data)
    except ValidationError as exc:
        request_id = data.get("id")
        known = request_id if isinstance(request_id, int) and not isinstance(request_id, bool) else None
        raise RequestError(describe(exc, Request, "request"), known) from None


def json_line(message: dict[str, Any]) -> bytes:
    return json.dumps(message, separators=(",", ":"), allow_nan=False).encode() + b"\n"


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
        self._writer.write(json_line({"id": request_id, "cmd": cmd, **fields}))
        try:
            return await asyncio.wait_for(future, timeout_s)
        except TimeoutError:
            raise ControlUnavailable(f"no reply to {cmd!r} within {timeout_s} s") from None
        finally:
            self._replies.pop(request_id, None)
