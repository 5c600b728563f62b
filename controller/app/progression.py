"""Progression between rehab sessions: advance, hold or step back, always with the reason.

Asked at the start of a session, once the patient has said how sore they are (0-10):
- soreness above the plan's `step_back_above`: step back (the load down by `step_back_pct`);
- the last session had every planned rep done (none failed) with every lowering on the stage's
  tempo, and soreness is at or below `pain_limit`: advance (`load_step_kg` more);
- otherwise hold, naming what was missing.
Loads stay on 0.5 kg steps, between the protocol's start load and its maximum.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from controller.config import ProfileConfig
from controller.config.protocol import ProtocolConfig, StageConfig
from controller.core.reps import RepMetrics
from controller.core.tempo import tempo_feedback
from controller.units import round_half_kg


class Action(StrEnum):
    START = "start"
    ADVANCE = "advance"
    HOLD = "hold"
    STEP_BACK = "step_back"


@dataclass(frozen=True, slots=True)
class SessionOutcome:
    """What the last session showed: reps done against reps planned, and how the lowerings went."""

    planned_reps: int
    reps: list[RepMetrics]
    stage: StageConfig

    @property
    def completed(self) -> int:
        return sum(1 for rep in self.reps if not rep.failed)

    @property
    def off_tempo(self) -> int:
        tempo = self.stage.tempo
        return sum(1 for rep in self.reps if tempo_feedback(rep, tempo).lowering != "on tempo")


@dataclass(frozen=True, slots=True)
class Decision:
    session_number: int
    stage: int
    action: Action
    load_kg: float
    soreness: int
    reason: str


def decide(
    protocol: ProtocolConfig,
    session_number: int,
    soreness: int,
    last_load_kg: float | None,
    last: SessionOutcome | None,
) -> Decision:
    if not 0 <= soreness <= 10:
        raise ValueError(f"soreness = {soreness}: allowed 0 to 10")
    stage = protocol.stage_at(session_number)

    def decision(action: Action, load_kg: float, reason: str) -> Decision:
        bounded = min(protocol.max_load_kg, max(protocol.start_load_kg, round_half_kg(load_kg)))
        return Decision(session_number, stage, action, bounded, soreness, reason)

    if last_load_kg is None:
        return decision(Action.START, protocol.start_load_kg, "first session: the protocol's start load")
    if soreness > protocol.step_back_above:
        cut = last_load_kg * (1.0 - protocol.step_back_pct / 100.0)
        return decision(
            Action.STEP_BACK,
            cut,
            f"soreness {soreness}/10 is above {protocol.step_back_above}: load down "
            f"{protocol.step_back_pct:.0f} %",
        )
    missing = _what_was_missing(protocol, soreness, last)
    if missing or last is None:
        return decision(Action.HOLD, last_load_kg, "holding: " + "; ".join(missing))
    if last_load_kg >= protocol.max_load_kg:
        return decision(Action.HOLD, last_load_kg, "all reps on tempo, at the protocol's maximum load")
    return decision(
        Action.ADVANCE,
        last_load_kg + protocol.load_step_kg,
        f"all {last.planned_reps} reps done on tempo, soreness {soreness}/10 within "
        f"{protocol.pain_limit}: +{protocol.load_step_kg} kg",
    )


def next_decision(
    protocol: ProtocolConfig, last: Decision | None, soreness: int, since: SessionOutcome | None
) -> Decision:
    """What a check-in leads to after the plan's `last` decision (None: its first), from what the
    sessions done since showed (None: none done). The plan moves on by sessions done, not by
    check-ins: a check-in with no session since the last one is still that session's."""
    if last is None:
        return decide(protocol, 1, soreness, None, since)
    number = last.session_number + (0 if since is None else 1)
    return decide(protocol, number, soreness, last.load_kg, since)


def outcome_since(protocol: ProtocolConfig, last: Decision, reps: list[RepMetrics]) -> SessionOutcome | None:
    """The reps done since `last` against what its stage planned (None: no rep done since)."""
    if not reps:
        return None
    stage = protocol.stages[last.stage]
    return SessionOutcome(stage.sets * stage.reps, reps, stage)


def without_advancing(
    protocol: ProtocolConfig, decision: Decision, last: Decision | None, why: str
) -> Decision:
    """`decision`, but holding at the last load where it advanced: what a machine decides alone
    when it cannot know what the person did elsewhere. A step back, which lowers the load, stands."""
    if decision.action is not Action.ADVANCE or last is None:
        return decision
    return Decision(
        decision.session_number,
        decision.stage,
        Action.HOLD,
        last.load_kg,
        decision.soreness,
        f"holding at {last.load_kg:g} kg: {why}",
    )


def _what_was_missing(protocol: ProtocolConfig, soreness: int, last: SessionOutcome | None) -> list[str]:
    missing = []
    if last is None:
        missing.append("no record of the last session")
    else:
        if last.completed < last.planned_reps:
            missing.append(f"{last.completed} of {last.planned_reps} reps done")
        if last.off_tempo:
            missing.append(f"{last.off_tempo} lowering(s) off the {last.stage.tempo.eccentric_s:g} s tempo")
    if soreness > protocol.pain_limit:
        missing.append(f"soreness {soreness}/10 above {protocol.pain_limit}")
    return missing


def stage_profile(protocol: ProtocolConfig, decision: Decision) -> ProfileConfig:
    """Today's set as the plan prescribes it, at the decided load."""
    stage = protocol.stages[decision.stage]
    return ProfileConfig(
        name=f"{protocol.name}-{decision.stage + 1}",
        description=f"{protocol.title}: {stage.name}",
        kind=stage.kind,
        load_kg=decision.load_kg,
        eccentric_pct=stage.eccentric_pct,
        reps=stage.reps,
        sets=stage.sets,
        rest_s=stage.rest_s,
        tempo=stage.tempo,
        caps=stage.caps,
    )
