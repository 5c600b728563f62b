"""Login, machine status and control: what a person at the machine does."""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from controller.app.accounts import MAX_PASSWORD, MIN_PASSWORD, hash_password, verify_password
from controller.app.set_request import SetRequestError, authorize
from controller.app.store import SqliteSessionStore, StoreError
from controller.config import load_profile
from controller.config.loader import CONFIG_ROOT
from controller.config.profile import Audience
from controller.wire import ControlUnavailable, Name, StartSet
from dashboard.auth import (
    ADMINISTER,
    CHOOSE_SETS,
    COOKIE,
    LOGIN_IDLE_S,
    SUPERVISE,
    TRAIN,
    Logins,
    Role,
    User,
    current_user,
    require,
)
from dashboard.hub import Hub
from dashboard.state import hub_of, open_store

router = APIRouter(prefix="/api")
Store = Annotated[SqliteSessionStore, Depends(open_store)]


class Login(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name
    password: str = Field(min_length=1, max_length=128)


Password = Annotated[str, Field(min_length=MIN_PASSWORD, max_length=MAX_PASSWORD)]


class NewAccount(Login):
    role: Role
    password: Password


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    current: str = Field(min_length=1, max_length=MAX_PASSWORD)
    new: Password


class PasswordReset(BaseModel):
    model_config = ConfigDict(extra="forbid")
    new: Password


class Me(BaseModel):
    name: str
    role: Role


class Ok(BaseModel):
    ok: bool = True
    note: str = ""


UNKNOWN_ACCOUNT_HASH = hash_password(secrets.token_urlsafe(16))  # no password matches it


async def ask_control(hub: Hub, cmd: str, **fields: Any) -> dict[str, Any]:
    try:
        reply = await hub.client.request(cmd, **fields)
    except ControlUnavailable as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from None
    if not reply.get("ok"):
        code = reply.get("status")  # the control process says which: 404, 422, 409
        code = code if isinstance(code, int) else status.HTTP_409_CONFLICT
        raise HTTPException(code, str(reply.get("error", "refused")))
    return reply


def refuse_if_locked(logins: Logins, name: str) -> None:
    wait_s = logins.locked_for_s(name)
    if wait_s > 0:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS, f"too many wrong passwords: try again in {wait_s:.0f} s"
        )


@router.post("/login", response_model=Me)
def login(body: Login, request: Request, response: Response, store: Store) -> Me:
    logins = request.app.state.logins
    refuse_if_locked(logins, body.name)
    account = store.account(body.name)
    # An unknown name costs the same scrypt as a known one: the answer's time tells nobody which.
    stored = account[1] if account is not None else UNKNOWN_ACCOUNT_HASH
    if not verify_password(body.password, stored) or account is None:
        logins.failed(body.name)
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong name or password")
    role = Role(account[0])
    token = logins.open(body.name, role, stored)
    response.set_cookie(COOKIE, token, max_age=int(LOGIN_IDLE_S), httponly=True, samesite="strict")
    return Me(name=body.name, role=role)


@router.post("/logout", response_model=Ok)
def logout(request: Request, response: Response) -> Ok:
    request.app.state.logins.close(request.cookies.get(COOKIE))
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


@router.post("/password", response_model=Ok)
def change_password(
    body: PasswordChange, request: Request, store: Store, user: Annotated[User, Depends(current_user)]
) -> Ok:
    """One's own password, the current one first: a login left open on a shared machine must not
    be enough to take the account. Wrong guesses count toward the name's lock as at login."""
    logins = request.app.state.logins
    refuse_if_locked(logins, user.name)
    account = store.account(user.name)
    if account is None or not verify_password(body.current, account[1]):
        logins.failed(user.name)
        raise HTTPException(status.HTTP_403_FORBIDDEN, "current: wrong password")
    if body.new == body.current:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "new: the same as the current password")
    new_hash = hash_password(body.new)
    store.set_password(user.name, new_hash)
    logins.close_all(user.name, keep=request.cookies.get(COOKIE), credential=new_hash)
    return Ok(note="password changed; your other logins are ended")


@router.post("/accounts/{name}/password", response_model=Ok)
def reset_password(
    name: Name,
    body: PasswordReset,
    request: Request,
    store: Store,
    _: Annotated[User, Depends(require(*ADMINISTER))],
) -> Ok:
    try:
        store.set_password(name, hash_password(body.new))
    except StoreError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    request.app.state.logins.close_all(name)
    return Ok(note=f"{name}'s password is reset and their logins ended")


@router.get("/status")
def machine_status(request: Request, user: Annotated[User, Depends(current_user)]) -> dict[str, Any]:
    hub = hub_of(request)
    return {"connected": hub.connected, **hub.seen_by(user)}


@router.get("/profiles")
def profiles(user: Annotated[User, Depends(current_user)]) -> list[dict[str, Any]]:
    """The profiles this person picks from: lifters the training ones, clinicians and admins all of
    them, a patient none (their sets come from their protocol)."""
    if user.role is Role.PATIENT:
        return []
    names = sorted(p.stem for p in (CONFIG_ROOT / "profiles").glob("*.toml"))
    shown = [(name, load_profile(name)) for name in names]
    if user.role not in SUPERVISE:
        shown = [(name, p) for name, p in shown if p.audience is Audience.TRAINING]
    return [p.model_dump(mode="json") | {"file": name} for name, p in shown]


@router.post("/estop", response_model=Ok)
async def estop(request: Request) -> Ok:
    """Anyone's, logged in or not, like the red button on the machine: whoever stands by a person
    in trouble must not first need a password. It only ever takes tension off; clearing it (reset)
    takes a login. A page on another site still cannot press it (dashboard/guard.py)."""
    user = request.app.state.logins.user(request.cookies.get(COOKIE))
    who = (
        user.name
        if isinstance(user, User)
        else f"no login ({request.client.host if request.client else '?'})"
    )
    await ask_control(hub_of(request), "estop", by=who)
    return Ok(note="stopped: all tension off; a logged-in person resets it once the handle is at rest")


@router.post("/reset", response_model=Ok)
async def reset(request: Request, user: Annotated[User, Depends(require(*TRAIN))]) -> Ok:
    reply = await ask_control(hub_of(request), "reset", by=user.name)
    return Ok(note=str(reply.get("note", "")))


@router.post("/set/stop", response_model=Ok)
async def stop_set(request: Request, user: Annotated[User, Depends(require(*TRAIN))]) -> Ok:
    await ask_control(hub_of(request), "stop", by=user.name)
    return Ok()


@router.post("/set/skip-rest", response_model=Ok)
async def skip_rest(request: Request, user: Annotated[User, Depends(require(*TRAIN))]) -> Ok:
    await ask_control(hub_of(request), "skip_rest", by=user.name)
    return Ok()


@router.post("/set/start", response_model=Ok)
async def start_set(
    body: StartSet, request: Request, user: Annotated[User, Depends(require(*CHOOSE_SETS))]
) -> Ok:
    try:
        start = authorize(body, user.name, supervising=user.role in SUPERVISE)
    except SetRequestError as exc:
        raise HTTPException(exc.status, str(exc)) from None
    reply = await ask_control(hub_of(request), "start", start=start, by=user.name)
    return Ok(note=str(reply.get("warning", "")))
