"""Rehab: a clinician assigns a protocol and caps and reviews progress; a patient checks in (how
sore, 0-10), gets today's set as the plan decides it, and starts it."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from controller.app.clinic import Clinic
from controller.app.progression import stage_profile
from controller.app.report import render_report
from controller.app.store import SqliteSessionStore, StoreError, utc_now
from controller.bridge import site_checkin
from controller.config import CapsConfig, ConfigError
from controller.config.loader import describe
from controller.config.protocol import protocol_summary, shipped_protocols
from controller.wire import Name
from dashboard.api_machine import Ok, ask_control
from dashboard.auth import SUPERVISE, TRAIN, User, current_user, require
from dashboard.state import hub_of, open_store, settings_of

router = APIRouter(prefix="/api")
Store = Annotated[SqliteSessionStore, Depends(open_store)]
Supervisor = Annotated[User, Depends(require(*SUPERVISE))]
CAP_FIELDS = tuple(CapsConfig.model_fields)
CapField = Literal[CAP_FIELDS]  # type: ignore[valid-type]


class Assign(BaseModel):
    model_config = ConfigDict(extra="forbid")
    protocol: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9-]+$")


class CheckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    soreness: int = Field(ge=0, le=10, description="0 none, 10 the worst imaginable")


@router.get("/protocols")
def protocols(_: Annotated[User, Depends(current_user)]) -> list[dict[str, Any]]:
    return [protocol_summary(p) for p in shipped_protocols()]


@router.get("/patients")
def patients(store: Store, _: Supervisor) -> list[dict[str, Any]]:
    clinic = Clinic(store)
    listed = []
    for name in store.account_names("patient"):
        plan = clinic.plan_for(name)
        caps = clinic.caps_for(name)
        listed.append(
            {
                "name": name,
                "protocol": plan.protocol.name if plan else None,
                "caps": caps.model_dump(exclude_none=True) if caps else None,
            }
        )
    return listed


@router.put("/patients/{name}/plan", response_model=Ok)
def assign_plan(name: Name, body: Assign, store: Store, user: Supervisor) -> Ok:
    try:
        plan = Clinic(store).assign(name, body.protocol, by=user.name)
    except ConfigError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    return Ok(note=f"{name}: {plan.protocol.title}, {plan.protocol.sessions} sessions")


class CapsChange(BaseModel):
    """Caps change field by field: `set` the ones given, `remove` the ones named; the rest stay.
    Replacing them whole (as this once did) dropped the force caps of a patient whose speed cap
    alone was being set."""

    model_config = ConfigDict(extra="forbid")
    set: CapsConfig = CapsConfig()
    remove: list[CapField] = Field(default_factory=list, max_length=len(CAP_FIELDS))


@router.patch("/patients/{name}/caps")
def change_caps(name: Name, body: CapsChange, store: Store, user: Supervisor) -> dict[str, Any]:
    clinic = Clinic(store)
    current = clinic.caps_for(name)
    before = current.model_dump(exclude_none=True) if current else {}
    given = body.set.model_dump(exclude_unset=True)
    both = sorted(set(given) & set(body.remove))
    if both:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"{', '.join(both)}: both set and removed")
    merged = {k: v for k, v in (before | given).items() if k not in body.remove}
    try:
        after = CapsConfig.model_validate(merged)
    except ValidationError as exc:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, describe(exc, CapsConfig, "caps")
        ) from None
    clinic.set_caps(name, after, by=user.name)
    note = "applies to every set started for them from now on"
    return {"before": before, "after": after.model_dump(exclude_none=True), "note": note}


@router.get("/patients/{name}/progress")
def progress(name: Name, store: Store, user: Annotated[User, Depends(current_user)]) -> dict[str, Any]:
    _own_or_supervising(name, user)
    clinic = Clinic(store)
    plan = clinic.plan_for(name)
    if plan is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"{name!r} has no protocol assigned")
    decisions = [{"at": d.at, **asdict(d.decision)} for d in clinic.decisions(plan)]
    return {"protocol": plan.protocol.name, "title": plan.protocol.title, "decisions": decisions}


@router.get("/patients/{name}/report", response_class=HTMLResponse)
def report(name: Name, store: Store, user: Annotated[User, Depends(current_user)]) -> str:
    _own_or_supervising(name, user)
    return render_report(Clinic(store), name)


@router.post("/today/checkin")
def check_in(
    request: Request, body: CheckIn, store: Store, user: Annotated[User, Depends(require(*TRAIN))]
) -> dict[str, Any]:
    """Today's decision, from the soreness and the last session (on any machine, where a site holds
    the plan); the set it prescribes."""
    clinic = Clinic(store)
    try:
        record = site_checkin.check_in(clinic, settings_of(request).site, user.name, body.soreness, utc_now())
    except (StoreError, ConfigError) as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    plan = clinic.plan_for(user.name)
    assert plan is not None
    profile = stage_profile(plan.protocol, record.decision)
    return {
        "action": record.decision.action.value,
        "reason": record.decision.reason,
        "session_number": record.decision.session_number,
        "stage": plan.protocol.stages[record.decision.stage].name,
        "effort": plan.protocol.stages[record.decision.stage].effort,
        "profile": profile.model_dump(mode="json", exclude_none=True),
    }


@router.post("/today/start", response_model=Ok)
async def start_today(request: Request, store: Store, user: Annotated[User, Depends(require(*TRAIN))]) -> Ok:
    """Start the set today's check-in decided (the control process applies the patient's caps)."""
    clinic = Clinic(store)
    plan = clinic.plan_for(user.name)
    decisions = clinic.decisions(plan) if plan else []
    if plan is None or not decisions:
        raise HTTPException(status.HTTP_409_CONFLICT, "check in first: today's set follows from it")
    profile = stage_profile(plan.protocol, decisions[-1].decision)
    start = {"profile": profile.model_dump(mode="json", exclude_none=True), "person": user.name}
    await ask_control(hub_of(request), "start", start=start, by=user.name)
    return Ok()


def _own_or_supervising(name: str, user: User) -> None:
    if name != user.name and user.role not in SUPERVISE:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "a patient sees only their own progress")
