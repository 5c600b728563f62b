"""A site server (`eccentrix site`, its own process) on a throwaway PostgreSQL and a real mosquitto,
and machines' messages as their bridges publish them."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import aiomqtt
import httpx
import psycopg

from controller.app.clinic import Clinic
from controller.app.store import SqliteSessionStore
from controller.bridge.signing import sign
from controller.bridge.uploads import SIGNATURE_HEADER, RecordingClaim, recording_path
from controller.core.reps import RepMetrics
from tests.live_dashboard import free_port
from tests.mqtt_harness import KEY, MACHINE_ID, Broker, broker
from tests.postgres_harness import Postgres

# The site's broker keeps what a site worker has not taken while it is away: all of it, in a test.
SITE_BROKER = "persistence false\nmax_queued_messages 0\nmax_inflight_messages 100\n"


@contextmanager
def kept_on_disk() -> Iterator[str]:
    """SITE_BROKER with persistence in a folder of its own. mosquitto started as root runs as the
    user `mosquitto`, so the folder must be one that user can write; pytest's own is not (without
    a word, the broker then forgets its queues on a restart)."""
    with tempfile.TemporaryDirectory(prefix="ecx-mosquitto-") as folder:
        Path(folder).chmod(0o777)
        yield SITE_BROKER.replace("persistence false", f"persistence true\npersistence_location {folder}/")


def fresh_database(cluster: Postgres) -> str:
    name = f"site_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(cluster.url, autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    return cluster.url.rsplit("/", 1)[0] + f"/{name}"


@dataclass(frozen=True, slots=True)
class Site:
    database: str
    broker: Broker
    worker: SiteWorker


@contextmanager
def a_site(folder: Path, cluster: Postgres, settings: str = SITE_BROKER, **site: Any) -> Iterator[Site]:
    """A fresh database, a broker, and one site worker on both; `site`: site_file's options."""
    database = fresh_database(cluster)
    with (
        broker(folder, settings) as mosquitto,
        SiteWorker(site_file(folder, database, mosquitto.url, **site)) as worker,
    ):
        yield Site(database, mosquitto, worker)


def site_file(
    folder: Path,
    database: str,
    broker_url: str,
    worker: str = "site-1",
    share_group: str | None = None,
    token_file: Path | None = None,
    key_dir: Path | None = None,
    recordings: str = "",
    logins: bool = False,
) -> Path:
    """`recordings`: the [recordings] section's lines (TOML), none: no such section."""
    path = folder / f"{worker}.toml"
    shared = f'share_group = "{share_group}"\n' if share_group else ""
    token = f'token_file = "{token_file}"\n' if token_file else ""
    token += "logins = true\n" if logins else ""
    machines = f'[machines]\nkey_dir = "{key_dir}"\n' if key_dir else ""
    path.write_text(
        f'name = "test-site"\n[database]\nurl = "{database}"\n'
        f'[mqtt]\nurl = "{broker_url}"\nworker = "{worker}"\n{shared}'
        f"[api]\nport = {free_port()}\n{token}{machines}"
        + (f"[recordings]\n{recordings}\n" if recordings else "")
    )
    return path


class SiteWorker:
    """One `eccentrix site` process; it can be stopped, killed and started again on the same file
    (the same worker, so the same MQTT session)."""

    def __init__(self, file: Path, port: int | None = None) -> None:
        """`port`: the API's, the same on every start (machines are told it); none: a fresh one."""
        self.file = file
        self.port = port
        self.url = ""
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 60.0) -> None:
        # A fresh API port each start unless told one: the last may since be a connection's source port.
        port = self.port or free_port()
        self.file.write_text(re.sub(r"(?m)^port = \d+$", f"port = {port}", self.file.read_text()))
        self.url = f"http://127.0.0.1:{port}"
        command = [sys.executable, "-m", "controller.cli", "site", "--site", str(self.file)]
        self.process = subprocess.Popen(command)
        deadline = time.monotonic() + timeout_s
        try:
            while not self._connected():
                assert self.process.poll() is None, "the site worker exited"
                assert time.monotonic() < deadline, "the site worker did not connect to its broker"
                time.sleep(0.1)
        except BaseException:  # not left running: it would go on retrying, on a port another test may get
            self.process.kill()
            self.process.wait(timeout=30)
            self.process = None
            raise

    def _connected(self) -> bool:
        try:
            return bool(self.health()["broker_connected"])
        except httpx.HTTPError:
            return False

    def health(self) -> dict[str, Any]:
        return dict(httpx.get(f"{self.url}/api/health", timeout=5).json())

    def get(self, path: str) -> Any:
        response = httpx.get(f"{self.url}{path}", timeout=10)
        response.raise_for_status()
        return response.json()

    def stop(self, sig: int = signal.SIGTERM) -> int:
        assert self.process is not None
        self.process.send_signal(sig)
        code = self.process.wait(timeout=30)
        self.process = None
        return code

    def __enter__(self) -> SiteWorker:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=30)


def measured(index: int, velocity_mps: float = 0.5, force_n: float = 400.0) -> RepMetrics:
    """A rep of 0.5 m up in 1 s and down in 2 s."""
    return RepMetrics(
        index=index,
        concentric_s=1.0,
        eccentric_s=2.0,
        rom_m=0.5,
        mean_concentric_force_n=force_n,
        mean_eccentric_force_n=1.3 * force_n,
        peak_force_n=1.5 * force_n,
        mean_concentric_velocity_mps=velocity_mps,
        mean_propulsive_velocity_mps=velocity_mps,
        peak_concentric_velocity_mps=1.6 * velocity_mps,
        mean_concentric_power_w=force_n * velocity_mps,
        time_under_tension_s=3.0,
        velocity_loss_pct=0.0,
        peak_speed_mps=1.6 * velocity_mps,
        longest_stall_s=0.0,
        assisted=False,
        failed=False,
    )


