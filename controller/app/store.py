"""Session history: people, sessions, sets, reps with their metrics, notes.

One interface (SessionStore); SQLite is a machine's backend. Callers never see SQL (the clinic's
records, in the same file, keep theirs in clinic_store.py). A person's history reads through
SetHistory, which a site's PostgreSQL store also serves. The schema's migrations are in schema.py.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from controller.app.schema import MIGRATIONS, REP_COLUMNS, REP_SQL
from controller.core.reps import RepMetrics

ROLES = ("athlete", "patient", "clinician", "admin")


class StoreError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class SetRecord:
    number: int
    profile: str
    load_kg: float
    reps: list[RepMetrics]
    exercise: str = ""


@dataclass(frozen=True, slots=True)
class ExerciseSet:
    """A set of one exercise, with the session it was in: a point of a trend."""

    session: int
    started: str
    load_kg: float
    reps: list[RepMetrics]


class SetHistory(Protocol):
    """Where a person's sets of an exercise are read from: this machine's store, or a site's, which
    holds every machine's (controller/site/history.py); `eccentrix strength --site` chooses."""

    def sets_of(self, person: str, exercise: str, since: str = "") -> list[ExerciseSet]: ...


@dataclass(frozen=True, slots=True)
class SessionRecord:
    id: int
    person: str | None
    started: str
    machine: str
    recording: str | None
    sets: list[SetRecord]
    notes: list[str]
    workout: str = ""  # the workout this session was a block of; "" for a set started alone

    def to_json(self) -> dict[str, Any]:
        doc = asdict(self)
        return doc


