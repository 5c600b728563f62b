"""SiteStore: PostgreSQL through psycopg 3's async pool. Every write is idempotent: a rep is keyed by
(machine, block, set, rep), every other event by (machine, its id), so a redelivery or a bridge's
retry changes nothing; a machine's state is kept only if it is newer than the one stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from controller.site.messages import Event, Rep, State, as_json

SAVE_REP = """
INSERT INTO reps (machine, block, set_index, rep_index, person, at, metrics)
VALUES (%s, %s, %s, %s, %s, to_timestamp(%s), %s)
ON CONFLICT DO NOTHING
"""
SAVE_EVENT = """
INSERT INTO events (machine, id, topic, kind, at, body) VALUES (%s, %s, %s, %s, to_timestamp(%s), %s)
ON CONFLICT DO NOTHING
"""
SAVE_BLOCK = """
INSERT INTO blocks (machine, block, person, profile, exercise, reps, at, summary)
VALUES (%s, %s, %s, %s, %s, %s, to_timestamp(%s), %s)
ON CONFLICT DO NOTHING
"""
SAVE_FAULT = "UPDATE machines SET last_fault = %s WHERE machine = %s"
SAVE_STATE = """
INSERT INTO machines (machine, online, state, seen_at) VALUES (%s, %s, %s, to_timestamp(%s))
ON CONFLICT (machine) DO UPDATE SET online = excluded.online, state = excluded.state,
    seen_at = excluded.seen_at
WHERE machines.seen_at <= excluded.seen_at
"""


class SiteStore:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool

    async def save(self, leaf: str, message: Event | State) -> bool:
        """True: stored now; False: it was already there (or older than what is)."""
        document = as_json(message)
        async with self.pool.connection() as connection:
            if isinstance(message, State):
                return await _save_state(connection, message, document)
            if isinstance(message, Rep):
                return await _save_rep(connection, message, document)
            return await _save_event(connection, leaf, message, document)

    async def machines(self) -> list[dict[str, Any]]:
        async with self.pool.connection() as connection:
            cursor = connection.cursor(row_factory=dict_row)
            await cursor.execute(
                "SELECT machine, online, state, last_fault, seen_at FROM machines ORDER BY machine"
            )
            return await cursor.fetchall()

    async def reps_of(self, person: str, weeks: float) -> list[dict[str, Any]]:
        """A person's reps on every machine of the site, oldest first."""
        since = datetime.now(UTC) - timedelta(weeks=weeks)
        async with self.pool.connection() as connection:
            cursor = connection.cursor(row_factory=dict_row)
            await cursor.execute(
                "SELECT machine, block, set_index, rep_index, at, metrics FROM reps"
                " WHERE person = %s AND at >= %s ORDER BY at, machine, block, set_index, rep_index",
                (person, since),
            )
            return await cursor.fetchall()

    async def blocks_of(self, person: str, weeks: float) -> list[dict[str, Any]]:
        since = datetime.now(UTC) - timedelta(weeks=weeks)
        async with self.pool.connection() as connection:
            cursor = connection.cursor(row_factory=dict_row)
            await cursor.execute(
                "SELECT machine, block, profile, exercise, reps, at FROM blocks"
                " WHERE person = %s AND at >= %s ORDER BY at",
                (person, since),
            )
            return await cursor.fetchall()


async def _save_state(connection: AsyncConnection[Any], message: State, document: str) -> bool:
    values = (message.machine, message.online, document, message.time)
    return (await connection.execute(SAVE_STATE, values)).rowcount == 1


async def _save_rep(connection: AsyncConnection[Any], message: Rep, document: str) -> bool:
    key = (message.machine, message.block, message.set, message.index)
    return (await connection.execute(SAVE_REP, (*key, message.person, message.ts, document))).rowcount == 1


async def _save_event(connection: AsyncConnection[Any], leaf: str, message: Event, document: str) -> bool:
    kind = message.type if leaf == "set" else message.kind
    values = (message.machine, message.id, leaf, kind, message.ts, document)
    fresh = (await connection.execute(SAVE_EVENT, values)).rowcount == 1
    if fresh and leaf == "set" and message.type == "block_done" and message.block:
        extra = message.model_extra or {}
        block = (message.machine, message.block, extra.get("person"), extra.get("profile"))
        details = (extra.get("exercise"), extra.get("reps"), message.ts, document)
        await connection.execute(SAVE_BLOCK, (*block, *details))
    if fresh and leaf == "fault":
        await connection.execute(SAVE_FAULT, (document, message.machine))
    return fresh
