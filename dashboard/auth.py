"""Accounts, logins and roles.

Passwords are stored as scrypt hashes (hashlib: no extra dependency, memory-hard). A login gives an
opaque random token in an HttpOnly, SameSite=Strict cookie; tokens live in this process only, so a
restart of the dashboard logs everyone out, which is fine for a machine's console.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from enum import StrEnum

from fastapi import HTTPException, Request, WebSocket, status

COOKIE = "ecx_session"
LOGIN_IDLE_S = 12 * 3600.0
LOGIN_MAX_S = 24 * 3600.0  # however busy: a login ends a day after it began
FAILURES_BEFORE_LOCK = 5
LOCK_S = 300.0  # a name with that many wrong passwords in a row waits this long


class Role(StrEnum):
    ATHLETE = "athlete"
    PATIENT = "patient"
    CLINICIAN = "clinician"
    ADMIN = "admin"


# Who may do what. E-stop is every role's: a stop button nobody may press is no stop button.
TRAIN = (Role.ATHLETE, Role.PATIENT, Role.CLINICIAN, Role.ADMIN)
# A set of one's own choosing; a patient trains on the plan their clinician set (Today).
CHOOSE_SETS = (Role.ATHLETE, Role.CLINICIAN, Role.ADMIN)
SUPERVISE = (Role.CLINICIAN, Role.ADMIN)
ADMINISTER = (Role.ADMIN,)


@dataclass(slots=True)
class User:
    name: str
    role: Role
    last_seen: float
    since: float = 0.0


class Logins:
    def __init__(self) -> None:
        self._users: dict[str, User] = {}
        self._failures: dict[str, tuple[int, float]] = {}  # name -> (wrong in a row, the last when)

    def open(self, name: str, role: Role) -> str:
        token = secrets.token_urlsafe(32)
        now = time.monotonic()
        self._users[token] = User(name, role, now, now)
        self._failures.pop(name, None)
        return token

    def locked_for_s(self, name: str) -> float:
        """How long this name must wait before another try (0: it may try now)."""
        failures, last = self._failures.get(name, (0, 0.0))
        if failures < FAILURES_BEFORE_LOCK:
            return 0.0
        return max(0.0, last + LOCK_S - time.monotonic())

    def failed(self, name: str) -> None:
        failures, last = self._failures.get(name, (0, 0.0))
        if time.monotonic() - last > LOCK_S:
            failures = 0  # an old run of mistakes is forgotten
        self._failures[name] = (failures + 1, time.monotonic())

    def close(self, token: str | None) -> None:
        if token:
            self._users.pop(token, None)

    def close_all(self, name: str, keep: str | None = None) -> None:
        """End every login of this name but `keep`: after a password change, a stolen one too."""
        for token in [t for t, user in self._users.items() if user.name == name and t != keep]:
            del self._users[token]

    def user(self, token: str | None) -> User | None:
        if not token or (user := self._users.get(token)) is None:
            return None
        now = time.monotonic()
        if now - user.last_seen > LOGIN_IDLE_S or now - user.since > LOGIN_MAX_S:
            del self._users[token]
            return None
        user.last_seen = now
        return user


def current_user(request: Request) -> User:
    user = request.app.state.logins.user(request.cookies.get(COOKIE))
    if user is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "log in first (POST /api/login)")
    assert isinstance(user, User)
    return user


def require(*roles: Role) -> object:
    """A route dependency: the logged-in user, if their role may do this."""

    def check(request: Request) -> User:
        user = current_user(request)
        if user.role not in roles:
            allowed = ", ".join(r.value for r in roles)
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, f"role {user.role.value!r} may not do this ({allowed} may)"
            )
        return user

    return check


def websocket_user(websocket: WebSocket) -> User | None:
    user = websocket.app.state.logins.user(websocket.cookies.get(COOKIE))
    return user if isinstance(user, User) else None
