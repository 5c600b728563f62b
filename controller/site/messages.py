"""What a site accepts from a machine's topics, checked before anything is stored: a message that
does not fit is refused with the field and the allowed range, and stored nowhere."""

from __future__ import annotations

import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from controller.config.loader import describe
from controller.config.mqtt import MACHINE_ID
from controller.core.reps import RepMetrics
from controller.wire import strict_json

ID = r"^[A-Za-z0-9_-]{1,64}$"
REP_METRICS = TypeAdapter(RepMetrics)
LEAVES = ("state", "rep", "set", "fault")


class Refused(ValueError):
    pass


class _Message(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)
    v: Literal[1]
    machine: str = Field(pattern=MACHINE_ID)


class Event(_Message):
    id: str = Field(pattern=ID)
    ts: float = Field(ge=1.0e9, le=1.0e10)  # Unix time, 2001 to 2286
    type: str | None = Field(None, max_length=32)
    kind: str | None = Field(None, max_length=64)
    block: str = Field("", max_length=64)


class Rep(Event):
    block: str = Field(pattern=ID)
    set: int = Field(ge=1, le=1000)
    index: int = Field(ge=1, le=10_000)
    person: str | None = Field(None, max_length=64)

    @model_validator(mode="after")
    def _measured(self) -> Rep:
        """Every metric a machine measures, so the site can read the rep back as the machine has it."""
        REP_METRICS.validate_python({"index": self.index, **(self.model_extra or {})})
        return self


class State(_Message):
    online: bool
    time: float = Field(ge=1.0e9, le=1.0e10)


MODELS: dict[str, type[Event] | type[State]] = {"state": State, "rep": Rep, "set": Event, "fault": Event}


def parse(topic: str, prefix: str, payload: bytes) -> tuple[str, Event | State]:
    """(leaf, message) of one arrival on `{prefix}/{machine}/{leaf}`."""
    parts = topic.removeprefix(f"{prefix}/").split("/")
    if len(parts) != 2 or parts[1] not in LEAVES:
        raise Refused(f"{topic}: not a machine's {', '.join(LEAVES)} topic")
    machine, leaf = parts
    model = MODELS[leaf]
    try:
        data = strict_json(payload)
    except ValueError as exc:
        raise Refused(f"{topic}: not JSON ({exc})") from None
    try:
        message = model.model_validate(data)
    except ValidationError as exc:
        raise Refused(describe(exc, model, topic)) from None
    if message.machine != machine:
        raise Refused(f"{topic}: machine: {message.machine!r} says it is another machine than its topic")
    return leaf, message


def as_json(message: BaseModel) -> str:
    """For a jsonb column, which takes no NaN, no Infinity and no NUL character."""
    try:
        text = json.dumps(message.model_dump(mode="json"), allow_nan=False, separators=(",", ":"))
    except ValueError:
        raise Refused("a number is NaN or infinite: not JSON") from None
    if "\\u0000" in text:
        raise Refused("a text holds a NUL character")
    return text
