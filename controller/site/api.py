"""The site's read API: its machines, and a person's reps and blocks on any of them. It listens on
loopback by default: it has no logins of its own yet, so put it behind a site's own access control
before opening it to a network."""

from __future__ import annotations

import hmac
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Header, HTTPException, Query, Request, status
from fastapi import Path as PathParameter
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from controller.app.progress import progress_of
from controller.config import CapsConfig
from controller.site.ingest import IngestWorker
from controller.site.store import SiteStore

Person = Annotated[str, PathParameter(min_length=1, max_length=64)]
# A person a machine can be sent caps for: a name the machines take (controller/wire.py Name)
PersonName = Annotated[str, PathParameter(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@ -]+$")]
Weeks = Annotated[float, Query(gt=0, le=520)]
Exercise = Annotated[str, Query(min_length=1, max_length=64)]


STATIC = Path(__file__).resolve().parent / "static"


def site_app(
    store: SiteStore, worker: IngestWorker, token: str | None = None, recordings: APIRouter | None = None
) -> FastAPI:
    app = FastAPI(title="eccentrix site", version="1")
    if recordings is not None:
        app.include_router(recordings)
    app.state.store, app.state.worker, app.state.token = store, worker, token
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

    @app.get("/api/machines")
    async def machines(request: Request) -> list[dict[str, Any]]:
        return await _store(request).machines()

    @app.get("/api/people")
    async def people(request: Request) -> list[dict[str, Any]]:
        return await _store(request).people()

    @app.get("/api/people/{name}/reps")
    async def reps(request: Request, name: Person, weeks: Weeks = 12) -> list[dict[str, Any]]:
        return await _store(request).reps_of(name, weeks)

    @app.get("/api/people/{name}/progress")
    async def progress(
        request: Request, name: Person, exercise: Exercise, weeks: Weeks = 12
    ) -> dict[str, Any]:
        """One exercise over the weeks on every machine the person used: the report a machine's own
        dashboard gives (controller/app/progress.py), a block being a session."""
        found = await _store(request).sets_of(name, exercise, weeks)
        report = progress_of(exercise, [s for _, s in found]).to_json()
        return report | {"machines": sorted({machine for machine, _ in found})}

    @app.get("/api/people/{name}/caps")
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
        authorization: Annotated[str | None, Header(max_length=200)] = None,
    ) -> dict[str, Any]:
        """A new revision of the person's caps, sent to every machine at once (or when it is back)."""
        _check_token(request, authorization)
        record = await _store(request).set_caps(name, caps.model_dump_json(exclude_none=True), "site api")
        worker: IngestWorker = request.app.state.worker
        worker.offer_caps(record)
        return asdict(record)

    @app.get("/api/people/{name}/blocks")
    async def blocks(request: Request, name: Person, weeks: Weeks = 12) -> list[dict[str, Any]]:
        return await _store(request).blocks_of(name, weeks)

    return app


def _check_token(request: Request, authorization: str | None) -> None:
    token: str | None = request.app.state.token
    if token is None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this site takes no changes: give it [api] token_file")
    given = (authorization or "").removeprefix("Bearer ").encode()
    if not hmac.compare_digest(given, token.encode()):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "Authorization: Bearer and the site's token")


def _store(request: Request) -> SiteStore:
    store: SiteStore = request.app.state.store
    return store
