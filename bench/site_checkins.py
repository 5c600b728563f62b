"""Rehab check-ins decided at the site: how long a patient at a machine waits for today's decision.

    .venv/bin/python bench/site_checkins.py [--patients 50] [--machines 10] [--weeks 12]

A real site (`eccentrix site`) on PostgreSQL and mosquitto, reached over HTTP on loopback as a
machine's dashboard reaches it (controller/bridge/site_checkin.py ask_site, each check-in signed
and its answer checked). Each patient has a plan (Nordic hamstring) and --weeks weeks of history
(two sessions of 3 x 6 reps a week, on any of the machines) in the site's reps. Two rounds: every
patient checks in once on a machine (their plan's first decision), does a session, and checks in
again on another (decided from that session's reps): first one at a time, then every patient at
once from --machines machines. Compared with the 3 s a machine waits before it decides alone
(ANSWER_WITHIN_S). Needs mosquitto and PostgreSQL (./dev test installs them).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from controller.bridge.site_checkin import ANSWER_WITHIN_S, SiteAccess, ask_site
from controller.config.site_link import SiteLinkConfig
from tests.live_dashboard import free_port
from tests.mqtt_harness import broker
from tests.postgres_harness import postgres
from tests.site_harness import SITE_BROKER, SiteWorker, fresh_database, measured, site_file

TOKEN = "bench-token"
REPS_PER_SESSION = 18  # the protocol's second stage, 3 x 6


Row = tuple[str, str, int, int, str, datetime, str]


def session_rows(machine: str, block: str, person: str, start: datetime) -> list[Row]:
    """A session of REPS_PER_SESSION reps, each lowered on the protocol's 4 s, 6 s apart."""
    rep = replace(measured(1), eccentric_s=4.0)
    return [
        (
            machine,
            block,
            1,
            i,
            person,
            start + timedelta(seconds=6 * i),
            json.dumps(asdict(replace(rep, index=i))),
        )
        for i in range(1, REPS_PER_SESSION + 1)
    ]


def insert_reps(database: str, rows: list[Row]) -> None:
    """Straight into the site's reps table: this bench measures deciding, not ingest (bench/site.py)."""
    with psycopg.connect(database) as connection, connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO reps (machine, block, set_index, rep_index, person, at, metrics) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s)",
            rows,
        )


def history(database: str, patients: list[str], machines: list[str], weeks: int) -> int:
    """Every patient's two sessions a week of the last `weeks` weeks, on any of the machines."""
    now = datetime.now(UTC)
    rows = [
        row
        for p, person in enumerate(patients)
        for session in range(2 * weeks)
        for row in session_rows(
            machines[(p + session) % len(machines)],
            f"{person}-{session}",
            person,
            now - timedelta(days=7 * weeks) + timedelta(days=3.5 * session, minutes=p),
        )
    ]
    insert_reps(database, rows)
    return len(rows)


def timed_check_in(access: SiteAccess, person: str, at: datetime) -> tuple[float, str]:
    """(seconds waited, the decision's action)"""
    started = time.perf_counter()
    answer = ask_site(access, person, 2, at.isoformat(timespec="seconds"), None, [])
    took = time.perf_counter() - started
    assert answer is not None, f"{person}: the site has no plan"
    return took, answer.decision.action


def figures(label: str, answers: list[tuple[float, str]]) -> str:
    ms = sorted(1e3 * seconds for seconds, _ in answers)
    actions = statistics.multimode(action for _, action in answers)
    p99 = ms[min(len(ms) - 1, round(0.99 * (len(ms) - 1)))]
    return (
        f"{label}: {len(ms)} check-ins, p50 {statistics.median(ms):.0f} ms, p99 {p99:.0f} ms, "
        f"most {ms[-1]:.0f} ms (a machine decides alone after {ANSWER_WITHIN_S * 1e3:.0f} ms); "
        f"decided: {', '.join(actions)} ({sum(1 for _, a in answers if a in actions)} of {len(ms)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--patients", type=int, default=50)
    parser.add_argument("--machines", type=int, default=10)
    parser.add_argument("--weeks", type=int, default=12)
    args = parser.parse_args()
    patients = [f"patient-{i:03d}" for i in range(args.patients)]
    machines = [f"m{i:02d}" for i in range(args.machines)]
    with (
        tempfile.TemporaryDirectory() as tmp,
        postgres() as cluster,
        broker(Path(tmp), SITE_BROKER) as mosquitto,
    ):
        folder = Path(tmp)
        keys = folder / "keys"
        keys.mkdir()
        for machine in machines:
            (keys / f"{machine}.key").write_bytes(machine.encode() * 4)
        (folder / "token").write_text(TOKEN)
        database = fresh_database(cluster)
        file = site_file(folder, database, mosquitto.url, token_file=folder / "token", key_dir=keys)
        with SiteWorker(file, port=free_port()) as site:
            written = history(database, patients, machines, args.weeks)
            print(f"{args.patients} patients, {args.weeks} weeks of history each: {written} reps at the site")
            for person in patients:
                assigned = httpx.put(
                    f"{site.url}/api/people/{person}/plan",
                    json={"protocol": "nordic-hamstring"},
                    headers={"Authorization": f"Bearer {TOKEN}"},
                    timeout=30,
                )
                assigned.raise_for_status()

            def access(n: int) -> SiteAccess:
                machine = machines[n % len(machines)]
                return SiteAccess(
                    SiteLinkConfig(url=site.url), machine, (keys / f"{machine}.key").read_bytes()
                )

            first_at = datetime.now(UTC) - timedelta(minutes=4)
            one_by_one = [timed_check_in(access(n), person, first_at) for n, person in enumerate(patients)]
            print(figures("one at a time, first decision", one_by_one))
            for n, person in enumerate(patients):
                insert_reps(database, session_rows(access(n).machine, f"{person}-today", person, first_at))
            second_at = datetime.now(UTC) - timedelta(minutes=2)
            with ThreadPoolExecutor(args.machines) as pool:
                together = list(
                    pool.map(
                        lambda n: timed_check_in(access(n + 1), patients[n], second_at), range(len(patients))
                    )
                )
            print(
                figures(
                    f"all at once from {args.machines} machines, decided from the session since", together
                )
            )


if __name__ == "__main__":
    main()
