"""Recordings: every loop frame, streamed to disk in one-second chunks.

File layout (all integers little-endian):

    b"ECCXREC1" | u32 header length | header (JSON) | u32 CRC32 of header
    chunk*:  b"CHNK" | u32 rows | u32 payload length | u32 CRC32 of payload | payload
    payload: zlib(every column in schema order, each XOR-delta encoded and byte-shuffled)

Columnar chunks compress well: each value is XORed with the one before it (a quantity that changes
slowly shares its sign, exponent and high mantissa bits with its neighbour, as in Facebook's
Gorilla), and shuffling the bytes then puts the many zero bytes together for zlib. Each chunk is
self-checking, and there is no footer: a
file cut short by a killed process or a full disk still opens up to the last whole chunk, and the
reader says where the damage starts. The raw drive feedback is kept as float64 so a regression
replay reproduces every decision exactly; display columns are float32.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import struct
import threading
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from controller import __version__
from controller.config import AthleteConfig, MachineConfig, ProfileConfig
from controller.core.loop import ControlLoop, Frame, SafetyEvent
from controller.core.reps import Phase
from controller.core.set_lifecycle import SetState
from controller.drive import DriveFeedback
from controller.runtime.priority import helper_priority

# 2: drive feedback in the drive's own frame (positive torque toward positive counts). Version 1
# recorded torque as "positive winds the cable in" on machines whose positive counts paid out, so
# reading one flips that column and nothing else.
SCHEMA_VERSION = 2
_READABLE = (1, 2)
MAGIC = b"ECCXREC1"
CHUNK_MAGIC = b"CHNK"
ROWS_PER_CHUNK_S = 1.0
_U32 = struct.Struct("<I")
_CHUNK_HEAD = struct.Struct("<4sIII")
_QUEUE_CHUNKS = 120  # two minutes of backlog before chunks are dropped (and counted)
MAX_ROWS_PER_CHUNK = 100_000  # one second at any rate a loop may run, with room; a reader's bound

PHASES = [p.value for p in Phase]
SET_STATES = [s.value for s in SetState]

# (name, dtype): the columns of versions 1 and 2.
COLUMNS: list[tuple[str, str]] = [
    ("time_s", "<f8"),
    ("lag_us", "<u4"),  # whole microseconds: recorded, never decided on
    ("fb_present", "u1"),
    ("fb_time_s", "<f8"),
    ("fb_angle_rad", "<f8"),
    ("fb_velocity_rad_s", "<f8"),
    ("fb_torque_nm", "<f8"),
    ("fb_enabled", "u1"),
    ("fb_fault_code", "<u4"),
    ("position_m", "<f4"),
    ("velocity_mps", "<f4"),
    ("acceleration_mps2", "<f4"),
    ("felt_tension_n", "<f4"),
    ("request_n", "<f4"),
    ("command_n", "<f4"),
    ("phase", "u1"),
    ("rep_index", "<u2"),
    ("set_state", "u1"),
    ("flags", "<u2"),
    ("commands", "u1"),
]


def recording_header(
    machine: MachineConfig,
    profile: ProfileConfig,
    load_kg: float | None,
    athlete: AthleteConfig | None = None,
    scenario: str | None = None,
) -> dict[str, Any]:
    """What a replay needs to rebuild the controller exactly, and what a person needs to know."""
    return {
        "software": __version__,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "rate_hz": machine.control.rate_hz,
        "machine": machine.model_dump(mode="json"),
        "profile": profile.model_dump(mode="json"),
        "load_kg": load_kg,
        "athlete": athlete.model_dump(mode="json") if athlete else None,
        "scenario": scenario,
    }


class RecordingError(ValueError):
    """A recording that cannot be read at all (not ours, or a damaged header)."""


def frame_row(frame: Frame) -> tuple[Any, ...]:
    fb = frame.feedback
    return (
        frame.time_s,
        round(frame.lag_s * 1e6),
        fb is not None,
        fb.time_s if fb else 0.0,
        fb.angle_rad if fb else 0.0,
        fb.velocity_rad_s if fb else 0.0,
        fb.torque_nm if fb else 0.0,
        fb.enabled if fb else False,
        fb.fault_code if fb else 0,
        frame.position_m,
        frame.velocity_mps,
        frame.acceleration_mps2,
        frame.felt_tension_n,
        frame.request_n,
        frame.command_n,
        PHASES.index(frame.phase),
        frame.rep_index,
        SET_STATES.index(frame.set_state),
        frame.flags,
        frame.commands,
    )


_UINT = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}


def _pack(column: np.ndarray) -> bytes:
    bits = column.view(_UINT[column.dtype.itemsize])
    xored = bits.copy()
    xored[1:] ^= bits[:-1]
    planes = np.frombuffer(xored.tobytes(), dtype=np.uint8).reshape(-1, column.dtype.itemsize)
    return planes.T.tobytes()


def _unpack(data: bytes, dtype: np.dtype[Any], rows: int) -> np.ndarray:
    planes = np.frombuffer(data, dtype=np.uint8).reshape(dtype.itemsize, rows)
    xored = np.frombuffer(planes.T.tobytes(), dtype=_UINT[dtype.itemsize])
    return np.bitwise_xor.accumulate(xored).view(dtype)


ROW_DTYPE = np.dtype(COLUMNS)


def encode_chunk(rows: Sequence[tuple[Any, ...]]) -> bytes:
    table = np.array(rows, dtype=ROW_DTYPE)  # one C call: the GIL is not held for long
    # One zlib stream per chunk: one release of the GIL, not one per column.
    payload = zlib.compress(b"".join(_pack(np.ascontiguousarray(table[name])) for name, _ in COLUMNS), 6)
    return _CHUNK_HEAD.pack(CHUNK_MAGIC, len(rows), len(payload), zlib.crc32(payload)) + payload


class RecordingWriter:
    """Append frames from the control loop; a background thread opens the file, encodes and writes
    each chunk, so the loop only pays for a list append and never waits on a disk."""

    def __init__(self, path: str | Path, header: dict[str, Any], rate_hz: float) -> None:
        self.path = Path(path)
        self.rows_per_chunk = max(1, round(rate_hz * ROWS_PER_CHUNK_S))
        self.dropped_chunks = 0
        self.frames_written = 0
        self.error: str | None = None  # the disk refused: what it said
        self._rows: list[tuple[Any, ...]] = []
        self._queue: queue.Queue[list[tuple[Any, ...]] | None] = queue.Queue(_QUEUE_CHUNKS)
        full_header = {
            "format": "eccentrix-recording",
            "schema": SCHEMA_VERSION,
            "columns": COLUMNS,
            "phases": PHASES,
            "set_states": SET_STATES,
            **header,
        }
        blob = json.dumps(full_header, sort_keys=True).encode()
        self._head = MAGIC + _U32.pack(len(blob)) + blob + _U32.pack(zlib.crc32(blob))
        self._thread = threading.Thread(target=self._drain, name="recorder", daemon=True)
        self._thread.start()

    def append(self, frame: Frame) -> None:
        self._rows.append(frame_row(frame))
        if len(self._rows) >= self.rows_per_chunk:
            self._hand_over()

    def trouble(self) -> tuple[str, str] | None:
        """What went wrong with this recording, as a safety event's kind and detail (None: nothing)."""
        if self.error is not None:
            return "recording_failed", f"recording {self.path.name} stopped: {self.error}"
        if self.dropped_chunks:
            dropped = f"{self.dropped_chunks} one-second chunks dropped"
            return "recording_overrun", f"{dropped}: the disk did not keep up"
        return None

    def _hand_over(self) -> None:
        rows, self._rows = self._rows, []
        try:
            self._queue.put_nowait(rows)
        except queue.Full:
            self.dropped_chunks += 1  # never block the control loop on a slow disk

    def _drain(self) -> None:
        helper_priority()
        file = None
        try:
            # A person's movement, forces and name: readable by the machine's user only.
            file = open(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb")  # noqa: SIM115
            file.write(self._head)
            file.flush()
            while (rows := self._queue.get()) is not None:
                file.write(encode_chunk(rows))
                file.flush()
                self.frames_written += len(rows)
        except OSError as exc:
            # A full or vanished disk: what was written stays readable up to its last whole chunk;
            # the rest is counted as dropped, and the queue is still emptied so nobody waits on it.
            self.error = exc.strerror or str(exc)
            while (rows := self._queue.get()) is not None:
                self.dropped_chunks += 1
        finally:
            if file is not None:
                with contextlib.suppress(OSError):
                    file.close()

    def close(self) -> None:
        if self._rows:
            self._hand_over()
        self._queue.put(None)
        self._thread.join()


def record_loop(loop: ControlLoop, path: Path, header: dict[str, Any]) -> RecordingWriter:
    """Record every frame `loop` decides from now on."""
    writer = RecordingWriter(path, header, loop.machine.control.rate_hz)
    loop.observers.on_frame.append(writer.append)
    return writer


def finish_recording(writer: RecordingWriter, loop: ControlLoop, now_s: float) -> None:
    """Close the file; a recording that lost frames on the way becomes a safety event the user sees."""
    writer.close()
    trouble = writer.trouble()
    if trouble is not None:
        kind, detail = trouble
        loop.safety_events.append(SafetyEvent(now_s, kind, len(loop.reps), detail))


@dataclass
class Recording:
    header: dict[str, Any]
    columns: dict[str, np.ndarray]
    damage: str | None = None
    chunks: int = 0
    source: str = "recording"
    frames: int = field(init=False)

    def __post_init__(self) -> None:
        self.frames = len(self.columns["time_s"])

    @property
    def time_s(self) -> np.ndarray:
        return self.columns["time_s"]

    def feedback(self, index: int) -> DriveFeedback | None:
        c = self.columns
        if not c["fb_present"][index]:
            return None
        return DriveFeedback(
            time_s=float(c["fb_time_s"][index]),
            angle_rad=float(c["fb_angle_rad"][index]),
            velocity_rad_s=float(c["fb_velocity_rad_s"][index]),
            torque_nm=float(c["fb_torque_nm"][index]),
            enabled=bool(c["fb_enabled"][index]),
            fault_code=int(c["fb_fault_code"][index]),
        )


def read_header(data: bytes, path: Path) -> tuple[dict[str, Any], int]:
    if not data.startswith(MAGIC):
        raise RecordingError(f"{path}: not an eccentrix recording (no {MAGIC!r} at byte 0)")
    if len(data) < len(MAGIC) + 4:
        raise RecordingError(f"{path}: header cut short at byte {len(data)}")
    (length,) = _U32.unpack_from(data, len(MAGIC))
    start = len(MAGIC) + 4
    end = start + length
    if len(data) < end + 4:
        raise RecordingError(f"{path}: header cut short at byte {len(data)} (needs {end + 4} bytes)")
    blob = data[start:end]
    if zlib.crc32(blob) != _U32.unpack_from(data, end)[0]:
        raise RecordingError(f"{path}: header damaged (checksum mismatch in bytes {start}-{end})")
    try:
        header = json.loads(blob)
    except (ValueError, RecursionError):
        raise RecordingError(f"{path}: header is not JSON (bytes {start}-{end})") from None
    if not isinstance(header, dict):
        raise RecordingError(f"{path}: header is not a JSON object")
    if header.get("schema") not in _READABLE:
        raise RecordingError(
            f"{path}: schema {header.get('schema')} is not supported (this reads {_READABLE})"
        )
    return header, end + 4


def _decode_chunk(data: bytes, offset: int) -> tuple[list[np.ndarray], int] | str:
    if len(data) - offset < _CHUNK_HEAD.size:
        return "chunk header cut short"
    magic, rows, length, crc = _CHUNK_HEAD.unpack_from(data, offset)
    if magic != CHUNK_MAGIC:
        return "no chunk marker"
    body = offset + _CHUNK_HEAD.size
    if len(data) < body + length:
        return f"chunk of {rows} frames cut short ({len(data) - body} of {length} bytes)"
    payload = data[body : body + length]
    if zlib.crc32(payload) != crc:
        return "chunk checksum mismatch"
    if not 0 < rows <= MAX_ROWS_PER_CHUNK:
        return f"chunk of {rows} frames (allowed 1 to {MAX_ROWS_PER_CHUNK})"
    expected = rows * ROW_DTYPE.itemsize
    try:
        # Never more than the rows say: a small payload can inflate to gigabytes.
        raw = zlib.decompressobj().decompress(payload, expected + 1)
    except zlib.error as exc:
        return f"chunk does not decompress ({exc})"
    if len(raw) != expected:
        return f"chunk of {rows} frames holds {len(raw)} bytes, not {expected}"
    columns, cursor = [], 0
    for _, dtype in COLUMNS:
        size = np.dtype(dtype).itemsize * rows
        columns.append(_unpack(raw[cursor : cursor + size], np.dtype(dtype), rows))
        cursor += size
    return columns, body + length


def read_recording(path: str | Path) -> Recording:
    """Everything readable. A damaged or truncated tail is reported in `damage`, not raised."""
    path = Path(path)
    data = path.read_bytes()
    header, offset = read_header(data, path)
    parts: list[list[np.ndarray]] = []
    damage = None
    while offset < len(data):
        decoded = _decode_chunk(data, offset)
        if isinstance(decoded, str):
            readable = sum(len(p[0]) for p in parts)
            where = f"at byte {offset} (chunk {len(parts) + 1})"
            damage = f"{path}: {decoded} {where}; the first {readable} frames are intact"
            break
        columns, offset = decoded
        parts.append(columns)
    merged = {}
    for index, (name, dtype) in enumerate(COLUMNS):
        pieces = [p[index] for p in parts]
        merged[name] = np.concatenate(pieces) if pieces else np.zeros(0, dtype=dtype)
    if header["schema"] == 1:
        merged["fb_torque_nm"] = -merged["fb_torque_nm"]
    return Recording(header, merged, damage, len(parts), str(path))
