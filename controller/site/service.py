"""`eccentrix site`: migrate the schema, then one ingest worker and the read API in one process."""

from __future__ import annotations

import asyncio
import logging

import uvicorn
from fastapi import APIRouter
from psycopg_pool import AsyncConnectionPool
from sqlalchemy.exc import OperationalError

from controller.config.site import SiteConfig
from controller.site.api import site_app
from controller.site.api_plans import plans_api
from controller.site.api_recordings import recordings_api
from controller.site.connect import password_of
from controller.site.ingest import IngestWorker
from controller.site.recordings import RecordingInbox
from controller.site.schema import migrate
from controller.site.store import SiteStore
from controller.site.to_machines import machine_keys

log = logging.getLogger(__name__)

POOL_SIZE = 4
POOL_WAIT_S = 10.0  # then PoolTimeout: the database is down, and the worker backs off


def connection_pool(config: SiteConfig) -> AsyncConnectionPool:
    password = password_of(config.database)
    options = {"password": password} if password else {}
    return AsyncConnectionPool(
        config.database.url, kwargs=options, min_size=1, max_size=POOL_SIZE, timeout=POOL_WAIT_S, open=False
    )


def api_parts(config: SiteConfig, worker: IngestWorker) -> list[APIRouter]:
    """The API's halves beside the read API: plans always, recordings where the site keeps them."""
    parts = [plans_api(worker.store.plans, worker)]
    if config.recordings is not None:
        inbox = RecordingInbox(config.recordings.folder, config.recordings.max_mb * 1024 * 1024)
        parts.append(recordings_api(inbox, worker.keys, worker.store))
    return parts


class DatabaseUnreachable(ConnectionError):
    pass


async def serve_site(config: SiteConfig, stop: asyncio.Event) -> None:
    try:
        await asyncio.to_thread(migrate, config.database.url, password_of(config.database))
    except OperationalError as exc:  # no schema, no site: say why in one line, and exit
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise DatabaseUnreachable(f"database.url {config.database.url}: {reason}") from None
    pool = connection_pool(config)
    await pool.open()
    store = SiteStore(pool)
    keys = machine_keys(config.machines.key_dir if config.machines else None)
    worker = IngestWorker(config.mqtt, store, keys)
    token = config.api.token_file.read_text().strip() if config.api.token_file else None
    app = site_app(store, worker, token, api_parts(config, worker), config.api.logins)
    api = uvicorn.Server(uvicorn.Config(app, host=config.api.host, port=config.api.port, log_level="warning"))
    ingest, serving = asyncio.create_task(worker.run()), asyncio.create_task(api.serve())
    stopped = asyncio.create_task(stop.wait())
    where = f"http://{config.api.host}:{config.api.port}"
    log.info("site %s: worker %s, API on %s", config.name, config.mqtt.worker, where)
    try:
        # uvicorn takes SIGINT and SIGTERM while it serves, and ends: that is a stop too. A worker
        # that ends has met a bug: the process exits with it rather than serve stale figures.
        await asyncio.wait([ingest, serving, stopped], return_when=asyncio.FIRST_COMPLETED)
    finally:
        api.should_exit = True
        await worker.say_offline()
        for task in (ingest, stopped):
            task.cancel()
        results = await asyncio.gather(ingest, serving, stopped, return_exceptions=True)
        await pool.close()
    failed = [r for r in results if isinstance(r, Exception)]
    if failed:
        raise failed[0]
