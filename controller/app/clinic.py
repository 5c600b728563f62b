"""A clinic's records beside the session store: each patient's caps, their protocol plan, their
soreness check-ins, and every progression decision with its reason."""

from __future__ import annotations

import json
from dataclasses import dataclass

from controller.app.progression import Action, Decision, SessionOutcome, decide
from controller.app.store import SqliteSessionStore, StoreError, utc_now
from controller.config import CapsConfig
from controller.config.protocol import ProtocolConfig, load_protocol


@dataclass(frozen=True, slots=True)
class Plan:
    id: int
    person: str
    protocol: ProtocolConfig
    assigned_by: str
    started: str


@dataclass(frozen=True, slots=True)
class DecisionRecord:
    at: str
    decision: Decision
    after_session: int


class Clinic:
    def __init__(self, store: SqliteSessionStore) -> None:
        self.store = store
        self._db = store.connection

    # -- caps --------------------------------------------------------------------------------------
    def set_caps(self, person: str, caps: CapsConfig, by: str) -> None:
        person_id = self.store.person_named(person)
        with self._db:
            self._db.execute(
                "INSERT INTO caps (person_id, caps, set_by, set_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(person_id) DO UPDATE SET caps = excluded.caps, set_by = excluded.set_by, "
                "set_at = excluded.set_at",
                (person_id, caps.model_dump_json(exclude_none=True), by, utc_now()),
            )

    def caps_for(self, person: str) -> CapsConfig | None:
        row = self._db.execute(
            "SELECT c.caps FROM caps c JOIN people p ON p.id = c.person_id WHERE p.name = ?", (person,)
        ).fetchone()
        return None if row is None else CapsConfig.model_validate(json.loads(row[0]))

    # -- plans -------------------------------------------------------------------------------------
    def assign(self, person: str, protocol: str, by: str, at: str | None = None) -> Plan:
        config = load_protocol(protocol)
        started = at or utc_now()
        person_id = self.store.person_named(person)
        with self._db:
            self._db.execute("UPDATE plans SET active = 0 WHERE person_id = ?", (person_id,))
            cursor = self._db.execute(
                "INSERT INTO plans (person_id, protocol, assigned_by, started) VALUES (?, ?, ?, ?)",
                (person_id, config.name, by, started),
            )
        return Plan(int(cursor.lastrowid or 0), person, config, by, started)

    def plan_for(self, person: str) -> Plan | None:
        row = self._db.execute(
            "SELECT pl.id, pl.protocol, pl.assigned_by, pl.started FROM plans pl "
            "JOIN people p ON p.id = pl.person_id WHERE p.name = ? AND pl.active = 1",
            (person,),
        ).fetchone()
        return None if row is None else Plan(row[0], person, load_protocol(row[1]), row[2], row[3])

    # -- check-ins and decisions -------------------------------------------------------------------
    def check_in(self, person: str, soreness: int, at: str | None = None) -> DecisionRecord:
        """Today's soreness, and the decision it leads to (recorded, with its reason)."""
        plan = self.plan_for(person)
        if plan is None:
            raise StoreError(f"{person!r} has no protocol assigned: a clinician assigns one first")
        when = at or utc_now()
        person_id = self.store.person_named(person)
        history = self.decisions(plan)
        last = history[-1] if history else None
        outcome = None if last is None else self._outcome_after(plan, last)
        decision = decide(
            plan.protocol,
            len(history) + 1,
            soreness,
            None if last is None else last.decision.load_kg,
            outcome,
        )
        sessions = self.store.sessions(person_id)
        record = DecisionRecord(when, decision, sessions[-1] if sessions else 0)
        with self._db:
            self._db.execute(
                "INSERT INTO checkins (person_id, at, soreness) VALUES (?, ?, ?)", (person_id, when, soreness)
            )
            self._db.execute(
                "INSERT INTO decisions (plan_id, at, session_number, stage, action, load_kg, soreness, "
                "reason, after_session) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    plan.id,
                    when,
                    decision.session_number,
                    decision.stage,
                    decision.action.value,
                    decision.load_kg,
                    decision.soreness,
                    decision.reason,
                    record.after_session,
                ),
            )
        return record

    def decisions(self, plan: Plan) -> list[DecisionRecord]:
        rows = self._db.execute(
            "SELECT at, session_number, stage, action, load_kg, soreness, reason, after_session "
            "FROM decisions WHERE plan_id = ? ORDER BY id",
            (plan.id,),
        )
        return [
            DecisionRecord(at, Decision(number, stage, Action(action), load, soreness, reason), after)
            for at, number, stage, action, load, soreness, reason, after in rows
        ]

    def _outcome_after(self, plan: Plan, last: DecisionRecord) -> SessionOutcome | None:
        """What the sessions done since the last decision showed (None: none done)."""
        person_id = self.store.person_named(plan.person)
        later = [s for s in self.store.sessions(person_id) if s > last.after_session]
        if not later:
            return None
        stage = plan.protocol.stages[last.decision.stage]
        reps = [rep for s in later for st in self.store.session(s).sets for rep in st.reps]
        return SessionOutcome(stage.sets * stage.reps, reps, stage)
