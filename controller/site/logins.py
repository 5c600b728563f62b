"""Logins on the site's own page and read API, with the accounts the site manages (the same names
and passwords as on every machine). Only clinicians and admins read the site: it shows every
patient. Required when the site says so (`[api] logins`, which it must on any address but
loopback); otherwise the read API is open, as on loopback behind the site's own access control."""

from __future__ import annotations

import asyncio
import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from controller.app.accounts import MAX_PASSWORD, hash_password, verify_password
from controller.app.logins import LOGIN_IDLE_S, Logins, Role, User
from controller.site.store import SiteStore

COOKIE = "ecx_site"
READERS = (Role.CLINICIAN, Role.ADMIN)
UNKNOWN_ACCOUNT_HASH = hash_password(secrets.token_urlsafe(16))  # no password matches it


class Login(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=MAX_PASSWORD)


class Me(BaseModel):
    name: str
    role: Role


def reader(request: Request) -> User | None:
    """A route dependency: who reads, if this site requires logins (None: it does not)."""
    if not request.app.state.require_logins:
        return None
    logins: Logins = request.app.state.logins
    user = logins.user(request.cookies.get(COOKIE))
    if user is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "log in first (POST /api/login)")
    if user.role not in READERS:  # an account whose role changed since it logged in
        raise HTTPException(status.HTTP_403_FORBIDDEN, "the site is read by clinicians and admins")
    return user


READ = [Depends(reader)]  # a read route's dependencies
Authorization = Annotated[str | None, Header(max_length=200)]  # "Bearer {the site's token}"


def check_changer(request: Request, authorization: str | None, *roles: Role) -> str:
    """A changing route's check: the caller has the site's token (`Authorization: Bearer TOKEN`)
    or is logged in here with one of `roles`. Who changes: "site api", or the login's name."""
    logins: Logins = request.app.state.logins
    user = logins.user(request.cookies.get(COOKIE))
    if user is not None and user.role in roles:
        return user.name
    token: str | None = request.app.state.token
    given = (authorization or "").removeprefix("Bearer ").encode()
    if token is not None and authorization is not None and hmac.compare_digest(given, token.encode()):
        return "site api"
    allowed = " or ".join(f"{role}s" for role in roles)
    if user is not None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"{user.role}: only {allowed} change this")
    if token is None:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"this site takes changes from {allowed} logged in, or with [api] token_file",
        )
    raise HTTPException(status.HTTP_401_UNAUTHORIZED, "Authorization: Bearer and the site's token, or log in")


def logins_api(store: SiteStore) -> APIRouter:
    router = APIRouter(prefix="/api")

    @router.post("/login", response_model=Me)
    async def login(body: Login, request: Request, response: Response) -> Me:
        logins: Logins = request.app.state.logins
        wait_s = logins.locked_for_s(body.name)
        if wait_s > 0:
            too_many = status.HTTP_429_TOO_MANY_REQUESTS
            raise HTTPException(too_many, f"too many wrong passwords: try again in {wait_s:.0f} s")
        found = await store.accounts(body.name)
        account = found[0] if found and found[0].password is not None else None
        # An unknown name costs the same scrypt as a known one: the answer's time tells nobody which.
        stored = account.password if account is not None and account.password else UNKNOWN_ACCOUNT_HASH
        right = await asyncio.to_thread(verify_password, body.password, stored)
        if not right or account is None or Role(account.role) not in READERS:
            logins.failed(body.name)
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong name or password (or not a clinician's)")
        role = Role(account.role)
        token = logins.open(body.name, role, stored)
        response.set_cookie(COOKIE, token, max_age=int(LOGIN_IDLE_S), httponly=True, samesite="strict")
        return Me(name=body.name, role=role)

    @router.post("/logout")
    def logout(request: Request, response: Response) -> dict[str, bool]:
        logins: Logins = request.app.state.logins
        logins.close(request.cookies.get(COOKIE))
        response.delete_cookie(COOKIE)
        return {"ok": True}

    @router.get("/me")
    def me(request: Request) -> dict[str, object]:
        """Who is logged in, and whether this site asks for it (the page shows its login form)."""
        logins: Logins = request.app.state.logins
        user = logins.user(request.cookies.get(COOKIE))
        required = bool(request.app.state.require_logins)
        return {"logins": required, "name": user.name if user else None, "role": user.role if user else None}

    return router
