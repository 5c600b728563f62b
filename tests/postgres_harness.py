"""A throwaway PostgreSQL cluster: Debian's `initdb` and `pg_ctl` in a temp dir, on a loopback
port of its own, trusted logins, no fsync. As root the cluster runs as the `postgres` user (the
server refuses to run as root), so its folder is made outside pytest's private tmp tree."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.live_dashboard import free_port

USER = "eccentrix"


def postgres_bin(tool: str) -> str:
    found = shutil.which(tool) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{tool}"))), None)
    assert found, f"{tool} is missing: ./dev test installs Debian's postgresql"
    return found


@dataclass(frozen=True, slots=True)
class Postgres:
    folder: Path
    port: int
    as_user: tuple[str, ...]  # the command prefix that runs a tool as the cluster's owner

    @property
    def url(self) -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/postgres"

    def pg_ctl(self, *args: str) -> None:
        data = str(self.folder / "data")
        command = [*self.as_user, postgres_bin("pg_ctl"), "-D", data, "-l", str(self.folder / "log"), *args]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, timeout=120)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self.pg_ctl("-w", "-t", "60", "-o", options, "start")

    def stop(self) -> None:
        self.pg_ctl("-w", "-t", "60", "-m", "fast", "stop")

    def accepts(self) -> bool:
        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", self.port)) == 0


@contextmanager
def postgres() -> Iterator[Postgres]:
    folder = Path(tempfile.mkdtemp(prefix="ecx-pg-"))
    as_user: tuple[str, ...] = ()
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
        as_user = ("runuser", "-u", "postgres", "--")
    cluster = Postgres(folder, free_port(), as_user)
    initdb = [*as_user, postgres_bin("initdb"), "-D", str(folder / "data"), "-U", USER, "-A", "trust"]
    subprocess.run([*initdb, "--no-sync", "-E", "UTF8"], check=True, stdout=subprocess.DEVNULL, timeout=120)
    cluster.start()
    try:
        yield cluster
    finally:
        if cluster.accepts():
            cluster.stop()
        shutil.rmtree(folder, ignore_errors=True)
