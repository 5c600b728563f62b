"""Weight feel: what the person feels of mass as the handle speeds up and slows down.

The person feels the motor's pull, friction (already compensated in the loop) and the machine's
reflected inertia times the acceleration (4.5 kg on the 2 kW build). `pure` cancels that inertia
for a constant tension; `weight_stack` replaces it with the inertia of a stack of the load's mass,
as on a plate-loaded machine. The correction is bounded (max_correction_pct of the level) and is
dropped when the handle is reeling in fast -- a let-go -- so an acceleration feed-forward can never
pull harder on a handle that is flying back.
"""

from __future__ import annotations

from controller.config import MachineConfig
from controller.config.profile import FeelConfig, FeelMode
from controller.estimator import Motion
from controller.units import STANDARD_GRAVITY_MPS2

LET_GO_SPEED_MPS = -0.5


def inertia_correction_n(feel: FeelConfig, machine: MachineConfig, level_n: float, m: Motion) -> float:
    """Force to add to the motor's request so the person feels the chosen mass."""
    if feel.mode is FeelMode.MACHINE or m.velocity_mps < LET_GO_SPEED_MPS:
        return 0.0
    felt_mass = level_n / STANDARD_GRAVITY_MPS2 if feel.mode is FeelMode.WEIGHT_STACK else 0.0
    correction = (felt_mass - machine.reflected_mass_kg) * m.acceleration_mps2
    bound = feel.max_correction_pct / 100.0 * level_n
    return max(-bound, min(bound, correction))
