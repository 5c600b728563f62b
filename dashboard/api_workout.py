"""Workouts: the shipped routines, and starting one (the control process runs its blocks)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request

from controller.app.set_request import SetRequestError, authorize_workout
from controller.config import load_profile
from controller.config.loader import CONFIG_ROOT
from controller.config.workout import load_workout
from controller.wire import StartWorkout
from dashboard.api_machine import Ok, ask_control
from dashboard.auth import CHOOSE_SETS, SUPERVISE, User, current_user, require
from dashboard.state import hub_of

router = APIRouter(prefix="/api")


@router.get("/workouts")
def workouts(_: Annotated[User, Depends(current_user)]) -> list[dict[str, Any]]:
    """Each workout with its steps; a step's load and kind are its profile's unless it says."""
    found = []
    for path in sorted((CONFIG_ROOT / "workouts").glob("*.toml")):
        workout = load_workout(path)
        steps = []
        for step in workout.steps:
            profile = load_profile(step.profile)
            load_kg = step.load_kg if step.load_kg is not None else profile.load_kg
            steps.append(step.model_dump(mode="json") | {"load_kg": load_kg, "kind": profile.kind.value})
        found.append(workout.model_dump(mode="json") | {"file": path.stem, "steps": steps})
    return found


@router.post("/workout/start", response_model=Ok)
async def start_workout(
    body: StartWorkout, request: Request, user: Annotated[User, Depends(require(*CHOOSE_SETS))]
) -> Ok:
    try:
        workout = authorize_workout(body, user.name, supervising=user.role in SUPERVISE)
    except SetRequestError as exc:
        raise HTTPException(exc.status, str(exc)) from None
    reply = await ask_control(hub_of(request), "workout", workout=workout, by=user.name)
    return Ok(note=str(reply.get("warning", "")))
