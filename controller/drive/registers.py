"""Register encoding: SI value <-> 16-bit Modbus words, per data type, scale and word order.
Pure functions, no I/O."""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from controller.config.drive import DataType, DriveMap, Register

_FORMATS = {DataType.I16: "h", DataType.U16: "H", DataType.I32: "i", DataType.U32: "I", DataType.F32: "f"}
_LIMITS = {
    DataType.I16: (-0x8000, 0x7FFF),
    DataType.U16: (0, 0xFFFF),
    DataType.I32: (-0x8000_0000, 0x7FFF_FFFF),
    DataType.U32: (0, 0xFFFF_FFFF),
}


def raw_to_words(raw: float, dtype: DataType, word_order: str = "big") -> list[int]:
    """A raw (unscaled) value as register words. Integers saturate at their type's range."""
    if dtype is DataType.F32:
        packed = struct.pack(">f", raw)
    else:
        low, high = _LIMITS[dtype]
        packed = struct.pack(">" + _FORMATS[dtype], int(min(max(round(raw), low), high)))
    words = [int.from_bytes(packed[i : i + 2], "big") for i in range(0, len(packed), 2)]
    return words[::-1] if word_order == "little" else words


def words_to_raw(words: Sequence[int], dtype: DataType, word_order: str = "big") -> float:
    if len(words) != dtype.words:
        raise ValueError(f"{dtype.value} needs {dtype.words} word(s), got {len(words)}")
    ordered = list(words)[::-1] if word_order == "little" else list(words)
    packed = b"".join(int(w & 0xFFFF).to_bytes(2, "big") for w in ordered)
    value: float = struct.unpack(">" + _FORMATS[dtype], packed)[0]
    return value


def with_rated_torque(drive_map: DriveMap, rated_torque_nm: float) -> DriveMap:
    """The map with every `per_rated` register given its absolute scale for this motor, resolved
    once so the cycle never rescales."""

    def absolute(section: Any) -> Any:
        if section is None:
            return None
        update = {
            name: value.model_copy(update={"scale": value.scale * rated_torque_nm, "per_rated": False})
            for name, value in section
            if isinstance(value, Register) and value.per_rated
        }
        return section.model_copy(update=update)

    return drive_map.model_copy(
        update={"feedback": absolute(drive_map.feedback), "command": absolute(drive_map.command)}
    )


def encode(value_si: float, register: Register, word_order: str = "big") -> list[int]:
    return raw_to_words(value_si / register.scale, register.type, word_order)


def decode(words: Sequence[int], register: Register, word_order: str = "big") -> float:
    return words_to_raw(words, register.type, word_order) * register.scale


@dataclass(frozen=True, slots=True)
class ReadSpan:
    """A run of registers read in one request."""

    start: int
    count: int


MAX_BLOCK = 125  # registers per read request (Modbus limit)
# Reading unused registers costs 2 bytes each; another RTU transaction costs about 22 characters
# of framing and silence plus the drive's ~1 ms turnaround (about 33 characters): break-even ~16.
MAX_GAP = 16


def plan_reads(registers: Iterable[Register]) -> list[ReadSpan]:
    """Group registers into as few contiguous read requests as sensible."""
    spans = sorted((r.address, r.address + r.type.words) for r in registers)
    blocks: list[list[int]] = []
    for start, end in spans:
        if blocks and start - blocks[-1][1] <= MAX_GAP and end - blocks[-1][0] <= MAX_BLOCK:
            blocks[-1][1] = max(blocks[-1][1], end)
        else:
            blocks.append([start, end])
    return [ReadSpan(start, end - start) for start, end in blocks]
