"""The site's rehab plans in PostgreSQL: the second half of the site's storage (store.py is the
first), as clinic_store.py is the machine's. A check-in is decided in one transaction that holds the
person's plan row, so two machines checking the same person in at once decide one after the other."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from controller.bridge.site_checkin import CheckInClaim, DecisionAt, DecisionWire, PlanWire

DECISION = "session_number, stage, action, load_kg, soreness, reason"
SAVE_DECISION = f"""
INSERT INTO decisions (plan_id, machine, checked_in, source, {DECISION})
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (plan_id, machine, checked_in) DO UPDATE SET source = excluded.source,
    session_number = excluded.session_number, stage = excluded.stage, action = excluded.action,
    load_kg = excluded.load_kg, soreness = excluded.soreness, reason = excluded.reason
"""
# what a machine decided alone stands over what the site answered for the same check-in: it is what
# the person was given (the site's answer was lost on its way)
PLAN = "SELECT id, protocol, assigned_by, started, revision FROM plans WHERE person = %s AND active"
NEW_REVISION = "UPDATE plans SET revision = nextval('plans_revision') WHERE id = %s RETURNING revision"

# (protocol, last decision or None, soreness, metrics of each rep done since) -> the decision
Decider = Callable[[str, DecisionWire | None, int, list[dict[str, Any]]], DecisionWire]


@dataclass(frozen=True, slots=True)
class PlanState:
    """A person's plan as every machine is sent it: the last decision on it is where it stands."""

    person: str
    plan: PlanWire
    last: DecisionAt | None
    revision: int  # from one sequence: a later change always has a larger one


@dataclass(frozen=True, slots=True)
class PlanDecision:
    decision: DecisionWire
    state: PlanState


class PlanStore:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool

    async def assign(self, person: str, protocol: str, by: str) -> PlanState:
        """A new active plan for `person`: any earlier one ends, its decisions kept."""
        async with self.pool.connection() as connection, connection.transaction():
            ended = "UPDATE plans SET active = false WHERE person = %s AND active"
            await connection.execute(ended, (person,))
            cursor = await connection.execute(
                "INSERT INTO plans (person, protocol, assigned_by) VALUES (%s, %s, %s) "
                "RETURNING id, protocol, assigned_by, started, revision",
                (person, protocol, by),
            )
            row = await cursor.fetchone()
        assert row is not None  # RETURNING gives the row written
        return PlanState(person, _plan(row), None, int(row[4]))

    async def states(self) -> list[PlanState]:
        """Every active plan where it stands: what a machine connecting is sent."""
        async with self.pool.connection() as connection:
            rows = await (
                await connection.execute("SELECT person FROM plans WHERE active ORDER BY person")
            ).fetchall()
            return [state for (person,) in rows if (state := await _state(connection, person)) is not None]

    async def plan(self, person: str) -> tuple[PlanWire, list[dict[str, Any]]] | None:
        """The person's active plan and its decisions in the order they were made (None: no plan)."""
        async with self.pool.connection() as connection:
            row = await (await connection.execute(PLAN, (person,))).fetchone()
            if row is None:
                return None
            cursor = await connection.execute(
                f"SELECT machine, checked_in, source, {DECISION} FROM decisions WHERE plan_id = %s "
                "ORDER BY checked_in, id",
                (row[0],),
            )
            names = [column.name for column in cursor.description or []]
            decisions = [dict(zip(names, found, strict=True)) for found in await cursor.fetchall()]
        return _plan(row), decisions

    async def check_in(self, claim: CheckInClaim, decide: Decider) -> PlanDecision | None:
        """The decision on `claim` (None: the person has no plan here) and the plan's new state. A
        check-in sent again gets the decision it got the first time."""
        async with self.pool.connection() as connection, connection.transaction():
            row = await (await connection.execute(PLAN + " FOR UPDATE", (claim.person,))).fetchone()
            if row is None:
                return None
            plan = _plan(row)
            if claim.site_plan == plan.id:
                for offline in claim.offline:
                    await _save(connection, plan.id, claim.machine, offline.at, "offline", offline)
            decision = await _decision_at(connection, plan.id, claim.machine, claim.at)
            if decision is None:
                last = await _last(connection, plan.id)
                reps = [] if last is None else await _reps_since(connection, claim.person, last.at)
                decision = decide(plan.protocol, last, claim.soreness, reps)
                await _save(connection, plan.id, claim.machine, claim.at, "site", decision)
            await connection.execute(NEW_REVISION, (plan.id,))
            state = await _state(connection, claim.person)
        assert state is not None  # the plan row is held
        return PlanDecision(decision, state)


async def _state(connection: AsyncConnection[Any], person: str) -> PlanState | None:
    cursor = await connection.execute(PLAN, (person,))
    row = await cursor.fetchone()
    if row is None:
        return None
    plan = _plan(row)
    return PlanState(person, plan, await _last(connection, plan.id), int(row[4]))


async def _save(
    connection: AsyncConnection[Any], plan_id: int, machine: str, at: str, source: str, decision: DecisionWire
) -> None:
    columns = (decision.session_number, decision.stage, decision.action, decision.load_kg)
    values = (plan_id, machine, at, source, *columns, decision.soreness, decision.reason)
    await connection.execute(SAVE_DECISION, values)


async def _decision_at(
    connection: AsyncConnection[Any], plan_id: int, machine: str, at: str
) -> DecisionWire | None:
    cursor = await connection.execute(
        f"SELECT {DECISION} FROM decisions WHERE plan_id = %s AND machine = %s AND checked_in = %s",
        (plan_id, machine, at),
    )
    row = await cursor.fetchone()
    return None if row is None else _decision(row)


async def _last(connection: AsyncConnection[Any], plan_id: int) -> DecisionAt | None:
    """The plan's last decision, by the time of its check-in."""
    cursor = await connection.execute(
        f"SELECT checked_in, {DECISION} FROM decisions WHERE plan_id = %s "
        "ORDER BY checked_in DESC, id DESC LIMIT 1",
        (plan_id,),
    )
    row = await cursor.fetchone()
    if row is None:
        return None
    return DecisionAt.model_validate(_decision(row[1:]).model_dump() | {"at": row[0].isoformat()})


async def _reps_since(connection: AsyncConnection[Any], person: str, at: str) -> list[dict[str, Any]]:
    """Every rep the person did on any machine since `at`, by the machines' clocks, which is also
    when their reps were done: a rep that reached the site late, from a machine cut off from the
    broker, still counts where it belongs."""
    reps = await connection.execute(
        "SELECT metrics FROM reps WHERE person = %s AND at > %s "
        "ORDER BY at, machine, block, set_index, rep_index",
        (person, at),
    )
    return [metrics for (metrics,) in await reps.fetchall()]


def _plan(row: tuple[Any, ...]) -> PlanWire:
    """From (id, protocol, assigned_by, started, ...): PLAN's row, or the one an INSERT returned."""
    plan_id, protocol, assigned_by, started = row[:4]
    return PlanWire(id=plan_id, protocol=protocol, assigned_by=assigned_by, started=started.isoformat())


def _decision(row: tuple[Any, ...]) -> DecisionWire:
    return DecisionWire.model_validate(dict(zip(DECISION.split(", "), row, strict=True)))
