"""Named events injected into a simulated set: what goes wrong on a real machine."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ScenarioKind(StrEnum):
    RELEASE_MID_REP = "release-mid-rep"
    RELEASE_AT_TOP = "release-at-top"
    CONCENTRIC_FAILURE = "concentric-failure"
    JERK = "jerk"
    SLACK_AT_TOP = "slack-at-top"


@dataclass(frozen=True, slots=True)
class Scenario:
    kind: ScenarioKind
    rep: int = 3
    phase: str = "eccentric"
    at_fraction: float = 0.5
    description: str = ""


SCENARIOS: dict[str, Scenario] = {
    s.kind.value: s
    for s in (
        Scenario(
            ScenarioKind.RELEASE_MID_REP,
            rep=3,
            phase="eccentric",
            at_fraction=0.5,
            description="lets go of the handle halfway down rep 3",
        ),
        Scenario(
            ScenarioKind.RELEASE_AT_TOP,
            rep=2,
            phase="top",
            at_fraction=0.0,
            description="lets go at the top of rep 2",
        ),
        Scenario(
            ScenarioKind.CONCENTRIC_FAILURE,
            rep=3,
            phase="concentric",
            at_fraction=0.0,
            description="loses half their strength as rep 3 starts and cannot finish it",
        ),
        Scenario(
            ScenarioKind.JERK,
            rep=2,
            phase="concentric",
            at_fraction=0.4,
            description="yanks the handle 40 % into the lift of rep 2",
        ),
        Scenario(
            ScenarioKind.SLACK_AT_TOP,
            rep=2,
            phase="eccentric",
            at_fraction=0.0,
            description="throws the handle back toward the machine at the top of rep 2",
        ),
    )
}


def scenario_by_name(name: str) -> Scenario:
    try:
        return SCENARIOS[name]
    except KeyError:
        raise ValueError(f"scenario: unknown name {name!r}; known: {', '.join(SCENARIOS)}") from None
