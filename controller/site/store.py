"""SiteStore: PostgreSQL through psycopg 3's async pool. Every write is idempotent: a rep is keyed by
(machine, block, set, rep), every other event by (machine, its id), so a redelivery or a bridge's
retry changes nothing; a machine's state is kept only if it is newer than the one stored."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from controller.app.store import ExerciseSet
from controller.core.reps import RepMetrics
from controller.site.messages import Event, Rep, State, as_json
from controller.site.plan_store import PlanStore

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
INSERT INTO blocks (machine, block, person, profile, exercise, reps, load_kg, at, summary)
VALUES (%s, %s, %s, %s, %s, %s, %s, to_timestamp(%s), %s)
ON CONFLICT DO NOTHING
"""
# A person's sets of one exercise on every machine: a block is a session, its reps grouped by set.
SETS_OF = """
SELECT b.machine, b.block, b.at, b.load_kg, r.set_index, array_agg(r.metrics ORDER BY r.rep_index)
FROM blocks b JOIN reps r ON r.machine = b.machine AND r.block = b.block
WHERE b.person = %s AND b.exercise = %s AND b.at >= %s AND b.load_kg IS NOT NULL
GROUP BY b.machine, b.block, b.at, b.load_kg, r.set_index
ORDER BY b.at, b.machine, b.block, r.set_index
"""
SAVE_FAULT = "UPDATE machines SET last_fault = %s WHERE machine = %s"
SAVE_STATE = """
INSERT INTO machines (machine, online, state, seen_at) VALUES (%s, %s, %s, to_timestamp(%s))
ON CONFLICT (machine) DO UPDATE SET online = excluded.online, state = excluded.state,
    seen_at = excluded.seen_at
WHERE machines.seen_at <= excluded.seen_at
"""


SET_CAPS = """
INSERT INTO caps (person, caps, revision, set_by) VALUES (%s, %s, nextval('caps_revision'), %s)
ON CONFLICT (person) DO UPDATE SET caps = excluded.caps, revision = excluded.revision,
    set_by = excluded.set_by, set_at = now()
RETURNING person, caps, revision, set_by, set_at
"""
CAPS = "SELECT person, caps, revision, set_by, set_at FROM caps"
SET_ACCOUNT = """
INSERT INTO accounts (name, role, password, revision) VALUES (%s, %s, %s, nextval('accounts_revision'))
ON CONFLICT (name) DO UPDATE SET role = excluded.role, password = excluded.password,
    revision = excluded.revision, changed_at = now()
RETURNING name, role, password, revision, changed_at
"""
ACCOUNTS = "SELECT name, role, password, revision, changed_at FROM accounts"
SAVE_RECORDING = """
INSERT INTO recordings (machine, name, size, sha256, person, started) VALUES (%s, %s, %s, %s, %s, %s)
ON CONFLICT DO NOTHING
"""


@dataclass(frozen=True, slots=True)
class CapsRecord:
    person: str
    caps: dict[str, Any]
    revision: int  # from one sequence: a later change always has a larger one
    set_by: str
    set_at: str


@dataclass(frozen=True, slots=True)
class AccountRecord:
    name: str
    role: str
    password: str | None  # the scrypt hash; None: removed (kept, so machines remove it too)
    revision: int
    changed_at: str


