"""The person commissioning a machine: pulls the handle out to a mark, holds it still, lets go.
Used by `eccentrix commission` against the simulator, where nobody is there to press Enter."""

from __future__ import annotations

from dataclasses import dataclass

_PULL_SPEED_MPS = 0.3
_STIFFNESS_N_PER_M = 2000.0  # an arm holding a handle still
_DAMPING_N_S_PER_M = 120.0
_HELD_M = 0.005
_HELD_MPS = 0.01
_ARM_MASS_KG = 2.0


@dataclass
class SimulatedOperator:
    mark_m: float = 1.0
    task: str = "none"  # "none" | "pull" | "let go"
    _target_m: float = 0.0
    _last_s: float = 0.0
    _held: bool = False
    _position_m: float = 0.0
    _velocity_mps: float = 0.0

    # -- what commissioning asks -------------------------------------------------------------------
    def ask(self, task: str, mark_m: float) -> None:
        self.task, self.mark_m, self._held = task, mark_m, False
        self._target_m = self._position_m

    def finished(self, now_s: float) -> bool:
        return self._held if self.task == "pull" else True

    # -- the Person protocol -----------------------------------------------------------------------
    @property
    def attached(self) -> bool:
        return self.task == "pull"

    @property
    def done(self) -> bool:
        return False

    @property
    def moving_mass_kg(self) -> float:
        return _ARM_MASS_KG

    def step(self, now_s: float, position_m: float, velocity_mps: float, tension_n: float) -> float:
        dt, self._last_s = now_s - self._last_s, now_s
        self._position_m, self._velocity_mps = position_m, velocity_mps
        if self.task != "pull":
            return 0.0
        self._target_m = min(self.mark_m, self._target_m + _PULL_SPEED_MPS * dt)
        error = self._target_m - position_m
        self._held = self._target_m >= self.mark_m and abs(error) < _HELD_M and abs(velocity_mps) < _HELD_MPS
        return tension_n + _STIFFNESS_N_PER_M * error - _DAMPING_N_S_PER_M * velocity_mps
