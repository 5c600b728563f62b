"""Rehab plans at the site: a clinician assigns a protocol once (the site's token), any machine the
patient checks in on asks the site for today's decision (signed with its key, answered signed), and
the site decides from every machine's reps by the rules a machine uses alone
(controller/app/progression.py). The machine's side: controller/bridge/site_checkin.py."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Request, status
from fastapi import Path as PathParameter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from controller.app.progression import next_decision, outcome_since
from controller.bridge.signing import sign, signed_with
from controller.bridge.site_checkin import NO_PLAN_HEADER, PROTOCOL_NAME, CheckInClaim, DecisionWire
from controller.config import ConfigError
from controller.config.loader import describe
from controller.config.mqtt import MACHINE_ID
from controller.config.protocol import load_protocol, protocol_summary, shipped_protocols
from controller.site.api_recordings import body_of_at_most
from controller.site.ingest import IngestWorker
from controller.site.logins import READ, READERS, Authorization, check_changer
from controller.site.plan_store import PlanState, PlanStore
from controller.site.store import rep_from
from controller.site.to_machines import plan_messages
from controller.wire import NAME_PATTERN, strict_json

PersonName = Annotated[str, PathParameter(min_length=1, max_length=64, pattern=NAME_PATTERN)]
Machine = Annotated[str, PathParameter(pattern=MACHINE_ID)]
MAX_CHECKIN_BYTES = 64 * 1024  # a check-in with its most offline decisions is about 20 KB
CHECKIN_AGE_S = 600.0
SIGNED_JSON_BODY = {
    "requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}}
}


class Assign(BaseModel):
    model_config = ConfigDict(extra="forbid")
    protocol: str = Field(min_length=1, max_length=64, pattern=PROTOCOL_NAME)
    assigned_by: str = Field("site api", min_length=1, max_length=64)


def decided(
    protocol_name: str, last: DecisionWire | None, soreness: int, reps: list[dict[str, Any]]
) -> DecisionWire:
    protocol = load_protocol(protocol_name)
    previous = None if last is None else last.decision()
    since = None if previous is None else outcome_since(protocol, previous, [rep_from(rep) for rep in reps])
    return DecisionWire.of(next_decision(protocol, previous, soreness, since))


def plans_api(plans: PlanStore, worker: IngestWorker) -> APIRouter:
    """`worker`: sends each plan's new state to every machine, and holds their keys."""
    router = APIRouter()
    keys = worker.keys

    def send(state: PlanState) -> None:
        worker.offer(plan_messages(worker.config.topic_prefix, keys, state))

    @router.put("/api/people/{name}/plan")
    async def assign(
        request: Request, name: PersonName, body: Assign, authorization: Authorization = None
    ) -> Any:
        """A new plan for the person, from their next check-in on any machine (an earlier plan ends)."""
        by = check_changer(request, authorization, *READERS)
        try:
            protocol = load_protocol(body.protocol)
        except ConfigError:
            known = ", ".join(p.name for p in shipped_protocols())
            problem = f"protocol: {body.protocol!r} is not one of this site's protocols ({known})"
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, problem) from None
        state = await plans.assign(name, protocol.name, body.assigned_by if by == "site api" else by)
        send(state)
        return state.plan.model_dump() | {"title": protocol.title, "sessions": protocol.sessions}

    @router.get("/api/protocols", dependencies=READ)
    async def protocols() -> list[dict[str, Any]]:
        return [protocol_summary(p) for p in shipped_protocols()]

    @router.get("/api/people/{name}/plan", dependencies=READ)
    async def plan(name: PersonName) -> dict[str, Any]:
        """The person's plan and every decision on it, on whichever machine they checked in."""
        found = await plans.plan(name)
        if found is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"{name}: no plan at this site")
        active, decisions = found
        return active.model_dump() | {"decisions": decisions}

    # The body is read as sent: its signature is over the JSON the machine signed (CheckInClaim)
    @router.post("/api/machines/{machine}/checkins", openapi_extra=SIGNED_JSON_BODY)
    async def check_in(request: Request, machine: Machine) -> Any:
        key = keys.get(machine)
        if key is None:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"machine {machine!r}: no key at this site")
        claim = await _signed_claim(request, machine, key)
        found = await plans.check_in(claim, decided)
        if found is None:
            detail = f"{claim.person}: no plan at this site (the machine's own plan applies)"
            return JSONResponse({"detail": detail}, status.HTTP_404_NOT_FOUND, headers={NO_PLAN_HEADER: "1"})
        send(found.state)
        answer = {"v": 1, "machine": machine, "person": claim.person, "at": claim.at}
        answer |= {"plan": found.state.plan.model_dump(), "decision": found.decision.model_dump()}
        return sign(answer, key)

    return router


async def _signed_claim(request: Request, machine: str, key: bytes) -> CheckInClaim:
    try:
        data = strict_json(await body_of_at_most(request, MAX_CHECKIN_BYTES, "a check-in"))
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"a check-in: not JSON ({exc})") from None
    if not isinstance(data, dict) or not signed_with(data, key):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "not signed with this machine's key")
    try:
        claim = CheckInClaim.model_validate(data)
    except ValidationError as exc:
        problem = describe(exc, CheckInClaim, "check-in")
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, problem) from None
    if claim.machine != machine:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, f"machine: {claim.machine!r} is signed for another")
    off_s = abs((datetime.now(UTC) - datetime.fromisoformat(claim.at)).total_seconds())
    if off_s > CHECKIN_AGE_S:
        # a check-in signed long ago is a replay, or a machine's clock is wrong: either way not today's
        problem = f"at: {claim.at} is {off_s:.0f} s from the site's clock (allowed {CHECKIN_AGE_S:.0f} s)"
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, problem)
    return claim
