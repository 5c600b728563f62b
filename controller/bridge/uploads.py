"""Recordings to the site, from the bridge's process, so never in a set's way: each stored
session's recording, oldest first, over HTTP to the site's API (config/site_link.py).

- Resumable: the site says how many bytes of a recording it holds, and the rest is sent from there
  in chunks; a connection lost, a site restarted or a machine switched off costs at most a chunk.
- Checked by hash: every chunk is signed with the machine's key (the one its MQTT commands are
  signed with, which the site also holds) over the chunk's SHA-256 and the whole file's, and the
  site keeps a recording only once the whole file hashes to what was declared.
- Written into the machine's ledger (app/upload_ledger.py) only when the site has it whole.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
import sqlite3
from pathlib import Path
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field

from controller.app.store import SqliteSessionStore
from controller.app.upload_ledger import PendingRecording, UploadLedger
from controller.bridge.signing import SIGNATURE, sign, signed_with
from controller.config.mqtt import MACHINE_ID
from controller.config.site_link import SiteLinkConfig
from controller.wire import NAME_PATTERN, Name

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Eccentrix-Signature"
RECORDING_NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"
SHA256_HEX = r"^[0-9a-f]{64}$"
MAX_RECORDING_BYTES = 1 << 40
RESCAN_S = 60.0  # besides every filed set, which wakes the uploader at once
BACKOFF_FIRST_S = 1.0
BACKOFF_MAX_S = 60.0
REQUEST_TIMEOUT_S = 30.0
MAX_NAME = 64
ATTEMPTS = 3  # a file the site asks for again from its start, by the hash or a lost part
STORE_WAIT_S = 10.0


class RecordingClaim(BaseModel):
    """What a machine signs for a chunk of a recording: the site checks the signature with the
    machine's key, the chunk against chunk_sha256, and the whole file, once in, against sha256."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    machine: str = Field(pattern=MACHINE_ID)
    name: str = Field(pattern=RECORDING_NAME)
    offset: int = Field(ge=0, le=MAX_RECORDING_BYTES)
    size: int = Field(ge=1, le=MAX_RECORDING_BYTES)
    sha256: str = Field(pattern=SHA256_HEX)
    chunk_sha256: str = Field(pattern=SHA256_HEX)
    person: Name | None = None
    started: str = Field(min_length=1, max_length=40)

    def signature(self, key: bytes) -> str:
        return str(sign(self.model_dump(), key)[SIGNATURE])

    def signed_with(self, key: bytes, signature: str) -> bool:
        return signed_with(self.model_dump() | {SIGNATURE: signature}, key)


def status_signature(machine: str, name: str, key: bytes) -> str:
    """Asking the site how much of a recording it holds is signed too: it is the machine's business."""
    return str(sign({"machine": machine, "name": name}, key)[SIGNATURE])


def status_signed_with(machine: str, name: str, key: bytes, signature: str) -> bool:
    return signed_with({"machine": machine, "name": name, SIGNATURE: signature}, key)


def recording_path(machine: str, name: str) -> str:
    return f"/api/machines/{machine}/recordings/{name}"


class UploadRefused(RuntimeError):
    """The site will not take this recording as it is (its name, its size, another file under its
    name): it is left on the machine and not asked about again until the bridge restarts."""


