"""A site under a fleet: N simulated machines doing real sets, each with its own MQTT bridge
process, into one site worker (`eccentrix site`) on PostgreSQL, through one mosquitto.

    .venv/bin/python bench/site.py [--machines 50] [--reps 12] [--rate-hz 100] [--burst 20000]

1. The fleet: every machine is the real control service (simulated drive and lifter, paced to real
   time, at --rate-hz as in bench/fleet.py), its set is a real set; its bridge is its own process.
   In the middle, the site worker is killed (SIGKILL) and started again 5 s later; later the
   broker is stopped and started again 5 s later (its sessions and queues kept on disk). Prints the
   reps the machines completed, those lost and those stored twice (goal 0 and 0), and the time
   from a rep leaving its machine to being stored and queryable at the site (p50/p99), apart from
   the reps that waited out an outage.
2. Ingest capacity: --burst reps from 10 publishers at once, as fast as the broker takes them.
3. A patient's 12-week history: 3 sessions a week of 4 blocks of 3 x 10 reps (4320 reps) among 50
   such patients, read through the site's API.
Needs mosquitto and PostgreSQL (./dev test installs them).
"""

from __future__ import annotations

import argparse
import signal
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
from psycopg.types.json import Jsonb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from fleet import Machine, machine_file

from controller.bridge.process import start_bridge
from controller.config import load_profile
from tests.mqtt_harness import Broker
from tests.postgres_harness import postgres
from tests.site_harness import SiteWorker, count, fresh_database, publish, rep, site_file

HISTORY_PATIENTS = 50
HISTORY_WEEKS = 12


def when(ready: Callable[[], bool], action: Callable[[], None]) -> tuple[float, float]:
    """Run `action` once `ready()`; (began, ended) in Unix time."""
    while not ready():
        time.sleep(0.1)
    began = time.time()
    action()
    return began, time.time()


def fleet_phase(args: argparse.Namespace, folder: Path, database: str) -> None:
    # mosquitto started as root runs as the user `mosquitto`: its store must be a folder it can write,
    # or a restart silently forgets every queued message.
    kept = folder / "broker"
    kept.mkdir()
    folder.chmod(0o755)
    kept.chmod(0o777)
    settings = f"persistence true\npersistence_location {kept}/\nmax_queued_messages 0\n"
    broker = Broker(folder, settings)
    broker.start()
    site = SiteWorker(site_file(folder, database, broker.url))
    site.start()
    paths = [machine_file(folder, i, broker.url, args.rate_hz) for i in range(args.machines)]
    machines = [Machine(folder, i, path) for i, path in enumerate(paths)]
    for m in machines:
        m.thread.start()
    bridges = [start_bridge(m.service.port.path, str(p), None) for m, p in zip(machines, paths, strict=True)]
    while any(m.service.port.client_count == 0 for m in machines):
        time.sleep(0.1)
    profile = load_profile("constant").model_copy(update={"reps": args.reps})
    outages: list[tuple[str, float, float]] = []

    def restart_site() -> None:
        site.stop(signal.SIGKILL)
        time.sleep(5)
        site.start()

    def restart_broker() -> None:
        broker.stop()
        assert (kept / "mosquitto.db").exists(), "the broker kept nothing on disk"
        time.sleep(5)
        broker.start()

    def done() -> int:
        return sum(len(m.reps) for m in machines)

    def direct() -> None:
        total = args.machines * args.reps
        outages.append(
            ("site worker killed and restarted", *when(lambda: done() >= 0.25 * total, restart_site))
        )
        outages.append(
            ("broker stopped and restarted", *when(lambda: done() >= 0.55 * total, restart_broker))
        )

    director = threading.Thread(target=direct, daemon=True)
    started = time.monotonic()
    for i, m in enumerate(machines):
        m.service.start_block(profile, 20.0, f"patient-{i % 20}")
    director.start()
    for m in machines:
        m.thread.join(timeout=120 + 15 * args.reps)
    director.join(timeout=60)
    completed = done()
    deadline = time.monotonic() + 120
    while count(database, "reps") < completed and time.monotonic() < deadline:
        time.sleep(0.5)
    elapsed = time.monotonic() - started
    for bridge in bridges:
        bridge.terminate()
    for bridge in bridges:
        bridge.wait(timeout=20)
    health = site.health()
    site.stop()
    broker.stop()
    report_fleet(args, database, machines, completed, elapsed, outages, health)


