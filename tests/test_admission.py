"""Admission runs off the loop's thread: a store that another process holds locked delays an answer,
never a control cycle, and a start that cannot read a person's caps is refused with the reason."""

from __future__ import annotations

import asyncio
import sqlite3
import sys
import threading
import time
from typing import Any

from controller.app.store import SqliteSessionStore
from controller.runtime import filing
from tests.service_harness import running_service
from tests.test_service import Listener, profile, with_client


def test_a_locked_store_refuses_the_start_and_the_loop_keeps_time(tmp_path):
    with running_service(tmp_path) as service:
        # Another process holds the store (WAL lets readers past a plain exclusive transaction).
        other = sqlite3.connect(tmp_path / "sessions.sqlite", isolation_level=None)
        other.execute("PRAGMA locking_mode=EXCLUSIVE")
        other.execute("BEGIN EXCLUSIVE")
        other.execute("CREATE TABLE IF NOT EXISTS held (x)")

        async def body(listener: Listener) -> tuple[dict[str, Any], float, float]:
            started = time.monotonic()
            pending = asyncio.create_task(
                listener.client.request(
                    "start", start={"profile": profile(reps=2), "person": "ada"}, by="test"
                )
            )
            await asyncio.sleep(0.5)
            asked = time.monotonic()
            status = await listener.client.request("status")
            answered_in = time.monotonic() - asked
            assert status["ok"] and status["status"]["fault"] is None
            reply = await asyncio.wait_for(pending, 30)
            return reply, answered_in, time.monotonic() - started

        try:
            reply, status_s, start_s = asyncio.run(with_client(service.port.path, body))
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert not reply["ok"] and "session store cannot be read" in reply["error"], reply
        assert "locked" in reply["error"]
        assert status_s < 1.0, f"the loop answered a status in {status_s:.2f} s while the store was locked"
        assert start_s > 1.0, "the refusal came from the lock, not from elsewhere"
        assert service.loop.fault is None and service.loop.lifecycle.state.value == "idle"


# Audit hooks cannot be removed: one, installed once, records only while a test asks it to.
_watched: list[tuple[str, str, str]] | None = None


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if _watched is not None and event in ("open", "sqlite3.connect", "os.remove", "os.rename"):
        _watched.append((threading.current_thread().name, event, str(args[0]) if args else ""))


sys.addaudithook(_audit)


def test_nothing_on_the_loop_thread_touches_a_file_or_the_store(tmp_path):
    """The loop's thread only picks up frozen plans: admission (profile files, caps, history) and
    the recorder's file work happen on other threads, so a slow disk or a locked store never holds
    a control cycle (Python's audit hooks see every open, whoever calls it)."""
    global _watched
    with running_service(tmp_path) as service:

        async def body(listener: Listener) -> None:
            start = {"profile": profile(reps=2), "person": "ada", "exercise": "row"}
            reply = await listener.client.request("start", start=start, by="test")
            assert reply["ok"], reply
            await listener.wait_for("block_done", timeout_s=120)

        _watched = []
        try:
            asyncio.run(with_client(service.port.path, body))
        finally:
            seen, _watched = _watched, None
    assert any(event == "sqlite3.connect" for _, event, _ in seen), "the set used the store"
    assert any(path.endswith(".ecxr") for _, event, path in seen if event == "open"), "the set was recorded"
    on_loop = [(event, path) for thread, event, path in seen if thread == "control"]
    assert not on_loop, on_loop


def test_a_start_that_could_not_be_recorded_is_refused_with_the_folder_named(tmp_path):
    with running_service(tmp_path) as service:
        (tmp_path / "recordings").rmdir()

        async def body(listener: Listener) -> None:
            start = {"profile": profile(reps=2), "person": "ada", "exercise": "row"}
            reply = await listener.client.request("start", start=start, by="test")
            assert not reply["ok"], reply
            assert str(tmp_path / "recordings") in reply["error"] and "cannot be written" in reply["error"]

        asyncio.run(with_client(service.port.path, body))
        assert service.loop.lifecycle.state.value == "idle" and not service.loop.lifecycle.armed


def test_a_finished_set_the_store_refuses_is_said_kept_and_stored_once_the_store_is_back(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(filing, "RETRY_S", 0.5)
    with running_service(tmp_path) as service:

        async def body(listener: Listener) -> None:
            start = {"profile": profile(reps=1), "person": "ada", "exercise": "row"}
            assert (await listener.client.request("start", start=start, by="test"))["ok"]
            await listener.wait_for("set_started")
            other = sqlite3.connect(tmp_path / "sessions.sqlite", isolation_level=None)
            other.execute("PRAGMA locking_mode=EXCLUSIVE")
            other.execute("BEGIN EXCLUSIVE")
            other.execute("CREATE TABLE IF NOT EXISTS held (x)")
            try:
                deadline = time.monotonic() + 120
                while not (failed := [m for m in listener.of("safety") if m["kind"] == "store_failed"]):
                    assert time.monotonic() < deadline, "the refused store was never said"
                    await asyncio.sleep(0.05)
                assert "not stored yet" in failed[0]["detail"] and ".ecxr" in failed[0]["detail"]
                assert not listener.of("block_done"), "a set the store refused was reported as filed"
            finally:
                other.execute("ROLLBACK")
                other.close()
            (done,) = await listener.wait_for("block_done", timeout_s=30)
            assert done["session"] is not None and done["reps"] == 1

        asyncio.run(with_client(service.port.path, body))
    store = SqliteSessionStore(tmp_path / "sessions.sqlite")
    try:
        (session,) = [store.session(s) for s in store.sessions()]
    finally:
        store.close()
    assert session.person == "ada" and [len(s.reps) for s in session.sets] == [1]  # stored once, whole