class SiteStore:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool
        self.plans = PlanStore(pool)

    async def save(self, leaf: str, message: Event | State) -> bool:
        """True: stored now; False: it was already there (or older than what is)."""
        document = as_json(message)
        async with self.pool.connection() as connection:
            if isinstance(message, State):
                return await _save_state(connection, message, document)
            if isinstance(message, Rep):
                return await _save_rep(connection, message, document)
            return await _save_event(connection, leaf, message, document)

    async def set_caps(self, person: str, caps_json: str, by: str) -> CapsRecord:
        return _caps_record(await self._written(SET_CAPS, (person, caps_json, by)))

    async def caps(self, person: str | None = None) -> list[CapsRecord]:
        """One person's caps, or everyone's."""
        return [_caps_record(row) for row in await self._keyed(CAPS, "person", person)]

    async def set_account(self, name: str, role: str, password_hash: str | None) -> AccountRecord:
        return _account_record(await self._written(SET_ACCOUNT, (name, role, password_hash)))

    async def accounts(self, name: str | None = None) -> list[AccountRecord]:
        """One account or every one, removed ones too."""
        return [_account_record(row) for row in await self._keyed(ACCOUNTS, "name", name)]

    async def _written(self, query: str, values: tuple[Any, ...]) -> tuple[Any, ...]:
        """The row an INSERT ... RETURNING wrote."""
        async with self.pool.connection() as connection:
            row = await (await connection.execute(query, values)).fetchone()
        assert row is not None  # RETURNING gives the row written
        return row

    async def _keyed(self, query: str, key: str, value: str | None) -> list[tuple[Any, ...]]:
        """`query`'s rows whose `key` is `value` (every row: None), in the order of `key`."""
        where, values = (f" WHERE {key} = %s", (value,)) if value else ("", ())
        async with self.pool.connection() as connection:
            return await (await connection.execute(query + where + f" ORDER BY {key}", values)).fetchall()

    async def save_recording(
        self, machine: str, name: str, size: int, sha256: str, person: str | None, started: str
    ) -> None:
        async with self.pool.connection() as connection:
            await connection.execute(SAVE_RECORDING, (machine, name, size, sha256, person, started))

    async def recordings(self, person: str | None = None) -> list[dict[str, Any]]:
        """Every recording kept whole at the site, or one person's, newest first."""
        where, values = (" WHERE person = %s", (person,)) if person else ("", ())
        return await self._rows(
            "SELECT machine, name, size, sha256, person, started, stored_at FROM recordings"
            + where
            + " ORDER BY started DESC, machine, name",
            values,
        )

    async def _rows(self, query: str, values: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        async with self.pool.connection() as connection:
            cursor = connection.cursor(row_factory=dict_row)
            await cursor.execute(query, values)
            return await cursor.fetchall()

    async def machines(self) -> list[dict[str, Any]]:
        return await self._rows(
            "SELECT machine, online, state, last_fault, seen_at FROM machines ORDER BY machine"
        )

    async def people(self) -> list[dict[str, Any]]:
        """Everyone a machine of the site has trained, with the machines they used and when last."""
        return await self._rows(
            "SELECT person AS name, array_agg(DISTINCT machine ORDER BY machine) AS machines,"
            " count(*) AS reps, max(at) AS last_rep FROM reps WHERE person IS NOT NULL"
            " GROUP BY person ORDER BY person"
        )

    async def reps_of(self, person: str, weeks: float) -> list[dict[str, Any]]:
        """A person's reps on every machine of the site, oldest first."""
        return await self._rows(
            "SELECT machine, block, set_index, rep_index, at, metrics FROM reps"
            " WHERE person = %s AND at >= %s ORDER BY at, machine, block, set_index, rep_index",
            (person, _weeks_back(weeks)),
        )

    async def sets_of(self, person: str, exercise: str, weeks: float) -> list[tuple[str, ExerciseSet]]:
        """(machine, set) for each of a person's sets of that exercise, on any machine, oldest first."""
        async with self.pool.connection() as connection:
            rows = await (
                await connection.execute(SETS_OF, (person, exercise, _weeks_back(weeks)))
            ).fetchall()
        return exercise_sets(rows)

    async def blocks_of(self, person: str, weeks: float) -> list[dict[str, Any]]:
        return await self._rows(
            "SELECT machine, block, profile, exercise, reps, load_kg, at FROM blocks"
            " WHERE person = %s AND at >= %s ORDER BY at",
            (person, _weeks_back(weeks)),
        )


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
        details = (extra.get("exercise"), extra.get("reps"), extra.get("load_kg"), message.ts, document)
        await connection.execute(SAVE_BLOCK, (*block, *details))
    if fresh and leaf == "fault":
        await connection.execute(SAVE_FAULT, (document, message.machine))
    return fresh


def exercise_sets(rows: list[tuple[Any, ...]]) -> list[tuple[str, ExerciseSet]]:
    """(machine, set) from SETS_OF's rows: a block is a session, numbered in the order they came."""
    sessions: dict[tuple[str, str], int] = {}
    found = []
    for machine, block, at, load_kg, _, metrics in rows:
        session = sessions.setdefault((machine, block), len(sessions) + 1)
        reps = [rep_from(m) for m in metrics]
        found.append((machine, ExerciseSet(session, at.isoformat(), float(load_kg), reps)))
    return found


def _caps_record(row: tuple[Any, ...]) -> CapsRecord:
    person, caps, revision, set_by, set_at = row
    return CapsRecord(person, caps, int(revision), set_by, set_at.isoformat())


def _account_record(row: tuple[Any, ...]) -> AccountRecord:
    name, role, password, revision, changed_at = row
    return AccountRecord(name, role, password, int(revision), changed_at.isoformat())


def _weeks_back(weeks: float) -> datetime:
    return datetime.now(UTC) - timedelta(weeks=weeks)


def rep_from(metrics: dict[str, Any]) -> RepMetrics:
    """A rep as a machine measured it, from the message it came in (which has more keys)."""
    return RepMetrics(**{f.name: metrics[f.name] for f in fields(RepMetrics) if f.name in metrics})
