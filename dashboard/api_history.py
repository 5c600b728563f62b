"""Session history, recordings, and what-if replay in the browser."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi import Path as PathParam
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field

from controller.app.export import write_csv
from controller.app.progress import progress_of
from controller.app.store import SqliteSessionStore, StoreError
from controller.app.strength import strength_of
from controller.app.vbt import VbtError
from controller.config import ConfigError, load_profile
from controller.runtime.isometric_recording import isometric_test
from controller.runtime.recorder import RecordingError, read_recording
from controller.wire import Name
from dashboard.auth import SUPERVISE, User, current_user
from dashboard.state import open_store, settings_of
from simulator.replay import TRACE_EVERY, what_if

router = APIRouter(prefix="/api")
RecordingName = Annotated[str, PathParam(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.-]+\.ecxr$")]
SessionId = Annotated[int, PathParam(ge=1, le=2**62)]
Store = Annotated[SqliteSessionStore, Depends(open_store)]
TRACE_COLUMNS = ("time_s", "position_m", "felt_tension_n", "command_n")


class WhatIfRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    profile: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9-]+$")
    load_kg: float | None = Field(None, gt=0, le=500)


def _visible(user: User, person: str | None) -> bool:
    return user.role in SUPERVISE or person == user.name


@router.get("/sessions")
def sessions(store: Store, user: Annotated[User, Depends(current_user)]) -> list[dict[str, Any]]:
    rows = []
    for session_id in reversed(store.sessions()):
        record = store.session(session_id)
        if _visible(user, record.person):
            reps = sum(len(s.reps) for s in record.sets)
            rows.append(
                {
                    "id": record.id,
                    "person": record.person,
                    "started": record.started,
                    "exercise": ", ".join(dict.fromkeys(e for s in record.sets if (e := s.exercise))),
                    "workout": record.workout,
                    "sets": len(record.sets),
                    "reps": reps,
                    "recording": Path(record.recording).name if record.recording else None,
                }
            )
    return rows


def _session(store: SqliteSessionStore, user: User, session_id: int) -> Any:
    try:
        record = store.session(session_id)
    except StoreError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"session {session_id}: no such session") from exc
    if not _visible(user, record.person):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"session {session_id} is someone else's")
    return record


@router.get("/sessions/{session_id}")
def session(
    session_id: SessionId, store: Store, user: Annotated[User, Depends(current_user)]
) -> dict[str, Any]:
    doc: dict[str, Any] = _session(store, user, session_id).to_json()
    return doc


@router.get("/sessions/{session_id}/export.csv", response_class=PlainTextResponse)
def session_csv(
    session_id: SessionId, store: Store, user: Annotated[User, Depends(current_user)]
) -> PlainTextResponse:
    out = io.StringIO()
    write_csv(_session(store, user, session_id), out)
    headers = {"Content-Disposition": f'attachment; filename="session-{session_id}.csv"'}
    return PlainTextResponse(out.getvalue(), media_type="text/csv", headers=headers)


def _recording_path(request: Request, name: str, store: SqliteSessionStore, user: User) -> Path:
    """A recording this person may see: their own sessions' (a clinician or admin: anyone's)."""
    folder: Path | None = settings_of(request).recordings
    path = folder / name if folder else None
    if path is None or not path.is_file():
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"recording {name!r}: not found")
    if user.role not in SUPERVISE and store.recording_people().get(name) != user.name:
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"recording {name!r} is someone else's")
    return path


def _read(path: Path) -> Any:
    try:
        return read_recording(path)
    except RecordingError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None


@router.get("/recordings")
def recordings(
    request: Request, store: Store, user: Annotated[User, Depends(current_user)]
) -> list[dict[str, Any]]:
    folder: Path | None = settings_of(request).recordings
    files = sorted(folder.glob("*.ecxr"), reverse=True) if folder and folder.is_dir() else []
    people = store.recording_people()
    mine = [f for f in files if user.role in SUPERVISE or people.get(f.name) == user.name]
    return [{"name": f.name, "bytes": f.stat().st_size} for f in mine]


@router.get("/recordings/{name}/trace")
def trace(
    name: RecordingName, request: Request, store: Store, user: Annotated[User, Depends(current_user)]
) -> dict[str, Any]:
    recording = _read(_recording_path(request, name, store, user))
    columns = {c: np.asarray(recording.columns[c])[::TRACE_EVERY].tolist() for c in TRACE_COLUMNS}
    return {
        "name": name,
        "profile": recording.header["profile"]["name"],
        "kind": recording.header["profile"].get("kind"),
        "damage": recording.damage,
        "frames": recording.frames,
        "trace": columns,
    }


@router.post("/recordings/{name}/what-if")
async def replay_what_if(
    name: RecordingName,
    body: WhatIfRequest,
    request: Request,
    store: Store,
    user: Annotated[User, Depends(current_user)],
) -> dict[str, Any]:
    recording = _read(_recording_path(request, name, store, user))
    try:
        profile = load_profile(body.profile)
    except ConfigError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    lock: asyncio.Lock = request.app.state.replay_lock
    if lock.locked():
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS, "a replay is running: try again when it is done"
        )
    async with lock:
        try:
            report = await asyncio.to_thread(what_if, recording, profile, body.load_kg)
        except (RecordingError, ValueError) as exc:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    doc = report.to_json(
        recording.header["profile"]["name"], (recording.header.get("athlete") or {}).get("name")
    )
    doc["trace"] = report.trace
    return doc


@router.get("/exercises")
def exercises(
    store: Store, user: Annotated[User, Depends(current_user)], person: Annotated[Name | None, Query()] = None
) -> list[str]:
    """The exercises a person has named, the most recent first."""
    who = _whose(user, person)
    return store.exercises_of(who)


@router.get("/progress")
def progress(
    store: Store,
    user: Annotated[User, Depends(current_user)],
    exercise: Annotated[str, Query(min_length=1, max_length=64)],
    person: Annotated[Name | None, Query()] = None,
) -> dict[str, Any]:
    """An exercise over the weeks: a point per session, and the personal records."""
    who = _whose(user, person)
    return progress_of(exercise, store.sets_of(who, exercise)).to_json()


def _whose(user: User, person: str | None) -> str:
    who = person or user.name
    if not _visible(user, who):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "a lifter sees only their own history")
    return who


@router.get("/strength")
def strength(
    store: Store,
    user: Annotated[User, Depends(current_user)],
    exercise: Annotated[str, Query(min_length=1, max_length=64)],
    person: Annotated[Name | None, Query()] = None,
    mvt_mps: Annotated[float | None, Query(gt=0.05, le=1.5, description="velocity of a true max")] = None,
) -> dict[str, Any]:
    """The exercise's load-velocity profile from the last four weeks' sets, and the 1RM it predicts."""
    who = _whose(user, person)
    try:
        return strength_of(store, who, exercise, mvt_mps).to_json()
    except VbtError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None


@router.get("/recordings/{name}/isometric")
def isometric(
    name: RecordingName, request: Request, store: Store, user: Annotated[User, Depends(current_user)]
) -> dict[str, Any]:
    """An isometric test's peak force, time to peak and rate of force development, with its trace."""
    try:
        test = isometric_test(_read(_recording_path(request, name, store, user)))
    except RecordingError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    every = max(1, len(test.times_s) // 1000)
    return {
        "name": name,
        "peak_n": test.result.peak_n,
        "time_to_peak_s": test.result.time_to_peak_s,
        "rfd_n_per_s": test.result.rfd_n_per_s,
        "trace": {"time_s": test.times_s[::every].tolist(), "force_n": test.forces_n[::every].tolist()},
    }
