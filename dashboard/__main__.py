"""`python -m dashboard`: serve the dashboard for a running control process."""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import uvicorn

from controller.bridge.site_checkin import site_access
from controller.config import ConfigError, load_machine
from dashboard.app import create_app
from dashboard.state import Settings

SHUTDOWN_S = 5


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dashboard", description=__doc__)
    parser.add_argument("--control", required=True, type=Path, help="the control process's socket")
    parser.add_argument("--db", required=True, type=Path, help="session store (SQLite file)")
    parser.add_argument("--recordings", type=Path, help="folder of recordings to list and replay")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: this computer only)")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--parent", type=int, help="exit when this process (the demo) is gone")
    parser.add_argument("--machine", help="machine file, for its [site]: where rehab check-ins are decided")
    args = parser.parse_args(argv)
    try:
        site = site_access(load_machine(args.machine)) if args.machine else None
    except (ConfigError, OSError) as exc:
        print(f"python -m dashboard: --machine: {exc}", file=sys.stderr)
        return 2
    if args.parent:
        threading.Thread(target=_exit_with, args=(args.parent,), daemon=True).start()
    settings = Settings(args.control, args.db, args.recordings, args.host, args.port, site)
    uvicorn.run(
        create_app(settings),
        host=args.host,
        port=args.port,
        log_level="warning",
        ws="websockets-sansio",
        timeout_graceful_shutdown=SHUTDOWN_S,  # a connection that will not close does not keep us
    )
    return 0


def _exit_with(parent: int) -> None:
    """A demo killed outright cannot stop its dashboard: the dashboard notices and goes too."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
