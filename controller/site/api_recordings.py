"""The recordings half of the site's API: machines send theirs here (bridge/uploads.py), chunk by
chunk, each chunk signed with the machine's key; anyone the read API serves can list and fetch
them. A recording is listed only once it is whole, its hash checked and its row stored."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Query, Request, status
from fastapi import Path as PathParameter
from fastapi.responses import FileResponse, JSONResponse
from pydantic import ValidationError

from controller.bridge.uploads import (
    MAX_RECORDING_BYTES,
    RECORDING_NAME,
    SHA256_HEX,
    SIGNATURE_HEADER,
    RecordingClaim,
    status_signed_with,
)
from controller.config.loader import describe
from controller.config.mqtt import MACHINE_ID
from controller.site.logins import READ
from controller.site.recordings import Held, RecordingInbox, Refused, SendFrom
from controller.site.store import SiteStore
from controller.wire import NAME_PATTERN

MAX_CHUNK_BYTES = 4096 * 1024  # config/site_link.py chunk_kb's top
NOT_SIGNED = f"{SIGNATURE_HEADER}: not this machine's signature"

Machine = Annotated[str, PathParameter(pattern=MACHINE_ID)]
Name = Annotated[str, PathParameter(pattern=RECORDING_NAME)]
Signature = Annotated[str, Header(alias=SIGNATURE_HEADER, min_length=64, max_length=64)]


def recordings_api(inbox: RecordingInbox, keys: dict[str, bytes], store: SiteStore) -> APIRouter:
    router = APIRouter()
    # One recording's bytes at a time: a chunk's write, a whole file's hash and rename
    writing = asyncio.Lock()

    def key_of(machine: str) -> bytes:
        if machine not in keys:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"machine {machine!r}: no key at this site")
        return keys[machine]

    async def kept(machine: str, name: str, held: Held) -> dict[str, Any]:
        """A whole recording's row, stored (again: it is idempotent) before it is said to be kept,
        so one whose row a database outage lost is stored when its machine asks again."""
        if held.complete and held.declared is not None:
            found = held.declared
            await store.save_recording(machine, name, found.size, found.sha256, found.person, found.started)
        return held.to_json()

    @router.get("/api/machines/{machine}/recordings/{name}")
    async def held(machine: Machine, name: Name, signature: Signature) -> dict[str, Any]:
        """How much of this recording the site holds: where its machine goes on from."""
        if not status_signed_with(machine, name, key_of(machine), signature):
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, NOT_SIGNED)
        async with writing:
            found = await asyncio.to_thread(inbox.held, machine, name)
        if found is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"{machine}/{name}: nothing of it here")
        return await kept(machine, name, found)

    @router.put("/api/machines/{machine}/recordings/{name}")
    async def put_chunk(
        request: Request,
        machine: Machine,
        name: Name,
        signature: Signature,
        offset: Annotated[int, Query(ge=0, le=MAX_RECORDING_BYTES)],
        size: Annotated[int, Query(ge=1, le=MAX_RECORDING_BYTES)],
        sha256: Annotated[str, Query(pattern=SHA256_HEX)],
        started: Annotated[str, Query(min_length=1, max_length=40)],
        person: Annotated[str | None, Query(min_length=1, max_length=64, pattern=NAME_PATTERN)] = None,
    ) -> Any:
        key = key_of(machine)
        chunk = await body_of_at_most(request, MAX_CHUNK_BYTES, "a chunk")
        try:
            claim = RecordingClaim(
                machine=machine,
                name=name,
                offset=offset,
                size=size,
                sha256=sha256,
                chunk_sha256=hashlib.sha256(chunk).hexdigest(),
                person=person,
                started=started,
            )
        except ValidationError as exc:
            problem = describe(exc, RecordingClaim, "chunk")
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, problem) from None
        if not claim.signed_with(key, signature):
            # also what a chunk changed on its way looks like: its hash is not the one signed
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, NOT_SIGNED)
        try:
            async with writing:
                found = await asyncio.to_thread(inbox.append, claim, chunk)
        except SendFrom as answer:
            return JSONResponse(answer.held.to_json() | {"detail": str(answer)}, status.HTTP_409_CONFLICT)
        except Refused as exc:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
        except OSError as exc:  # a full disk: the machine keeps its copy and sends again later
            raise HTTPException(status.HTTP_507_INSUFFICIENT_STORAGE, f"recordings folder: {exc}") from None
        return await kept(machine, name, found)

    @router.get("/api/recordings", dependencies=READ)
    async def recordings(
        person: Annotated[str | None, Query(min_length=1, max_length=64, pattern=NAME_PATTERN)] = None,
    ) -> list[dict[str, Any]]:
        return await store.recordings(person)

    @router.get("/api/machines/{machine}/recordings/{name}/file", dependencies=READ)
    async def recording_file(machine: Machine, name: Name) -> FileResponse:
        path = inbox.file(machine, name)
        if path is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"{machine}/{name}: no whole recording here")
        return FileResponse(path, media_type="application/octet-stream", filename=name)

    return router


async def body_of_at_most(request: Request, limit: int, what: str) -> bytes:
    """Read only as far as `limit`: a body sent without a length (chunked) is counted as it comes."""
    length = request.headers.get("content-length", "")
    if length and (not length.isdigit() or int(length) > limit):
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, f"{what}: up to {limit} bytes")
    body = bytearray()
    async for part in request.stream():
        body += part
        if len(body) > limit:
            raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, f"{what}: up to {limit} bytes")
    return bytes(body)