def rep(
    machine: str, block: str, set_index: int, index: int, person: str = "ada", velocity_mps: float = 0.5
) -> dict[str, Any]:
    """A rep as a machine's bridge publishes it (controller/runtime/publisher.py, bridge.py)."""
    head = {"v": 1, "machine": machine, "id": uuid.uuid4().hex, "ts": time.time(), "block": block}
    return head | {"person": person, "set": set_index, **asdict(measured(index, velocity_mps))}


Message = tuple[str, dict[str, Any] | bytes]  # (topic, body): a body as JSON, or raw bytes


def publish(port: int, messages: list[Message]) -> None:
    """Each (topic, body) at QoS 1, in order, acknowledged by the broker before this returns."""

    async def send() -> None:
        async with aiomqtt.Client("127.0.0.1", port, identifier=f"machine-{uuid.uuid4().hex[:8]}") as client:
            for topic, body in messages:
                payload = body if isinstance(body, bytes) else json.dumps(body).encode()
                await client.publish(topic, payload, qos=1)

    asyncio.run(send())


def count(database: str, table: str) -> int:
    with psycopg.connect(database) as connection:
        row = connection.execute(f"SELECT count(*) FROM {table}").fetchone()
    return int(row[0]) if row else 0


def wait_until(check: Any, what: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, f"{what}: not within {timeout_s} s"
        time.sleep(0.1)


def block_done(
    machine: str, block: str, reps: int, load_kg: float, exercise: str, person: str = "ada"
) -> Message:
    """A finished block as a machine's bridge publishes it (controller/runtime/filing.py)."""
    body = {"v": 1, "machine": machine, "id": uuid.uuid4().hex, "ts": time.time(), "type": "block_done"}
    body |= {"block": block, "session": 1, "recording": None, "reps": reps, "profile": "constant"}
    body |= {"exercise": exercise, "person": person, "load_kg": load_kg, "converged_eccentric_kg": None}
    return f"eccentrix/{machine}/set", body


def state(machine: str, online: bool, set_state: str = "idle", reps_done: int = 0) -> Message:
    """A machine's retained state as its bridge publishes it (MqttBridge.state)."""
    body = {"v": 1, "machine": machine, "online": online, "time": time.time(), "set_state": set_state}
    body |= {"set_index": 1, "reps_done": reps_done, "profile": "constant", "estop": False, "fault": None}
    return f"eccentrix/{machine}/state", body


def fault(machine: str, kind: str, detail: str) -> Message:
    """A safety event as a machine's bridge publishes it."""
    body = {"v": 1, "machine": machine, "id": uuid.uuid4().hex, "ts": time.time(), "block": ""}
    return f"eccentrix/{machine}/fault", body | {"kind": kind, "detail": detail, "time": 1.0, "rep": 0}


def key_dir(folder: Path) -> Path:
    """The site's folder of machines' keys, holding the test machine's (mqtt_harness KEY)."""
    keys = folder / "keys"
    keys.mkdir(exist_ok=True)
    (keys / f"{MACHINE_ID}.key").write_bytes(KEY)
    return keys


def caps_copy(revision: int, machine: str = MACHINE_ID, person: str = "pat", key: bytes = KEY) -> bytes:
    """A person's caps as the site sends them to a machine (controller/site/to_machines.py)."""
    payload = {"v": 1, "machine": machine, "person": person, "caps": {"max_concentric_force_n": 80.0}}
    payload |= {"revision": revision, "set_by": "site api", "set_at": "2026-12-03T05:00:00+00:00"}
    return json.dumps(sign(payload, key)).encode()


def account_copy(
    revision: int, password: str | None, machine: str = MACHINE_ID, name: str = "dr-lee", key: bytes = KEY
) -> bytes:
    """An account as the site sends it to a machine; `password`: its hash, None: removed."""
    payload = {"v": 1, "machine": machine, "name": name, "role": "clinician", "password": password}
    payload |= {"revision": revision, "changed_at": "2026-12-03T05:00:00+00:00"}
    return json.dumps(sign(payload, key)).encode()


def send_chunk(
    site: SiteWorker,
    name: str,
    chunk: bytes,
    offset: int,
    size: int,
    sha256: str,
    key: bytes = KEY,
    machine: str = MACHINE_ID,
    sent: bytes | Iterator[bytes] | None = None,
) -> httpx.Response:
    """A chunk of ada's recording as a machine's uploader sends it, unchecked here (the site is
    what checks it); `sent`: other bytes than those signed."""
    claim = RecordingClaim.model_construct(
        machine=machine,
        name=name,
        offset=offset,
        size=size,
        sha256=sha256,
        chunk_sha256=hashlib.sha256(chunk).hexdigest(),
        person="ada",
        started="2026-12-03T08:00:00+00:00",
    )
    return httpx.put(
        site.url + recording_path(machine, name),
        content=chunk if sent is None else sent,
        params=claim.model_dump(exclude={"machine", "name", "chunk_sha256"}, exclude_none=True),
        headers={SIGNATURE_HEADER: claim.signature(key)},
        timeout=10,
    )


def on_machine(store: Path, read: Any) -> Any:
    """What `read` finds in a machine's store through its Clinic (the store closed after)."""
    opened = SqliteSessionStore(store)
    try:
        return read(Clinic(opened))
    finally:
        opened.close()
