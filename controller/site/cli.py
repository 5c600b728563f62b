"""`eccentrix site --site FILE`: run one site worker (ingest and the read API) until stopped."""

from __future__ import annotations

import argparse
import asyncio
import signal
from typing import Any

from controller.config.site import SiteConfig, load_site


def cmd_site(args: argparse.Namespace) -> int:
    config = load_site(args.site)
    if args.worker:
        config = config.model_copy(update={"mqtt": config.mqtt.model_copy(update={"worker": args.worker})})
    asyncio.run(_until_stopped(config))
    return 0


async def _until_stopped(config: SiteConfig) -> None:
    # Here, not at the top: psycopg and Alembic come with the `site` extra, which a machine that
    # runs no site server does without (`pip install 'eccentrix[site]'`; ./dev installs it).
    from controller.site.service import serve_site

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await serve_site(config, stop)


def add_site_command(sub: Any) -> None:
    site = sub.add_parser("site", help="a site server: every machine's reps, sets and faults in PostgreSQL")
    site.add_argument("--site", default="example", help="name in configs/sites or a path")
    site.add_argument("--worker", help="this worker's persistent MQTT session (default: the file's)")
    site.set_defaults(func=cmd_site)
