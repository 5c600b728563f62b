"""RecordingInbox: the machines' recordings as they come in, a folder per machine.

A recording on its way is `.NAME.part`, with `.NAME.json` beside it: the size, hash, person and
start its machine declared. It becomes NAME by an atomic rename only once it is whole and hashes to
what was declared, so a file named like a recording is always a whole, checked one. A chunk is
written only after its own hash matched its machine's signature, so what `.part` holds after a
crash is still right: its length is where the machine goes on from. Blocking file work: called from
a thread, one call at a time (site/api_recordings.py holds the lock)."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from controller.bridge.uploads import RecordingClaim


@dataclass(frozen=True, slots=True)
class Declared:
    size: int
    sha256: str
    person: str | None
    started: str

    @classmethod
    def of(cls, claim: RecordingClaim) -> Declared:
        return cls(claim.size, claim.sha256, claim.person, claim.started)


@dataclass(frozen=True, slots=True)
class Held:
    received: int
    declared: Declared | None = None
    complete: bool = False

    def to_json(self) -> dict[str, object]:
        declared = asdict(self.declared) if self.declared else {}
        return {"received": self.received, "complete": self.complete} | declared


class SendFrom(Exception):
    """An answer rather than a failure: go on from byte `held.received`."""

    def __init__(self, held: Held, why: str) -> None:
        super().__init__(why)
        self.held = held


class Refused(ValueError):
    """Never to be taken as sent: the message names the field and what is allowed."""


class RecordingInbox:
    def __init__(self, folder: Path, max_bytes: int) -> None:
        self.folder = folder
        self.max_bytes = max_bytes

    def held(self, machine: str, name: str) -> Held | None:
        declared = self._declared(machine, name)
        if declared is None:
            return None
        if self._path(machine, name).exists():
            return Held(declared.size, declared, complete=True)
        part = self._path(machine, f".{name}.part")
        return Held(part.stat().st_size if part.exists() else 0, declared)

    def append(self, claim: RecordingClaim, chunk: bytes) -> Held:
        machine, name, declared = claim.machine, claim.name, Declared.of(claim)
        held = self.held(machine, name)
        if held is not None and held.complete:
            if held.declared is None or held.declared.sha256 != claim.sha256:
                raise Refused(f"name: {name!r} is kept already, a different recording (another hash)")
            return held
        if claim.size > self.max_bytes:
            raise Refused(f"size: {claim.size} bytes; this site keeps recordings up to {self.max_bytes}")
        if claim.offset + len(chunk) > claim.size:
            raise Refused(f"offset: {claim.offset} + {len(chunk)} bytes runs past size {claim.size}")
        if held is None or held.declared != declared:
            if claim.offset != 0:
                raise SendFrom(Held(0, declared), "another file than the one begun under this name: from 0")
            held = self._begin(machine, name, declared)
        if claim.offset != held.received:
            raise SendFrom(held, f"offset: {claim.offset}, but {held.received} bytes are here")
        return self._write(machine, name, declared, chunk)

    def _begin(self, machine: str, name: str, declared: Declared) -> Held:
        folder = self.folder / machine
        folder.mkdir(parents=True, exist_ok=True)
        self._path(machine, f".{name}.part").unlink(missing_ok=True)
        meta = self._path(machine, f".{name}.json")
        meta.with_suffix(".tmp").write_text(json.dumps(asdict(declared)))
        os.replace(meta.with_suffix(".tmp"), meta)
        return Held(0, declared)

    def _write(self, machine: str, name: str, declared: Declared, chunk: bytes) -> Held:
        part = self._path(machine, f".{name}.part")
        with part.open("ab") as file:
            file.write(chunk)
            file.flush()
            os.fsync(file.fileno())
        received = part.stat().st_size
        if received < declared.size:
            return Held(received, declared)
        with part.open("rb") as file:
            digest = hashlib.file_digest(file, "sha256").hexdigest()
        if digest != declared.sha256:
            part.unlink()
            raise SendFrom(Held(0, declared), f"sha256: the whole file hashes to {digest}: sent again from 0")
        os.replace(part, self._path(machine, name))
        _sync_folder(part.parent)
        return Held(received, declared, complete=True)

    def _declared(self, machine: str, name: str) -> Declared | None:
        meta = self._path(machine, f".{name}.json")
        try:
            return Declared(**json.loads(meta.read_text()))
        except FileNotFoundError:
            return None

    def _path(self, machine: str, name: str) -> Path:
        return self.folder / machine / name

    def file(self, machine: str, name: str) -> Path | None:
        path = self._path(machine, name)
        return path if not name.startswith(".") and path.is_file() else None


def _sync_folder(folder: Path) -> None:
    """The rename itself survives a power cut only once the folder is synced."""
    handle = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)
