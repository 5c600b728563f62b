"""Recordings go from the machine to the site: in the background, resumable, checked by hash.
A real site process on PostgreSQL and mosquitto; a real control service and its bridge; the bridge's
uploader against the site over HTTP; and the site's answers to what no machine of ours would send."""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from controller.app.store import SqliteSessionStore
from controller.app.upload_ledger import UploadLedger
from controller.bridge.uploads import SIGNATURE_HEADER, RecordingUploader, recording_path
from controller.config import ConfigError, load_machine
from controller.config.site import load_site
from controller.config.site_link import SiteLinkConfig
from tests.live_dashboard import free_port
from tests.mqtt_harness import KEY, MACHINE_ID, broker, fleet_of_one, machine_file
from tests.postgres_harness import Postgres
from tests.site_harness import (
    SITE_BROKER,
    SiteWorker,
    fresh_database,
    key_dir,
    send_chunk,
    site_file,
    wait_until,
)


def recordings_section(folder: Path, max_mb: int = 64) -> str:
    return f'folder = "{folder / "site-recordings"}"\nmax_mb = {max_mb}'


@contextmanager
def recording_site(folder: Path, cluster: Postgres, max_mb: int = 64) -> Iterator[SiteWorker]:
    """A site that keeps recordings in folder/site-recordings, its API on a port that stays the
    same over restarts (a machine is told it once)."""
    with broker(folder, SITE_BROKER) as mosquitto:
        file = site_file(
            folder,
            fresh_database(cluster),
            mosquitto.url,
            key_dir=key_dir(folder),
            recordings=recordings_section(folder, max_mb),
        )
        with SiteWorker(file, port=free_port()) as site:
            yield site


def at_site(folder: Path, name: str) -> Path:
    return folder / "site-recordings" / MACHINE_ID / name


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_a_set_on_a_machine_reaches_the_site_as_its_recording_byte_for_byte(
    tmp_path: Path, cluster: Postgres
) -> None:
    port = free_port()
    site_link = f'[site]\nurl = "http://127.0.0.1:{port}"\nchunk_kb = 16\n'
    with fleet_of_one(tmp_path, settings=SITE_BROKER, sections=site_link) as fleet:
        file = site_file(
            tmp_path,
            fresh_database(cluster),
            fleet.broker.url,
            key_dir=key_dir(tmp_path),
            recordings=recordings_section(tmp_path),
        )
        with SiteWorker(file, port=port) as site:
            machine = fleet.subscriber
            start = {"profile": "constant", "load": 10.0, "person": "ada", "reps": 2}
            assert machine.command("start", set=start)["ok"]
            (done,) = machine.filed()
            recording = Path(done["recording"])
            wait_until(lambda: site.get("/api/recordings?person=ada"), "the recording listed at the site")
            (listed,) = site.get("/api/recordings?person=ada")
            fetched = httpx.get(f"{site.url}{recording_path(MACHINE_ID, recording.name)}/file", timeout=10)
    data = recording.read_bytes()
    assert listed["name"] == recording.name and listed["machine"] == MACHINE_ID
    assert listed["sha256"] == sha256_of(data) and listed["size"] == len(data) > 16 * 1024
    assert at_site(tmp_path, recording.name).read_bytes() == data == fetched.content
    store = SqliteSessionStore(tmp_path / "sessions.sqlite")
    ledger = UploadLedger(store)
    assert ledger.pending() == [] and ledger.uploaded_count() == 1
    store.close()


def a_stored_recording(folder: Path, size: int) -> tuple[Path, Path]:
    """(the session store, the recording): a session of ada's with a recording of `size` bytes."""
    recording = folder / "recordings" / "20261203-080000-constant.ecxr"
    recording.parent.mkdir(exist_ok=True)
    recording.write_bytes(os.urandom(size))
    store_path = folder / "sessions.sqlite"
    store = SqliteSessionStore(store_path)
    store.start_session(store.add_person("ada"), MACHINE_ID, str(recording))
    store.close()
    return store_path, recording