class SessionStore(Protocol):
    def add_person(self, name: str, role: str = "athlete") -> int: ...

    def start_session(self, person_id: int | None, machine: str, recording: str | None = None) -> int: ...

    def add_set(
        self,
        session_id: int,
        profile: str,
        load_kg: float,
        reps: list[RepMetrics],
        eccentric_overload: bool = False,
        exercise: str = "",
    ) -> int: ...

    def add_note(self, session_id: int, text: str) -> None: ...

    def session(self, session_id: int) -> SessionRecord: ...

    def sessions(self, person_id: int | None = None) -> list[int]: ...


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class SqliteSessionStore:
    def __init__(self, path: str | Path, lock_wait_s: float = 5.0) -> None:
        self.path = str(path)
        # Password hashes and patients' records: readable by the machine's user only (SQLite gives
        # its journal files the database's mode).
        os.close(os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600))
        # The control process writes sessions while the dashboard reads them: WAL lets both go on.
        # A store is used by one thread at a time, but not always the one that opened it (a web
        # request is opened and closed on different pool threads): hence check_same_thread off.
        self._db = sqlite3.connect(self.path, timeout=lock_wait_s, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA foreign_keys = ON")
        self._migrate()

    @property
    def schema_version(self) -> int:
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        version = self.schema_version
        if version > len(MIGRATIONS):
            raise StoreError(f"{self.path}: schema {version} is newer than this software ({len(MIGRATIONS)})")
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            with self._db:
                self._db.executescript(f"BEGIN; {script} PRAGMA user_version = {number}; COMMIT;")

    def close(self) -> None:
        self._db.close()

    @property
    def connection(self) -> sqlite3.Connection:
        """For the storage layer's other half, which shares this file (clinic_store.py)."""
        return self._db

    def add_person(self, name: str, role: str = "athlete") -> int:
        if role not in ROLES:
            raise StoreError(f"role {role!r}: allowed {', '.join(ROLES)}")
        with self._db:
            cursor = self._db.execute(
                "INSERT INTO people (name, role, created) VALUES (?, ?, ?)", (name, role, utc_now())
            )
        return int(cursor.lastrowid or 0)

    def person_named(self, name: str) -> int:
        """The person of that name, added as an athlete if new."""
        row = self._db.execute("SELECT id FROM people WHERE name = ? ORDER BY id", (name,)).fetchone()
        return int(row[0]) if row else self.add_person(name)

    def add_account(self, name: str, role: str, password_hash: str) -> None:
        if role not in ROLES:
            raise StoreError(f"role {role!r}: allowed {', '.join(ROLES)}")
        try:
            with self._db:
                self._db.execute(
                    "INSERT INTO accounts (name, role, password, created) VALUES (?, ?, ?, ?)",
                    (name, role, password_hash, utc_now()),
                )
        except sqlite3.IntegrityError:
            raise StoreError(f"account {name!r} exists already") from None

    def set_password(self, name: str, password_hash: str) -> None:
        with self._db:
            cursor = self._db.execute(
                "UPDATE accounts SET password = ? WHERE name = ?", (password_hash, name)
            )
        if cursor.rowcount == 0:
            raise StoreError(f"account {name!r}: no such account")

    def take_site_account(self, name: str, role: str, password_hash: str | None, revision: int) -> bool:
        """The site's copy of an account (None: removed there), if newer than the last one it sent;
        True if taken. The site is the authority: its copy replaces an account made here."""
        with self._db:
            cursor = self._db.execute(
                "INSERT INTO site_accounts (name, revision) VALUES (?, ?) ON CONFLICT(name) DO UPDATE "
                "SET revision = excluded.revision WHERE site_accounts.revision < excluded.revision",
                (name, revision),
            )
            if cursor.rowcount == 0:
                return False
            if password_hash is None:
                self._db.execute("DELETE FROM accounts WHERE name = ?", (name,))
            else:
                self._db.execute(
                    "INSERT INTO accounts (name, role, password, created, source) "
                    "VALUES (?, ?, ?, ?, 'site') ON CONFLICT(name) DO UPDATE SET role = excluded.role, "
                    "password = excluded.password, source = 'site'",
                    (name, role, password_hash, utc_now()),
                )
        return True

    def account_names(self, role: str) -> list[str]:
        rows = self._db.execute("SELECT name FROM accounts WHERE role = ? ORDER BY name", (role,))
        return [str(name) for (name,) in rows]

    def account(self, name: str) -> tuple[str, str] | None:
        """(role, password hash) of an account, or None."""
        row = self._db.execute("SELECT role, password FROM accounts WHERE name = ?", (name,)).fetchone()
        return (str(row[0]), str(row[1])) if row else None

    def start_session(self, person_id: int | None, machine: str, recording: str | None = None) -> int:
        with self._db:
            cursor = self._db.execute(
                "INSERT INTO sessions (person_id, started, machine, recording) VALUES (?, ?, ?, ?)",
                (person_id, utc_now(), machine, recording),
            )
        return int(cursor.lastrowid or 0)

    def add_set(
        self,
        session_id: int,
        profile: str,
        load_kg: float,
        reps: list[RepMetrics],
        eccentric_overload: bool = False,
        exercise: str = "",
    ) -> int:
        with self._db:
            return self._insert_set(session_id, profile, load_kg, reps, eccentric_overload, exercise)

    def add_block(
        self,
        person: str,
        machine: str,
        recording: str | None,
        sets: Sequence[tuple[str, float, list[RepMetrics], bool, str]],
        workout: str = "",
        notes: Sequence[str] = (),
    ) -> int:
        """One block of sets as one session, all or nothing: a store that fails half way leaves
        no half a session for a retry to double. `sets`: (profile, load kg, reps, eccentric
        overload, exercise); `workout`: the one it was a block of; `notes`: what the machine said
        of it. The session's id."""
        with self._db:
            row = self._db.execute("SELECT id FROM people WHERE name = ? ORDER BY id", (person,)).fetchone()
            if row is None:
                row = self._db.execute(
                    "INSERT INTO people (name, role, created) VALUES (?, 'athlete', ?) RETURNING id",
                    (person, utc_now()),
                ).fetchone()
            cursor = self._db.execute(
                "INSERT INTO sessions (person_id, started, machine, recording, workout) "
                "VALUES (?, ?, ?, ?, ?)",
                (int(row[0]), utc_now(), machine, recording, workout),
            )
            session_id = int(cursor.lastrowid or 0)
            for profile, load_kg, reps, overload, exercise in sets:
                self._insert_set(session_id, profile, load_kg, reps, overload, exercise)
            self._db.executemany(
                "INSERT INTO notes (session_id, written, text) VALUES (?, ?, ?)",
                [(session_id, utc_now(), text) for text in notes],
            )
        return session_id

    def _insert_set(
        self,
        session_id: int,
        profile: str,
        load_kg: float,
        reps: list[RepMetrics],
        eccentric_overload: bool,
        exercise: str,
    ) -> int:
        count = self._db.execute("SELECT COUNT(*) FROM sets WHERE session_id = ?", (session_id,)).fetchone()[
            0
        ]
        cursor = self._db.execute(
            "INSERT INTO sets (session_id, number, profile, load_kg, eccentric_overload, exercise) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (session_id, count + 1, profile, load_kg, int(eccentric_overload), exercise),
        )
        set_id = int(cursor.lastrowid or 0)
        marks = ", ".join("?" for _ in REP_COLUMNS)
        self._db.executemany(
            f"INSERT INTO reps (set_id, {REP_SQL}) VALUES (?, {marks})",
            [(set_id, *(getattr(rep, name) for name in REP_COLUMNS)) for rep in reps],
        )
        return set_id

    def add_note(self, session_id: int, text: str) -> None:
        with self._db:
            self._db.execute(
                "INSERT INTO notes (session_id, written, text) VALUES (?, ?, ?)",
                (session_id, utc_now(), text),
            )

    def sessions(self, person_id: int | None = None) -> list[int]:
        query = "SELECT id FROM sessions" + (" WHERE person_id = ?" if person_id is not None else "")
        args = (person_id,) if person_id is not None else ()
        return [row[0] for row in self._db.execute(query + " ORDER BY id", args)]

    def recording_people(self) -> dict[str, str | None]:
        """Each stored session's recording (its file name) and whose it is."""
        rows = self._db.execute(
            "SELECT s.recording, p.name FROM sessions s LEFT JOIN people p ON p.id = s.person_id "
            "WHERE s.recording IS NOT NULL"
        )
        return {Path(recording).name: person for recording, person in rows}

    def overload_sessions(self, person: str) -> list[str]:
        """When each session of that person with an eccentric overload set started (ISO 8601)."""
        rows = self._db.execute(
            "SELECT s.started FROM sessions s JOIN people p ON p.id = s.person_id "
            "JOIN sets ON sets.session_id = s.id WHERE p.name = ? AND sets.eccentric_overload = 1 "
            "GROUP BY s.id ORDER BY s.id",
            (person,),
        )
        return [str(started) for (started,) in rows]

    def session(self, session_id: int) -> SessionRecord:
        row = self._db.execute(
            "SELECT s.id, p.name, s.started, s.machine, s.recording, s.workout FROM sessions s "
            "LEFT JOIN people p ON p.id = s.person_id WHERE s.id = ?",
            (session_id,),
        ).fetchone()
        if row is None:
            raise StoreError(f"session {session_id}: no such session in {self.path}")
        sets = []
        for set_id, number, profile, load_kg, exercise in self._db.execute(
            "SELECT id, number, profile, load_kg, exercise FROM sets WHERE session_id = ? ORDER BY number",
            (session_id,),
        ):
            sets.append(SetRecord(number, profile, load_kg, self._reps_of(set_id), exercise))
        notes = [
            text
            for (text,) in self._db.execute(
                "SELECT text FROM notes WHERE session_id = ? ORDER BY id", (session_id,)
            )
        ]
        return SessionRecord(row[0], row[1], row[2], row[3], row[4], sets, notes, row[5])

    def sets_of(self, person: str, exercise: str, since: str = "") -> list[ExerciseSet]:
        """That person's sets of that exercise started since `since` (ISO 8601), oldest first."""
        rows = self._db.execute(
            "SELECT sets.id, s.id, s.started, sets.load_kg FROM sets "
            "JOIN sessions s ON s.id = sets.session_id JOIN people p ON p.id = s.person_id "
            "WHERE p.name = ? AND sets.exercise = ? AND s.started >= ? ORDER BY sets.id",
            (person, exercise, since),
        ).fetchall()
        return [
            ExerciseSet(session, str(started), float(load_kg), self._reps_of(set_id))
            for set_id, session, started, load_kg in rows
        ]

    def exercises_of(self, person: str) -> list[str]:
        """The exercises that person has named, the most recent first."""
        rows = self._db.execute(
            "SELECT sets.exercise FROM sets JOIN sessions s ON s.id = sets.session_id "
            "JOIN people p ON p.id = s.person_id WHERE p.name = ? AND sets.exercise != '' "
            "GROUP BY sets.exercise ORDER BY MAX(sets.id) DESC",
            (person,),
        )
        return [str(exercise) for (exercise,) in rows]

    def _reps_of(self, set_id: int) -> list[RepMetrics]:
        rows = self._db.execute(f"SELECT {REP_SQL} FROM reps WHERE set_id = ? ORDER BY id", (set_id,))
        return [self._rep(values) for values in rows]

    @staticmethod
    def _rep(values: tuple[Any, ...]) -> RepMetrics:
        """SQLite keeps every metric as REAL; give each back its own type."""
        cast = {"int": int, "bool": bool, "float": float}
        typed: list[Any] = [cast[str(f.type)](v) for f, v in zip(fields(RepMetrics), values, strict=True)]
        return RepMetrics(*typed)
