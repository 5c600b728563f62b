"""The site's API: its machines, and a person's reps, blocks and progress on any of them (read by a
logged-in clinician or admin where the site requires logins: site/logins.py); caps and accounts,
changed with the site's token and sent to every machine."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any, Literal

import psycopg
from fastapi import APIRouter, FastAPI, HTTPException, Query, Request, status
from fastapi import Path as PathParameter
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field

from controller.app.accounts import MAX_PASSWORD, MIN_PASSWORD, hash_password
from controller.app.logins import Logins, Role
from controller.app.progress import progress_of
from controller.config import CapsConfig
from controller.site.ingest import IngestWorker
from controller.site.logins import READ, READERS, Authorization, check_changer, logins_api
from controller.site.store import AccountRecord, SiteStore
from controller.site.to_machines import account_messages, caps_messages
from controller.wire import NAME_PATTERN

Person = Annotated[str, PathParameter(min_length=1, max_length=64)]
# A person a machine can be sent caps for: a name the machines take (controller/wire.py Name)
PersonName = Annotated[str, PathParameter(min_length=1, max_length=64, pattern=NAME_PATTERN)]
Weeks = Annotated[float, Query(gt=0, le=520)]
Exercise = Annotated[str, Query(min_length=1, max_length=64)]


class AccountChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["athlete", "patient", "clinician", "admin"]
    password: str = Field(min_length=MIN_PASSWORD, max_length=MAX_PASSWORD)


STATIC = Path(__file__).resolve().parent / "static"


def site_app(
    store: SiteStore,
    worker: IngestWorker,
    token: str | None = None,
    parts: Sequence[APIRouter] = (),
    require_logins: bool = False,
) -> FastAPI:
    """`parts`: the API's other halves this site has (plans, recordings)."""
    app = FastAPI(title="eccentrix site", version="1")
    app.state.logins, app.state.require_logins = Logins(), require_logins
    app.include_router(logins_api(store))
    for part in parts:
        app.include_router(part)
    app.state.store, app.state.worker, app.state.token = store, worker, token
    app.add_exception_handler(psycopg.DataError, _not_storable)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    @app.get("/api/health")
    def health(request: Request) -> dict[str, Any]:
        ingest: IngestWorker = request.app.state.worker
        counts = ingest.counts
        return {
            "broker_connected": ingest.connected.is_set(),
            "stored": counts.stored,
            "duplicates": counts.duplicates,
            "refused": counts.refused,
            "reconnects": counts.reconnects,
            "last_refusal": counts.last_refusal,
        }

    @app.get("/api/machines", dependencies=READ)
    async def machines(request: Request) -> list[dict[str, Any]]:
        return await _store(request).machines()

    @app.get("/api/people", dependencies=READ)
    async def people(request: Request) -> list[dict[str, Any]]:
        return await _store(request).people()

    @app.get("/api/people/{name}/reps", dependencies=READ)
    async def reps(request: Request, name: Person, weeks: Weeks = 12) -> list[dict[str, Any]]:
        return await _store(request).reps_of(name, weeks)

    @app.get("/api/people/{name}/progress", dependencies=READ)
    async def progress(
        request: Request, name: Person, exercise: Exercise, weeks: Weeks = 12
    ) -> dict[str, Any]:
        """One exercise over the weeks on every machine the person used: the report a machine's own
        dashboard gives (controller/app/progress.py), a block being a session."""
        found = await _store(request).sets_of(name, exercise, weeks)
        report = progress_of(exercise, [s for _, s in found]).to_json()
        return report | {"machines": sorted({machine for machine, _ in found})}

    @app.get("/api/people/{name}/caps", dependencies=READ)
    async def caps_of(request: Request, name: PersonName) -> dict[str, Any]:
        found = await _store(request).caps(name)
        if not found:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"{name}: no caps at this site")
        return asdict(found[0])

    @app.put("/api/people/{name}/caps")
    async def set_caps(
        request: Request,
        name: PersonName,
        caps: CapsConfig,
        authorization: Authorization = None,
    ) -> dict[str, Any]:
        """A new revision of the person's caps, sent to every machine at once (or when it is back)."""
        by = check_changer(request, authorization, *READERS)
        record = await _store(request).set_caps(name, caps.model_dump_json(exclude_none=True), by)
        _worker(request).offer(caps_messages(_prefix(request), _worker(request).keys, record))
        return asdict(record)

    @app.get("/api/accounts")
    async def accounts(request: Request, authorization: Authorization = None) -> list[dict[str, Any]]:
        """Every account the machines are sent, without its password hash."""
        check_changer(request, authorization, Role.ADMIN)
        return [_public(account) for account in await _store(request).accounts()]

    @app.put("/api/accounts/{name}")
    async def set_account(
        request: Request,
        name: PersonName,
        account: AccountChange,
        authorization: Authorization = None,
    ) -> dict[str, Any]:
        """An account added or changed once, here, and sent to every machine (their dashboards'
        logins); the password is kept as an scrypt hash only."""
        check_changer(request, authorization, Role.ADMIN)
        password_hash = await asyncio.to_thread(hash_password, account.password)
        record = await _store(request).set_account(name, account.role, password_hash)
        request.app.state.logins.close_all(name)  # its logins here end: the new password from now
        _worker(request).offer(account_messages(_prefix(request), _worker(request).keys, record))
        return _public(record)

    @app.delete("/api/accounts/{name}")
    async def remove_account(
        request: Request,
        name: PersonName,
        authorization: Authorization = None,
    ) -> dict[str, Any]:
        check_changer(request, authorization, Role.ADMIN)
        found = await _store(request).accounts(name)
        if not found or found[0].password is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"{name}: no such account at this site")
        record = await _store(request).set_account(name, found[0].role, None)
        request.app.state.logins.close_all(name)
        _worker(request).offer(account_messages(_prefix(request), _worker(request).keys, record))
        return _public(record)

    @app.get("/api/people/{name}/blocks", dependencies=READ)
    async def blocks(request: Request, name: Person, weeks: Weeks = 12) -> list[dict[str, Any]]:
        return await _store(request).blocks_of(name, weeks)

    return app


async def _not_storable(request: Request, exc: Exception) -> JSONResponse:
    """A value PostgreSQL cannot hold (a NUL in a name): the request's fault, not the server's."""
    detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return JSONResponse(
        {"detail": f"a value the database cannot hold: {detail}"}, status.HTTP_422_UNPROCESSABLE_CONTENT
    )


def _public(account: AccountRecord) -> dict[str, Any]:
    """An account as the API tells it: never its password hash."""
    return asdict(account) | {"password": None, "removed": account.password is None}


def _worker(request: Request) -> IngestWorker:
    worker: IngestWorker = request.app.state.worker
    return worker


def _prefix(request: Request) -> str:
    return _worker(request).config.topic_prefix


def _store(request: Request) -> SiteStore:
    store: SiteStore = request.app.state.store
    return store