async def until(check: Callable[[], bool], what: str, timeout_s: float = 60.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not check():
            await asyncio.sleep(0.01)
    assert check(), what


def test_an_upload_cut_by_a_site_killed_mid_file_goes_on_from_where_the_site_stopped(
    tmp_path: Path, cluster: Postgres
) -> None:
    size, chunk_kb = 4 * 1024 * 1024, 16
    store, recording = a_stored_recording(tmp_path, size)
    part = at_site(tmp_path, f".{recording.name}.part")

    def uploaded() -> bool:
        opened = SqliteSessionStore(store)
        try:
            return UploadLedger(opened).uploaded_count() == 1
        finally:
            opened.close()

    with recording_site(tmp_path, cluster) as site:
        uploader = RecordingUploader(SiteLinkConfig(url=site.url, chunk_kb=chunk_kb), MACHINE_ID, KEY, store)

        async def cut_and_resumed() -> int:
            sending = asyncio.create_task(uploader.run())
            await until(lambda: part.exists() and part.stat().st_size > size // 4, "a quarter at the site")
            await asyncio.to_thread(site.stop, signal.SIGKILL)
            held_at_the_cut = part.stat().st_size
            await asyncio.to_thread(site.start)
            await until(uploaded, "the whole recording at the site, by the machine's ledger")
            sending.cancel()
            return held_at_the_cut

        held_at_the_cut = asyncio.run(cut_and_resumed())
        (listed,) = site.get("/api/recordings")
    data = recording.read_bytes()
    assert held_at_the_cut < size
    assert at_site(tmp_path, recording.name).read_bytes() == data and listed["sha256"] == sha256_of(data)
    assert not part.exists() and uploader.refused == {}
    # Resumed, not begun again: at most the chunk in flight at the cut is sent twice
    assert size <= uploader.bytes_sent <= size + chunk_kb * 1024


def test_the_site_keeps_only_a_whole_recording_that_hashes_right_from_the_machine_that_signed_it(
    tmp_path: Path, cluster: Postgres
) -> None:
    data, name = os.urandom(100_000), "20261203-080000-constant.ecxr"
    whole, half = sha256_of(data), 50_000
    with recording_site(tmp_path, cluster, max_mb=1) as site:
        # not the machine's key, a machine the site has no key for, bytes changed after signing
        assert send_chunk(site, name, data, 0, len(data), whole, key=b"not-the-key").status_code == 401
        assert send_chunk(site, name, data, 0, len(data), whole, machine="gym-9").status_code == 403
        assert send_chunk(site, name, data, 0, len(data), whole, sent=data[:-1] + b"\0").status_code == 401
        assert not (tmp_path / "site-recordings" / MACHINE_ID).exists()
        # a chunk from past what the site holds: it says where to go on from
        ahead = send_chunk(site, name, data[half:], half, len(data), whole)
        assert ahead.status_code == 409 and ahead.json()["received"] == 0
        first = send_chunk(site, name, data[:half], 0, len(data), whole)
        assert first.status_code == 200
        assert (first.json()["received"], first.json()["complete"]) == (half, False)
        again = send_chunk(site, name, data[:half], 0, len(data), whole)  # a retry whose answer was lost
        assert again.status_code == 409 and again.json()["received"] == half
        assert site.get("/api/recordings") == []
        # declared with another hash from its start: whole, it hashes wrong, and is not kept
        wrong = sha256_of(b"another file")
        assert send_chunk(site, name, data[:half], 0, len(data), wrong).status_code == 200
        refused = send_chunk(site, name, data[half:], half, len(data), wrong)
        assert refused.status_code == 409 and refused.json()["received"] == 0
        assert refused.json()["detail"].startswith("sha256:")
        assert not at_site(tmp_path, name).exists() and site.get("/api/recordings") == []
        # sent right: kept, listed, and the same name for another file is refused
        kept = send_chunk(site, name, data, 0, len(data), whole)
        assert kept.status_code == 200 and kept.json()["complete"] is True
        assert at_site(tmp_path, name).read_bytes() == data
        assert [(r["name"], r["person"], r["size"]) for r in site.get("/api/recordings")] == [
            (name, "ada", len(data))
        ]
        other = send_chunk(site, name, data[:10], 0, 10, sha256_of(data[:10]))
        assert other.status_code == 422 and "name" in other.json()["detail"]
        # larger than the site keeps; a name that could be a partial's
        big = send_chunk(site, "big.ecxr", data, 0, 2 * 1024 * 1024, whole)
        assert big.status_code == 422 and big.json()["detail"].startswith("size:")
        assert send_chunk(site, f".{name}.part", data, 0, len(data), whole).status_code == 422
        hidden = httpx.get(f"{site.url}{recording_path(MACHINE_ID, f'.{name}.part')}/file", timeout=10)
        assert hidden.status_code == 422
        # a chunk past the largest a machine sends, with its length told or not (read so far only)
        too_much = b"\0" * (4096 * 1024 + 1)
        assert send_chunk(site, "long.ecxr", too_much, 0, len(too_much), whole).status_code == 413
        streamed = send_chunk(site, "long.ecxr", b"", 0, len(too_much), whole, sent=iter([too_much]))
        assert streamed.status_code == 413 and streamed.request.headers.get("transfer-encoding") == "chunked"
        # how much the site holds is told only to the machine
        unsigned = httpx.get(
            site.url + recording_path(MACHINE_ID, name), headers={SIGNATURE_HEADER: "0" * 64}
        )
        assert unsigned.status_code == 401


def test_recordings_need_the_machines_keys_and_an_uploading_machine_needs_its_own(tmp_path: Path) -> None:
    site = tmp_path / "site.toml"
    site.write_text(
        'name = "x"\n[database]\nurl = "postgresql://u@h/db"\n[mqtt]\nurl = "mqtt://h:1"\n'
        f'[recordings]\nfolder = "{tmp_path}"\n'
    )
    with pytest.raises(ConfigError, match=r"recordings: needs \[machines\] key_dir"):
        load_site(site)
    to_site = '[site]\nurl = "http://127.0.0.1:8100"\n'
    with pytest.raises(ConfigError, match=r"site\.upload_recordings needs mqtt\.command_key_file"):
        load_machine(machine_file(tmp_path, "mqtt://127.0.0.1:1883", key=None, sections=to_site))
    assert load_machine(machine_file(tmp_path, "mqtt://127.0.0.1:1883", sections=to_site)).site is not None
    with pytest.raises(ConfigError, match=r"site\.url.*http://HOST:PORT"):
        load_machine(machine_file(tmp_path, "mqtt://127.0.0.1:1883", sections='[site]\nurl = "ftp://h"\n'))
