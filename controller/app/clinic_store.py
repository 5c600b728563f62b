"""The clinic's records in the session store's file: caps, protocol plans, check-ins and decisions.
The storage layer's second half (store.py is the first): SQL stays here, so a server database can
take both behind the same methods."""

from __future__ import annotations

from typing import Any

from controller.app.store import SqliteSessionStore, utc_now

# By the time of each decision's check-in: one the site decided for another machine can arrive here
# after a check-in made here later
IN_ORDER = "ORDER BY at, id"


class ClinicRecords:
    def __init__(self, store: SqliteSessionStore) -> None:
        self._db = store.connection

    def set_caps(self, person_id: int, caps_json: str, by: str) -> None:
        with self._db:
            self._db.execute(
                "INSERT INTO caps (person_id, caps, set_by, set_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(person_id) DO UPDATE SET caps = excluded.caps, set_by = excluded.set_by, "
                "set_at = excluded.set_at, source = 'machine'",
                (person_id, caps_json, by, utc_now()),
            )

    def set_site_caps(self, person_id: int, caps_json: str, revision: int, by: str, at: str) -> bool:
        """The site's copy, if it is newer than the last copy from the site; True if it was taken."""
        with self._db:
            cursor = self._db.execute(
                "INSERT INTO caps (person_id, caps, set_by, set_at, site_revision, source) "
                "VALUES (?, ?, ?, ?, ?, 'site') ON CONFLICT(person_id) DO UPDATE SET caps = excluded.caps, "
                "set_by = excluded.set_by, set_at = excluded.set_at, site_revision = excluded.site_revision, "
                "source = 'site' WHERE coalesce(caps.site_revision, 0) < excluded.site_revision",
                (person_id, caps_json, by, at, revision),
            )
        return cursor.rowcount == 1

    def caps_origin(self, person: str) -> tuple[str, int | None, str] | None:
        """(source, site revision, set at) of the person's caps, or None: they have none here."""
        row = self._db.execute(
            "SELECT c.source, c.site_revision, c.set_at FROM caps c JOIN people p ON p.id = c.person_id "
            "WHERE p.name = ?",
            (person,),
        ).fetchone()
        return None if row is None else (str(row[0]), row[1], str(row[2]))

    def set_site_link(self, online: bool) -> None:
        with self._db:
            self._db.execute(
                "INSERT INTO site_link (id, online, changed) VALUES (1, ?, ?) ON CONFLICT(id) DO UPDATE "
                "SET online = excluded.online, changed = excluded.changed "
                "WHERE site_link.online != excluded.online",
                (int(online), utc_now()),
            )

    def site_link(self) -> tuple[bool, str] | None:
        """(online, since when) of this machine's site, or None: it has never heard of one."""
        row = self._db.execute("SELECT online, changed FROM site_link WHERE id = 1").fetchone()
        return None if row is None else (bool(row[0]), str(row[1]))

    def caps_json(self, person: str) -> str | None:
        row = self._db.execute(
            "SELECT c.caps FROM caps c JOIN people p ON p.id = c.person_id WHERE p.name = ?", (person,)
        ).fetchone()
        return None if row is None else str(row[0])

    def assign(self, person_id: int, protocol: str, by: str, started: str, site_plan: int | None) -> int:
        """A new active plan (any earlier one ends); its id."""
        with self._db:
            self._db.execute("UPDATE plans SET active = 0 WHERE person_id = ?", (person_id,))
            cursor = self._db.execute(
                "INSERT INTO plans (person_id, protocol, assigned_by, started, site_plan) "
                "VALUES (?, ?, ?, ?, ?)",
                (person_id, protocol, by, started, site_plan),
            )
        return int(cursor.lastrowid or 0)

    def site_plan_of(self, plan_id: int) -> int | None:
        row = self._db.execute("SELECT site_plan FROM plans WHERE id = ?", (plan_id,)).fetchone()
        return None if row is None or row[0] is None else int(row[0])

    def site_revision(self, person_id: int) -> int:
        """The revision of the last copy of the person's plan taken from the site (0: none)."""
        row = self._db.execute(
            "SELECT max(site_revision) FROM plans WHERE person_id = ?", (person_id,)
        ).fetchone()
        return 0 if row is None or row[0] is None else int(row[0])

    def set_site_revision(self, plan_id: int, revision: int) -> None:
        with self._db:
            self._db.execute("UPDATE plans SET site_revision = ? WHERE id = ?", (revision, plan_id))

    def decision_sources(self, plan_id: int) -> list[str]:
        """Where each of the plan's decisions was made (machine, site, offline), in order."""
        rows = self._db.execute(f"SELECT source FROM decisions WHERE plan_id = ? {IN_ORDER}", (plan_id,))
        return [str(row[0]) for row in rows]

    def active_plan(self, person: str) -> tuple[int, str, str, str] | None:
        """(id, protocol, assigned by, started) of the person's active plan."""
        row = self._db.execute(
            "SELECT pl.id, pl.protocol, pl.assigned_by, pl.started FROM plans pl "
            "JOIN people p ON p.id = pl.person_id WHERE p.name = ? AND pl.active = 1",
            (person,),
        ).fetchone()
        return None if row is None else (int(row[0]), str(row[1]), str(row[2]), str(row[3]))

    def add_check_in(
        self, person_id: int, plan_id: int, at: str, soreness: int, decision: dict[str, Any]
    ) -> None:
        """A check-in and the decision it led to, in one transaction. `decision` holds the columns:
        session_number, stage, action, load_kg, soreness, reason, after_session, source."""
        with self._db:
            self._db.execute(
                "INSERT INTO checkins (person_id, at, soreness) VALUES (?, ?, ?)", (person_id, at, soreness)
            )
            self._db.execute(
                "INSERT INTO decisions (plan_id, at, session_number, stage, action, load_kg, soreness, "
                "reason, after_session, source) VALUES (:plan_id, :at, :session_number, :stage, :action, "
                ":load_kg, :soreness, :reason, :after_session, :source)",
                decision | {"plan_id": plan_id, "at": at},
            )

    def decisions(self, plan_id: int) -> list[tuple[Any, ...]]:
        """(at, session_number, stage, action, load_kg, soreness, reason, after_session), in order."""
        rows = self._db.execute(
            "SELECT at, session_number, stage, action, load_kg, soreness, reason, after_session "
            f"FROM decisions WHERE plan_id = ? {IN_ORDER}",
            (plan_id,),
        )
        return [tuple(row) for row in rows]
