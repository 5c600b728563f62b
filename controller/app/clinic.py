"""A clinic's records beside the session store: each patient's caps, their protocol plan, their
soreness check-ins, and every progression decision with its reason."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime

from controller.app.clinic_store import ClinicRecords
from controller.app.progression import Action, Decision, next_decision, outcome_since, without_advancing
from controller.app.store import SqliteSessionStore, StoreError, utc_now
from controller.config import CapsConfig
from controller.config.protocol import ProtocolConfig, load_protocol
from controller.core.reps import RepMetrics


@dataclass(frozen=True, slots=True)
class Plan:
    id: int
    person: str
    protocol: ProtocolConfig
    assigned_by: str
    started: str


@dataclass(frozen=True, slots=True)
class SitePlan:
    """A plan as the site assigned it: `id` is the site's."""

    id: int
    protocol: str
    assigned_by: str
    started: str


@dataclass(frozen=True, slots=True)
class DecisionRecord:
    at: str
    decision: Decision
    after_session: int


MAX_OFFLINE = 60  # decisions one check-in carries up: two months of daily sessions without the site


def _check(protocol: ProtocolConfig, decision: Decision) -> None:
    """A decision from elsewhere, signed, is still one its protocol could have made."""
    if not decision.stage < len(protocol.stages):
        raise ValueError(f"stage {decision.stage}: {protocol.name} has {len(protocol.stages)} stages")
    if not protocol.start_load_kg <= decision.load_kg <= protocol.max_load_kg:
        raise ValueError(
            f"load_kg = {decision.load_kg}: {protocol.name} allows {protocol.start_load_kg} to "
            f"{protocol.max_load_kg} kg"
        )


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
    def assign(
        self, person: str, protocol: str, by: str, at: str | None = None, site_plan: int | None = None
    ) -> Plan:
        config = load_protocol(protocol)
        started = at or utc_now()
        plan_id = self._records.assign(self.store.person_named(person), config.name, by, started, site_plan)
        return Plan(plan_id, person, config, by, started)

    def plan_for(self, person: str) -> Plan | None:
        row = self._records.active_plan(person)
        if row is None:
            return None
        plan_id, protocol, by, started = row
        return Plan(plan_id, person, load_protocol(protocol), by, started)

    # -- check-ins and decisions -------------------------------------------------------------------
    def check_in(self, person: str, soreness: int, at: str | None = None, alone: str = "") -> DecisionRecord:
        """Today's soreness, and the decision it leads to (recorded, with its reason). `alone`: why
        this machine decides without the site that holds the plan; it then never advances the load
        (progression.without_advancing), and the decision goes up to the site with the next check-in
        the site answers."""
        plan = self.plan_for(person)
        if plan is None:
            raise StoreError(f"{person!r} has no protocol assigned: a clinician assigns one first")
        history = self.decisions(plan)
        last = history[-1].decision if history else None
        since = None if not history else self._reps_after(plan.person, history[-1].after_session)
        outcome = None if last is None else outcome_since(plan.protocol, last, since or [])
        decision = next_decision(plan.protocol, last, soreness, outcome)
        if alone:
            decision = without_advancing(plan.protocol, decision, last, alone)
        return self._record(plan, decision, at or utc_now(), "offline" if alone else "machine")

    def take_site_decision(
        self, person: str, site_plan: SitePlan, decision: Decision, at: str
    ) -> DecisionRecord:
        """The site's decision on a check-in made here; a plan the site assigned since starts here.
        Signed by the site, and still checked against its protocol (ValueError, ConfigError)."""
        _check(load_protocol(site_plan.protocol), decision)
        return self._record(self._site_plan(person, site_plan), decision, at, "site")

    def take_site_plan(
        self, person: str, site_plan: SitePlan, last: tuple[Decision, str] | None, revision: int
    ) -> bool:
        """The site's copy of where a person's plan stands (its last decision and that decision's
        check-in time), if newer than the copy taken last; True: taken. Checked as a decision is."""
        protocol = load_protocol(site_plan.protocol)
        if last is not None:
            _check(protocol, last[0])
        if self._records.site_revision(self.store.person_named(person)) >= revision:
            return False  # also a copy of a plan since replaced: it cannot bring that plan back
        plan = self._site_plan(person, site_plan)
        if last is not None and not self._decided_at(plan, last[1]):
            self._record(plan, last[0], last[1], "site")
        self._records.set_site_revision(plan.id, revision)
        return True

    def offline_decisions(self, person: str, site_plan: int) -> list[DecisionRecord]:
        """Decisions made here without the site on its plan `site_plan`, the latest MAX_OFFLINE: each
        check-in the site answers carries them (it keeps each once), so none is lost to a site
        decision made elsewhere in between."""
        plan = self.plan_for(person)
        if plan is None or self._records.site_plan_of(plan.id) != site_plan:
            return []
        sources = self._records.decision_sources(plan.id)
        made = [r for r, source in zip(self.decisions(plan), sources, strict=True) if source == "offline"]
        return made[-MAX_OFFLINE:]

    def _site_plan(self, person: str, site_plan: SitePlan) -> Plan:
        """The person's active plan here, the site's `site_plan` (started here if it is not)."""
        plan = self.plan_for(person)
        if plan is not None and self._records.site_plan_of(plan.id) == site_plan.id:
            return plan
        return self.assign(person, site_plan.protocol, site_plan.assigned_by, site_plan.started, site_plan.id)

    def _decided_at(self, plan: Plan, at: str) -> bool:
        moment = datetime.fromisoformat(at)
        return any(datetime.fromisoformat(record.at) == moment for record in self.decisions(plan))

    def site_plan_of(self, person: str) -> int | None:
        """The site's id of the person's active plan here (None: none, or one assigned here)."""
        plan = self.plan_for(person)
        return None if plan is None else self._records.site_plan_of(plan.id)

    def _record(self, plan: Plan, decision: Decision, at: str, source: str) -> DecisionRecord:
        person_id = self.store.person_named(plan.person)
        sessions = self.store.sessions(person_id)
        record = DecisionRecord(at, decision, sessions[-1] if sessions else 0)
        columns = asdict(decision) | {"action": decision.action.value, "after_session": record.after_session}
        self._records.add_check_in(person_id, plan.id, at, decision.soreness, columns | {"source": source})
        return record

    def decisions(self, plan: Plan) -> list[DecisionRecord]:
        return [
            DecisionRecord(at, Decision(number, stage, Action(action), load, soreness, reason), after)
            for at, number, stage, action, load, soreness, reason, after in self._records.decisions(plan.id)
        ]

    def _reps_after(self, person: str, session: int) -> list[RepMetrics]:
        person_id = self.store.person_named(person)
        later = [s for s in self.store.sessions(person_id) if s > session]
        return [rep for s in later for st in self.store.session(s).sets for rep in st.reps]
