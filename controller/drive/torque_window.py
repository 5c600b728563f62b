"""The last clamp, in the drive's own units: the torque about to be encoded may only pull the cable
in, and never harder than `limits.max_tension_n` needs. The loop applies it after kinematics and
sign; every drive applies it again before it encodes a word; the same magnitude goes into the
drive's own torque-limit registers."""

from __future__ import annotations

from dataclasses import dataclass

from controller.config import MachineConfig


@dataclass(frozen=True, slots=True)
class TorqueWindow:
    low_nm: float
    high_nm: float

    @classmethod
    def of(cls, machine: MachineConfig) -> TorqueWindow:
        limit = machine.max_tension_torque_nm
        # Tension needs torque against the payout direction: negative when positive counts pay out.
        return cls(-limit, 0.0) if machine.payout_sign > 0 else cls(0.0, limit)

    @property
    def limit_nm(self) -> float:
        return max(-self.low_nm, self.high_nm)

    def clamp(self, torque_nm: float) -> float:
        if torque_nm != torque_nm:  # NaN: no torque at all
            return 0.0
        return min(max(torque_nm, self.low_nm), self.high_nm)
