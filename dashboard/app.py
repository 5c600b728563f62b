"""create_app: the dashboard's routes, the telemetry WebSocket and the page itself."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
from fastapi import FastAPI, Request, WebSocket, WebSocketDisconnect, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from controller.app.store import SqliteSessionStore
from dashboard import api_clinic, api_history, api_machine, api_workout
from dashboard.auth import COOKIE, Logins, websocket_user
from dashboard.guard import Guard
from dashboard.hub import Hub, Subscriber
from dashboard.state import Settings

HERE = Path(__file__).resolve().parent
VENDOR = HERE / "node_modules"  # npm ci --prefix dashboard (./dev does it)
FORBIDDEN_WS = 4401


async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
    """Where and why, never what was sent: an echoed body costs memory and can carry anything."""
    errors = [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
        for e in exc.errors()
    ]
    return JSONResponse({"detail": errors}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)


def create_app(settings: Settings) -> FastAPI:
    hub = Hub(settings.control_socket)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await hub.start()
        yield
        await hub.stop()

    app = FastAPI(title="eccentrix dashboard", version="1", lifespan=lifespan)
    app.add_middleware(Guard)
    app.add_exception_handler(RequestValidationError, _invalid)  # type: ignore[arg-type]
    app.state.settings = settings
    app.state.hub = hub
    app.state.logins = Logins(account_of=lambda name: _account(settings.store, name))
    app.state.replay_lock = asyncio.Lock()
    app.include_router(api_machine.router)
    app.include_router(api_history.router)
    app.include_router(api_clinic.router)
    app.include_router(api_workout.router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    if not (VENDOR / "uplot").is_dir():
        raise RuntimeError(f"{VENDOR}/uplot is missing: run `npm ci --prefix {HERE}` (./dev does it)")
    app.mount("/vendor", StaticFiles(directory=VENDOR), name="vendor")

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(HERE / "static" / "index.html")

    @app.websocket("/ws/telemetry")
    async def telemetry(websocket: WebSocket) -> None:
        viewer = websocket_user(websocket)
        if viewer is None:
            await websocket.close(code=FORBIDDEN_WS, reason="log in first")
            return
        await websocket.accept()
        subscriber = Subscriber(viewer)
        for text in hub.snapshot(viewer):
            subscriber.offer(text)
        hub.subscribers.add(subscriber)
        # Both ends at once: a browser gone (or the server stopping) is seen even when nothing is
        # left to send. Waiting on the queue alone, a dashboard whose control process had stopped
        # never noticed, and kept the server from exiting. anyio's task group, as Starlette runs
        # the handler in anyio: a cancel from outside must find its way through it intact.
        token = websocket.cookies.get(COOKIE)
        try:
            async with anyio.create_task_group() as both:

                async def forward() -> None:
                    await _forward(websocket, subscriber, app.state.logins, token)
                    both.cancel_scope.cancel()

                async def watch() -> None:
                    await _until_gone(websocket)
                    both.cancel_scope.cancel()

                both.start_soon(forward)
                both.start_soon(watch)
        finally:
            hub.subscribers.discard(subscriber)

    return app


async def _forward(websocket: WebSocket, subscriber: Subscriber, logins: Logins, token: str | None) -> None:
    try:
        while True:
            text = await subscriber.queue.get()
            if logins.user(token) is None:  # logged out, or expired, meanwhile
                await websocket.close(code=FORBIDDEN_WS, reason="logged out")
                return
            await websocket.send_text(text)
    except (WebSocketDisconnect, RuntimeError):
        pass


async def _until_gone(websocket: WebSocket) -> None:
    """A browser sends nothing on this socket; what comes anyway is dropped."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while (await websocket.receive())["type"] != "websocket.disconnect":
            pass


def _account(store_path: Path, name: str) -> tuple[str, str] | None:
    """(role, password hash) as the store has it now: the bridge changes accounts the site sends."""
    store = SqliteSessionStore(store_path)
    try:
        return store.account(name)
    finally:
        store.close()
