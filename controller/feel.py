"""Weight feel: what the person feels of mass as the handle speeds up and slows down.

The person feels the motor's pull, friction (already compensated in the loop) and the machine's
reflected inertia times the acceleration (4.5 kg on the 2 kW build). `pure` cancels part of that
inertia for a more constant tension; `weight_stack` adds the inertia of a stack of the load's mass,
as on a plate-loaded machine.

Only CANCEL_FRACTION of the machine's inertia is cancelled. The acceleration is estimated from the
encoder through a 50 Hz filter and acts through the cable's stretch; cancelling more than about 55 %
made the handle oscillate at ~5 Hz against the simulated athlete (a negative effective mass). A
handle accelerometer or the drive's own inertia feed-forward would allow more. The correction is
also bounded (max_correction_pct of the level) and dropped when the handle is reeling in fast -- a
let-go -- so the feed-forward never pulls harder on a handle that is flying back.
"""

from __future__ import annotations

from controller.config import MachineConfig
from controller.config.profile import FeelConfig, FeelMode
from controller.estimator import Motion
from controller.units import STANDARD_GRAVITY_MPS2

LET_GO_SPEED_MPS = -0.5
CANCEL_FRACTION = 0.5


def inertia_correction_n(feel: FeelConfig, machine: MachineConfig, level_n: float, m: Motion) -> float:
    """Force to add to the motor's request so the person feels the chosen mass."""
    if feel.mode is FeelMode.MACHINE or m.velocity_mps < LET_GO_SPEED_MPS:
        return 0.0
    felt_mass = level_n / STANDARD_GRAVITY_MPS2 if feel.mode is FeelMode.WEIGHT_STACK else 0.0
    correction = (felt_mass - CANCEL_FRACTION * machine.reflected_mass_kg) * m.acceleration_mps2
    bound = feel.max_correction_pct / 100.0 * level_n
    return max(-bound, min(bound, correction))
