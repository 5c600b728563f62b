"""The dashboard's logins and roles on the web: a login (controller/app/logins.py) is an opaque token
in an HttpOnly, SameSite=Strict cookie; each route names the roles that may use it. Passwords are
scrypt hashes (controller/app/accounts.py)."""

from __future__ import annotations

from fastapi import HTTPException, Request, WebSocket, status

from controller.app.logins import LOGIN_IDLE_S, Logins, Role, User

__all__ = ["COOKIE", "LOGIN_IDLE_S", "Logins", "Role", "User", "current_user", "require", "websocket_user"]

COOKIE = "ecx_session"

# Who may do what. E-stop is every role's: a stop button nobody may press is no stop button.
TRAIN = (Role.ATHLETE, Role.PATIENT, Role.CLINICIAN, Role.ADMIN)
# A set of one's own choosing; a patient trains on the plan their clinician set (Today).
CHOOSE_SETS = (Role.ATHLETE, Role.CLINICIAN, Role.ADMIN)
SUPERVISE = (Role.CLINICIAN, Role.ADMIN)
ADMINISTER = (Role.ADMIN,)


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