def report_fleet(
    args: argparse.Namespace,
    database: str,
    machines: list[Machine],
    completed: int,
    elapsed: float,
    outages: list[tuple[str, float, float]],
    health: dict[str, object],
) -> None:
    expected = {(f"gym-{i}", r) for i, m in enumerate(machines) for r in m.reps}
    with psycopg.connect(database) as connection:
        rows = connection.execute(
            "SELECT machine, rep_index, (metrics->>'ts')::float, extract(epoch FROM stored_at)::float"
            " FROM reps"
        ).fetchall()
    stored = [(machine, index) for machine, index, _, _ in rows]
    calm = [
        (at - ts) * 1e3
        for _, _, ts, at in rows
        if not any(began - 1 <= ts <= ended + 15 for _, began, ended in outages)
    ]
    print(
        f"{args.machines} machines at {args.rate_hz:.0f} Hz, {args.reps} reps each, "
        f"one site worker, {elapsed:.0f} s"
    )
    for name, began, ended in outages:
        print(f"  {name} ({ended - began:.0f} s)")
    print(
        f"  reps: {completed} completed, {len(expected - set(stored))} lost, "
        f"{len(stored) - len(set(stored))} stored twice   (goal 0 and 0); "
        f"{health['duplicates']} redeliveries absorbed since the restart"
    )
    print(
        f"  rep -> stored and queryable: p50 {np.percentile(calm, 50):.0f} ms, "
        f"p99 {np.percentile(calm, 99):.0f} ms ({len(calm)} reps away from the outages)"
    )


def burst_phase(args: argparse.Namespace, folder: Path, database: str) -> None:
    folder = folder / "burst"
    folder.mkdir()
    broker = Broker(folder, "persistence false\nmax_queued_messages 0\n")
    broker.start()
    with SiteWorker(site_file(folder, database, broker.url, "site-burst")):
        before = count(database, "reps")
        per_publisher = args.burst // 10
        batches = [
            [
                (f"eccentrix/burst-{p}/rep", rep(f"burst-{p}", uuid.uuid4().hex, 1, i + 1))
                for i in range(per_publisher)
            ]
            for p in range(10)
        ]
        started = time.monotonic()
        threads = [threading.Thread(target=publish, args=(broker.port, batch)) for batch in batches]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        published = time.monotonic() - started
        while count(database, "reps") < before + 10 * per_publisher:
            time.sleep(0.1)
        stored = time.monotonic() - started
    broker.stop()
    total = 10 * per_publisher
    print(
        f"  ingest capacity: {total} reps from 10 publishers, published in {published:.1f} s, "
        f"stored in {stored:.1f} s: {total / stored:.0f} reps/s"
    )


def history_phase(folder: Path, database: str) -> None:
    now = time.time()
    rows = []
    for patient in range(HISTORY_PATIENTS):
        for week in range(HISTORY_WEEKS):
            for session in range(3):
                at = now - (week * 7 + session * 2 + 1) * 86400
                for block in range(4):
                    uid = uuid.uuid4().hex
                    for s in range(1, 4):
                        for r in range(1, 11):
                            body = rep(f"gym-{block}", uid, s, r, f"history-{patient}") | {"ts": at}
                            rows.append((f"gym-{block}", uid, s, r, f"history-{patient}", at, body))
    folder = folder / "history"
    folder.mkdir()
    broker = Broker(folder, "persistence false\n")
    broker.start()
    with SiteWorker(site_file(folder, database, broker.url, "site-history")) as site:
        copy_into_reps(database, rows)
        times = []
        for _ in range(5):
            began = time.perf_counter()
            reps = site.get(f"/api/people/history-7/reps?weeks={HISTORY_WEEKS}")
            times.append(time.perf_counter() - began)
    broker.stop()
    print(
        f"  a patient's {HISTORY_WEEKS}-week history: {len(reps)} reps (of {len(rows)} in the table) through "
        f"the API in {statistics.median(times) * 1e3:.0f} ms (median of 5)"
    )


def copy_into_reps(database: str, rows: list[tuple[Any, ...]]) -> None:
    with psycopg.connect(database) as connection, connection.cursor() as cursor:
        with cursor.copy(
            "COPY reps (machine, block, set_index, rep_index, person, at, metrics) FROM STDIN"
        ) as copy:
            for machine, uid, s, r, person, at, body in rows:
                stamp = time.strftime("%Y-%m-%d %H:%M:%S+00", time.gmtime(at))
                copy.write_row((machine, uid, s, r, person, stamp, Jsonb(body)))
        connection.execute("ANALYZE reps")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--machines", type=int, default=50)
    parser.add_argument("--reps", type=int, default=12)
    parser.add_argument("--rate-hz", type=float, default=100.0)
    parser.add_argument("--burst", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, postgres() as cluster:
        folder = Path(tmp)
        database = fresh_database(cluster)
        fleet_phase(args, folder, database)
        burst_phase(args, folder, fresh_database(cluster))
        history_phase(folder, fresh_database(cluster))


if __name__ == "__main__":
    main()
