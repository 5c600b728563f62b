"""A clinic's records beside the session store: each patient's caps, their protocol plan, their
soreness check-ins, and every progression decision with its reason."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from controller.app.clinic_store import ClinicRecords
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
        self._records = ClinicRecords(store)

    # -- caps --------------------------------------------------------------------------------------
    def set_caps(self, person: str, caps: CapsConfig, by: str) -> None:
        self._records.set_caps(self.store.person_named(person), caps.model_dump_json(exclude_none=True), by)

    def caps_for(self, person: str) -> CapsConfig | None:
        stored = self._records.caps_json(person)
        return None if stored is None else CapsConfig.model_validate(json.loads(stored))

    def take_site_caps(self, person: str, caps: CapsConfig, revision: int, by: str, at: str) -> bool:
        """The site's copy of a person's caps, if newer than the last copy from it (True: taken)."""
        caps_json = caps.model_dump_json(exclude_none=True)
        return self._records.set_site_caps(self.store.person_named(person), caps_json, revision, by, at)

    def site_reachable(self, online: bool) -> None:
        self._records.set_site_link(online)

    def site_online(self) -> bool | None:
        """Whether this machine's site was last heard online; None: it has never heard of one."""
        link = self._records.site_link()
        return None if link is None else link[0]

    def site_caps_note(self, person: str) -> str:
        """What a set started now must say about where the person's caps came from: "" on a machine
        with no site, or with its site online and the person known to it."""
        link = self._records.site_link()
        if link is None:
            return ""
        online, since = link
        origin = self._records.caps_origin(person)
        if origin is None:
            return f"{person} is unknown to this machine and its site: only the profile's own caps apply"
        source, revision, set_at = origin
        if source == "site" and not online:
            return (
                f"the site is unreachable (since {since}): {person}'s caps are its last copy, "
                f"revision {revision} of {set_at}"
            )
        return ""

    # -- plans -------------------------------------------------------------------------------------
    def assign(self, person: str, protocol: str, by: str, at: str | None = None) -> Plan:
        config = load_protocol(protocol)
        started = at or utc_now()
        plan_id = self._records.assign(self.store.person_named(person), config.name, by, started)
        return Plan(plan_id, person, config, by, started)

    def plan_for(self, person: str) -> Plan | None:
        row = self._records.active_plan(person)
        if row is None:
            return None
        plan_id, protocol, by, started = row
        return Plan(plan_id, person, load_protocol(protocol), by, started)

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
        # The protocol moves on by sessions done, not by check-ins: a check-in with no session since
        # the last one is still that session's.
        number = 1 if last is None else last.decision.session_number + (0 if outcome is None else 1)
        decision = decide(
            plan.protocol,
            number,
            soreness,
            None if last is None else last.decision.load_kg,
            outcome,
        )
        sessions = self.store.sessions(person_id)
        record = DecisionRecord(when, decision, sessions[-1] if sessions else 0)
        columns = asdict(decision) | {"action": decision.action.value, "after_session": record.after_session}
        self._records.add_check_in(person_id, plan.id, when, soreness, columns)
        return record

    def decisions(self, plan: Plan) -> list[DecisionRecord]:
        return [
            DecisionRecord(at, Decision(number, stage, Action(action), load, soreness, reason), after)
            for at, number, stage, action, load, soreness, reason, after in self._records.decisions(plan.id)
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
