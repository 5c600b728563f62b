"""Where a Modbus drive is: `tcp://HOST:PORT`, or a serial device with its framing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, slots=True)
class Link:
    kind: Literal["tcp", "rtu"]
    address: str  # host for TCP, device path for RTU
    port: int = 502
    parity: Literal["N", "E", "O"] | None = None  # overrides the map (a pty cannot do parity)

    @classmethod
    def parse(cls, text: str) -> Link:
        """`tcp://HOST:PORT`, or a serial device: `rtu:///dev/ttyUSB0[?parity=N]` or a plain path."""
        if text.startswith("tcp://"):
            host, _, port = text.removeprefix("tcp://").rpartition(":")
            if not host or not port.isdigit():
                raise ValueError(f"link {text!r}: expected tcp://HOST:PORT")
            return cls("tcp", host, int(port))
        path, _, query = text.removeprefix("rtu://").partition("?")
        parity = None
        if query:
            key, _, value = query.partition("=")
            if key != "parity" or value not in ("N", "E", "O"):
                raise ValueError(f"link {text!r}: the only option is ?parity=N|E|O")
            parity = value
        return cls("rtu", path, parity=parity)  # type: ignore[arg-type]
