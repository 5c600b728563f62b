"""Admission runs off the loop's thread: a store that another process holds locked delays an answer,
never a control cycle, and a start that cannot read a person's caps is refused with the reason."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from typing import Any

from controller.app.store import SqliteSessionStore
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
        assert service.loop.fault is None and service.loop.session.state.value == "idle"


def test_nothing_on_the_loop_thread_opens_the_store(tmp_path, monkeypatch):
    opened_by: list[str] = []
    real_init = SqliteSessionStore.__init__

    def spy(self: SqliteSessionStore, *args: object, **kwargs: object) -> None:
        opened_by.append(threading.current_thread().name)
        real_init(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(SqliteSessionStore, "__init__", spy)
    with running_service(tmp_path) as service:

        async def body(listener: Listener) -> None:
            start = {"profile": profile(reps=2), "person": "ada", "exercise": "row"}
            reply = await listener.client.request("start", start=start, by="test")
            assert reply["ok"], reply
            await listener.wait_for("block_done", timeout_s=120)

        asyncio.run(with_client(service.port.path, body))
    assert opened_by, "the store was used (caps, overload history, the finished set)"
    assert "control" not in opened_by, opened_by
