"""Login, machine status and control: what a person at the machine does."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from controller.config import CapsConfig, ConfigError, load_profile
from controller.config.loader import CONFIG_ROOT, validate
from controller.config.profile import ProfileConfig, TempoConfig
from controller.ipc import ControlUnavailable
from controller.store import SqliteSessionStore
from controller.units import POUND_KG
from dashboard.auth import (
    ADMINISTER,
    COOKIE,
    SESSION_IDLE_S,
    SUPERVISE,
    TRAIN,
    Role,
    User,
    current_user,
    hash_password,
    require,
    verify_password,
)
from dashboard.hub import Hub
from dashboard.state import hub_of, open_store

router = APIRouter(prefix="/api")
Store = Annotated[SqliteSessionStore, Depends(open_store)]
Name = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@ -]+$")]


class Login(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name
    password: str = Field(min_length=1, max_length=128)


class NewAccount(Login):
    role: Role
    password: str = Field(min_length=8, max_length=128)


class Me(BaseModel):
    name: str
    role: Role


class Ok(BaseModel):
    ok: bool = True
    note: str = ""


class SetStart(BaseModel):
    """A shipped profile, with what the lifter may change for today's set."""

    model_config = ConfigDict(extra="forbid")
    profile: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9-]+$")
    load: float | None = Field(None, gt=0, le=1100, description="in `unit`; default: the profile's")
    unit: Literal["kg", "lb"] = "kg"
    eccentric_pct: float | None = Field(None, ge=0, le=100)
    reps: int | None = Field(None, ge=1, le=100)
    sets: int | None = Field(None, ge=1, le=20)
    rest_s: float | None = Field(None, ge=0, le=1800)
    tempo: TempoConfig | None = None
    exercise: str = Field("", max_length=64)
    person: Name | None = Field(None, description="whose set (clinicians); default: the logged-in user")
    caps: CapsConfig | None = Field(None, description="clinicians and admins only")


async def ask_control(hub: Hub, cmd: str, **fields: Any) -> dict[str, Any]:
    try:
        reply = await hub.client.request(cmd, **fields)
    except ControlUnavailable as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from None
    if not reply.get("ok"):
        error = str(reply.get("error", "refused"))
        code = status.HTTP_422_UNPROCESSABLE_CONTENT if "start.profile" in error else status.HTTP_409_CONFLICT
        raise HTTPException(code, error)
    return reply


@router.post("/login", response_model=Me)
def login(body: Login, request: Request, response: Response, store: Store) -> Me:
    account = store.account(body.name)
    if account is None or not verify_password(body.password, account[1]):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong name or password")
    role = Role(account[0])
    token = request.app.state.sessions.open(body.name, role)
    response.set_cookie(COOKIE, token, max_age=int(SESSION_IDLE_S), httponly=True, samesite="strict")
    return Me(name=body.name, role=role)


@router.post("/logout", response_model=Ok)
def logout(request: Request, response: Response) -> Ok:
    request.app.state.sessions.close(request.cookies.get(COOKIE))
    response.delete_cookie(COOKIE)
    return Ok()


@router.get("/me", response_model=Me)
def me(user: Annotated[User, Depends(current_user)]) -> Me:
    return Me(name=user.name, role=user.role)


@router.post("/accounts", response_model=Ok, status_code=201)
def add_account(body: NewAccount, store: Store, _: Annotated[User, Depends(require(*ADMINISTER))]) -> Ok:
    if store.account(body.name) is not None:
        raise HTTPException(status.HTTP_409_CONFLICT, f"account {body.name!r} exists already")
    store.add_account(body.name, body.role.value, hash_password(body.password))
    return Ok()


@router.get("/status")
def machine_status(request: Request, _: Annotated[User, Depends(current_user)]) -> dict[str, Any]:
    hub = hub_of(request)
    return {"connected": hub.connected, "status": hub.status, "reps": hub.reps, "events": hub.events}


@router.get("/profiles")
def profiles(_: Annotated[User, Depends(current_user)]) -> list[dict[str, Any]]:
    names = sorted(p.stem for p in (CONFIG_ROOT / "profiles").glob("*.toml"))
    return [load_profile(name).model_dump(mode="json") | {"file": name} for name in names]


@router.post("/estop", response_model=Ok)
async def estop(request: Request, user: Annotated[User, Depends(require(*TRAIN))]) -> Ok:
    await ask_control(hub_of(request), "estop", by=user.name)
    return Ok()


@router.post("/reset", response_model=Ok)
async def reset(request: Request, user: Annotated[User, Depends(require(*TRAIN))]) -> Ok:
    reply = await ask_control(hub_of(request), "reset", by=user.name)
    return Ok(note=str(reply.get("note", "")))


@router.post("/set/stop", response_model=Ok)
async def stop_set(request: Request, user: Annotated[User, Depends(require(*TRAIN))]) -> Ok:
    await ask_control(hub_of(request), "stop", by=user.name)
    return Ok()


@router.post("/set/start", response_model=Ok)
async def start_set(body: SetStart, request: Request, user: Annotated[User, Depends(require(*TRAIN))]) -> Ok:
    supervising = user.role in SUPERVISE
    if body.caps is not None and not supervising:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "caps are set by a clinician or an admin")
    if body.person not in (None, user.name) and not supervising:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, "only a clinician or an admin starts a set for someone else"
        )
    profile = build_profile(body)
    load_kg = None if body.load is None else body.load * (POUND_KG if body.unit == "lb" else 1.0)
    start = {
        "profile": profile,
        "load_kg": load_kg,
        "person": body.person or user.name,
        "exercise": body.exercise,
    }
    await ask_control(hub_of(request), "start", start=start, by=user.name)
    return Ok()


def build_profile(body: SetStart) -> dict[str, Any]:
    """The shipped profile with the set's changes, validated here too for a precise 422."""
    try:
        base = load_profile(body.profile)
    except ConfigError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    data = base.model_dump(mode="json", exclude_none=True)
    changes = {
        "eccentric_pct": body.eccentric_pct,
        "reps": body.reps,
        "sets": body.sets,
        "rest_s": body.rest_s,
    }
    data.update({key: value for key, value in changes.items() if value is not None})
    if body.tempo is not None:
        data["tempo"] = body.tempo.model_dump(mode="json")
    if body.caps is not None:
        data["caps"] = body.caps.model_dump(mode="json", exclude_none=True)
    try:
        validate(data, ProfileConfig, "profile")
    except ConfigError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    return data