class RecordingUploader:
    def __init__(self, site: SiteLinkConfig, machine: str, key: bytes, store: Path) -> None:
        self.site, self.machine, self.key, self.store = site, machine, key, store
        self.wake = asyncio.Event()
        self.uploaded = 0
        self.bytes_sent = 0
        self.refused: dict[Path, str] = {}
        self.last_error = ""

    async def run(self) -> None:
        backoff = BACKOFF_FIRST_S
        async with httpx.AsyncClient(base_url=self.site.url, timeout=REQUEST_TIMEOUT_S) as client:
            while True:
                try:
                    await self.upload_pending(client)
                    wait, backoff = RESCAN_S, BACKOFF_FIRST_S
                except (httpx.HTTPError, sqlite3.Error, OSError) as exc:  # site or store away: later
                    self.last_error = f"{type(exc).__name__}: {exc}"
                    log.warning(
                        "recordings to %s: %s; again in %.0f s", self.site.url, self.last_error, backoff
                    )
                    wait, backoff = backoff, min(2 * backoff, BACKOFF_MAX_S)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), wait)
                self.wake.clear()

    async def upload_pending(self, client: httpx.AsyncClient) -> None:
        for recording in await asyncio.to_thread(self._ledger, lambda ledger: ledger.pending()):
            if recording.path in self.refused:
                continue
            try:
                await self.upload(client, recording)
            except UploadRefused as exc:
                self.refused[recording.path] = str(exc)
                log.error("recording %s stays on this machine only: %s", recording.path, exc)

    async def upload(self, client: httpx.AsyncClient, recording: PendingRecording) -> None:
        name = recording.path.name
        if not re.fullmatch(RECORDING_NAME, name):
            raise UploadRefused(f"{name!r}: a recording's name must match {RECORDING_NAME}")
        try:
            size, digest = await asyncio.to_thread(_size_and_sha256, recording.path)
        except OSError as exc:
            raise UploadRefused(f"cannot read it: {exc}") from None
        if size == 0:
            raise UploadRefused("it is empty")
        await self._send(client, recording, size, digest)
        await asyncio.to_thread(self._ledger, lambda ledger: ledger.uploaded(recording.path, size, digest))
        self.uploaded += 1

    async def _send(
        self, client: httpx.AsyncClient, recording: PendingRecording, size: int, digest: str
    ) -> None:
        """From wherever the site is until it holds the whole file, hash checked."""
        name = recording.path.name
        path = recording_path(self.machine, name)
        held = await self._held(client, path, name)
        received = held["received"] if held.get("sha256") == digest else 0
        restarts = 0
        while not (held.get("complete") and held.get("sha256") == digest):
            chunk = await asyncio.to_thread(_read_at, recording.path, received, self.site.chunk_kb * 1024)
            if not chunk:
                raise UploadRefused(f"the site holds {received} bytes of a {size}-byte file")
            claim = RecordingClaim(
                machine=self.machine,
                name=name,
                offset=received,
                size=size,
                sha256=digest,
                chunk_sha256=hashlib.sha256(chunk).hexdigest(),
                person=_as_listed(recording.person),
                started=recording.started,
            )
            params = claim.model_dump(exclude={"machine", "name", "chunk_sha256"}, exclude_none=True)
            headers = {SIGNATURE_HEADER: claim.signature(self.key)}
            self.bytes_sent += len(chunk)  # on its way, whether or not its answer comes back
            held = _answer(await client.put(path, content=chunk, params=params, headers=headers), name)
            if held["received"] < received:  # the site went back: the whole hashed wrong, or it lost a part
                log.warning("recording %s: %s", name, held.get("detail", "the site asks for it again"))
                restarts += 1
                if restarts > ATTEMPTS:
                    raise UploadRefused(f"sent {ATTEMPTS} times over, and never whole and right at the site")
            received = int(held["received"])  # a 409 says where the site is: go on from there

    async def _held(self, client: httpx.AsyncClient, path: str, name: str) -> dict[str, Any]:
        headers = {SIGNATURE_HEADER: status_signature(self.machine, name, self.key)}
        response = await client.get(path, headers=headers)
        if response.status_code == httpx.codes.NOT_FOUND:
            return {"received": 0}
        return _answer(response, name)

    def _ledger(self, use: Any) -> Any:
        store = SqliteSessionStore(self.store, STORE_WAIT_S)
        try:
            return use(UploadLedger(store))
        finally:
            store.close()


def _answer(response: httpx.Response, name: str) -> dict[str, Any]:
    """The site's answer, if it is one to go on from; a refusal that sending again cannot cure
    raises UploadRefused, a failing site httpx's error (tried again later)."""
    if response.is_success or response.status_code == httpx.codes.CONFLICT:
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and isinstance(body.get("received"), int):
            return body
    if response.status_code in (httpx.codes.UNPROCESSABLE_ENTITY, httpx.codes.REQUEST_ENTITY_TOO_LARGE):
        raise UploadRefused(f"{name}: the site says {response.status_code} {response.text[:300]}")
    response.raise_for_status()
    raise httpx.HTTPStatusError(
        f"{name}: no byte count in {response.text[:200]!r}", request=response.request, response=response
    )


def _as_listed(person: str | None) -> str | None:
    """The person a site lists the recording under; a name a site cannot take (one made before
    names were checked) leaves it listed under nobody rather than not sent."""
    if person is not None and len(person) <= MAX_NAME and re.fullmatch(NAME_PATTERN, person):
        return person
    return None


def _size_and_sha256(path: Path) -> tuple[int, str]:
    with path.open("rb") as file:
        digest = hashlib.file_digest(file, "sha256")
    return path.stat().st_size, digest.hexdigest()


def _read_at(path: Path, offset: int, length: int) -> bytes:
    with path.open("rb") as file:
        file.seek(offset)
        return file.read(length)
