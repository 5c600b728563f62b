"""Logins held in the memory of the process that serves them (a machine's dashboard, a site's page):
an opaque random token per login, idle and absolute lifetimes, and a lock on a name after a run of
wrong passwords. A restart logs everyone out, which is fine for a console. The web parts (cookies,
route dependencies) stay with each server."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

LOGIN_IDLE_S = 12 * 3600.0
LOGIN_MAX_S = 24 * 3600.0  # however busy: a login ends a day after it began
FAILURES_BEFORE_LOCK = 5
LOCK_S = 300.0  # a name with that many wrong passwords in a row waits this long
# How often a login is checked against its account as stored: an account removed or its password
# or role changed elsewhere (by the site, through the bridge) ends its logins within this.
RECHECK_S = 5.0

AccountOf = Callable[[str], tuple[str, str] | None]  # name -> (role, password hash), None: no account


class Role(StrEnum):
    ATHLETE = "athlete"
    PATIENT = "patient"
    CLINICIAN = "clinician"
    ADMIN = "admin"


@dataclass(slots=True)
class User:
    name: str
    role: Role
    last_seen: float
    since: float = 0.0
    credential: str = ""  # the password hash it logged in with
    checked: float = 0.0


class Logins:
    def __init__(self, account_of: AccountOf | None = None) -> None:
        self._users: dict[str, User] = {}
        self._failures: dict[str, tuple[int, float]] = {}  # name -> (wrong in a row, the last when)
        self._account_of = account_of

    def open(self, name: str, role: Role, credential: str = "") -> str:
        token = secrets.token_urlsafe(32)
        now = time.monotonic()
        self._users[token] = User(name, role, now, now, credential, now)
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

    def close_all(self, name: str, keep: str | None = None, credential: str = "") -> None:
        """End every login of this name but `keep` (which goes on with the new `credential`): after
        a password change, a stolen one too."""
        for token in [t for t, user in self._users.items() if user.name == name and t != keep]:
            del self._users[token]
        if keep in self._users:
            self._users[keep].credential = credential

    def user(self, token: str | None) -> User | None:
        if not token or (user := self._users.get(token)) is None:
            return None
        now = time.monotonic()
        if (
            now - user.last_seen > LOGIN_IDLE_S
            or now - user.since > LOGIN_MAX_S
            or not self._still_so(user, now)
        ):
            del self._users[token]
            return None
        user.last_seen = now
        return user

    def _still_so(self, user: User, now: float) -> bool:
        """Whether the account is still as it was at login (checked every RECHECK_S)."""
        if self._account_of is None or now - user.checked < RECHECK_S:
            return True
        user.checked = now
        return self._account_of(user.name) == (user.role.value, user.credential)
