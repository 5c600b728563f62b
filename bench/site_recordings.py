"""Recordings to the site: how fast a machine's recordings reach it, and what a cut costs.

    .venv/bin/python bench/site_recordings.py [--machines 10] [--hour-mb 53]

A real site (`eccentrix site`) on PostgreSQL and mosquitto, and the bridge's RecordingUploader at
its default chunk (256 KB), over HTTP on loopback:
1. One machine sends an hour's recording (53 MB: README, "recording: one hour at 500 Hz").
2. --machines machines at once, each with half an hour's.
3. The hour's recording again, the site killed (SIGKILL) when it holds half and started again:
   the bytes sent twice (goal: at most the chunk in flight) and the time the cut cost.
Compared with what the machines make: a machine at 500 Hz records about 15 KB/s.
Needs mosquitto and PostgreSQL (./dev test installs them).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from controller.app.store import SqliteSessionStore
from controller.app.upload_ledger import UploadLedger
from controller.bridge.uploads import RecordingUploader
from controller.config.site_link import SiteLinkConfig
from tests.live_dashboard import free_port
from tests.mqtt_harness import broker
from tests.postgres_harness import postgres
from tests.site_harness import SITE_BROKER, SiteWorker, fresh_database, site_file

MB = 1024 * 1024
RECORDED_B_PER_S = 53 * MB / 3600  # README's hour at 500 Hz
CHUNK_KB = SiteLinkConfig(url="http://x").chunk_kb


def a_machine(folder: Path, machine: str, size: int, keys: Path) -> Path:
    """A machine's session store with one session whose recording is `size` bytes; its key in `keys`."""
    home = folder / machine
    home.mkdir()
    (keys / f"{machine}.key").write_bytes(machine.encode() * 4)
    recording = home / f"{machine}-20261203-080000-constant.ecxr"
    with recording.open("wb") as file:
        for _ in range(size // MB):
            file.write(os.urandom(MB))
    store = home / "sessions.sqlite"
    opened = SqliteSessionStore(store)
    opened.start_session(opened.add_person("ada"), machine, str(recording))
    opened.close()
    return store


def done(store: Path) -> bool:
    opened = SqliteSessionStore(store)
    try:
        return UploadLedger(opened).uploaded_count() == 1
    finally:
        opened.close()


async def upload(
    uploaders: list[tuple[RecordingUploader, Path]], site: SiteWorker | None = None, kill_at: int = 0
) -> float:
    """Seconds until every store's recording is at the site; with `site`, it is killed once the
    first uploader has sent `kill_at` bytes, and started again."""
    began = time.perf_counter()
    tasks = [asyncio.create_task(uploader.run()) for uploader, _ in uploaders]
    if site is not None:
        first, _ = uploaders[0]
        while first.bytes_sent < kill_at:
            await asyncio.sleep(0.01)
        await asyncio.to_thread(site.stop, signal.SIGKILL)
        await asyncio.to_thread(site.start)
    while not all([await asyncio.to_thread(done, store) for _, store in uploaders]):
        await asyncio.sleep(0.05)
    took = time.perf_counter() - began
    for task in tasks:
        task.cancel()
    return took


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--machines", type=int, default=10)
    parser.add_argument("--hour-mb", type=int, default=53)
    args = parser.parse_args()
    hour = args.hour_mb * MB
    with (
        tempfile.TemporaryDirectory() as tmp,
        postgres() as cluster,
        broker(Path(tmp), SITE_BROKER) as mosquitto,
    ):
        folder = Path(tmp)
        keys = folder / "keys"
        keys.mkdir()
        stores = {
            "hour": a_machine(folder, "hour", hour, keys),
            "cut": a_machine(folder, "cut", hour, keys),
        }
        many = [a_machine(folder, f"m{i:02d}", hour // 2, keys) for i in range(args.machines)]
        recordings = f'folder = "{folder / "site-recordings"}"'
        file = site_file(folder, fresh_database(cluster), mosquitto.url, key_dir=keys, recordings=recordings)
        with SiteWorker(file, port=free_port()) as site:

            def uploader(machine: str, store: Path) -> tuple[RecordingUploader, Path]:
                key = (keys / f"{machine}.key").read_bytes()
                return RecordingUploader(SiteLinkConfig(url=site.url), machine, key, store), store

            one = asyncio.run(upload([uploader("hour", stores["hour"])]))
            print(f"one hour's recording ({hour / MB:.0f} MB, {CHUNK_KB} KB chunks): {one:.1f} s, "
                  f"{hour / MB / one:.1f} MB/s = {hour / one / RECORDED_B_PER_S:.0f}x "
                  "what a machine records")  # fmt: skip
            fleet = [uploader(store.parent.name, store) for store in many]
            together = asyncio.run(upload(fleet))
            sent = args.machines * (hour // 2)
            print(f"{args.machines} machines at once, half an hour's each ({sent / MB:.0f} MB): "
                  f"{together:.1f} s, {sent / MB / together:.1f} MB/s in all = what "
                  f"{sent / together / RECORDED_B_PER_S:.0f} machines record")  # fmt: skip
            cut_uploader, cut_store = uploader("cut", stores["cut"])
            with_cut = asyncio.run(upload([(cut_uploader, cut_store)], site, hour // 2))
            twice = cut_uploader.bytes_sent - hour
            print(f"the hour's recording with the site killed at half and started again: {with_cut:.1f} s "
                  f"({with_cut - one:+.1f} s), {twice / 1024:.0f} KB sent twice "
                  f"(goal: at most the chunk in flight, {CHUNK_KB} KB)")  # fmt: skip


if __name__ == "__main__":
    main()
