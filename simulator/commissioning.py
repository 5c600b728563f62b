"""Commissioning against the simulator, with the machine's true figures hidden from the controller:
perturbed inertia and friction, maybe the other payout, maybe a drive that lays out its registers
differently from the map the controller was given (`served`)."""

from __future__ import annotations

import random
from dataclasses import dataclass

from controller.config import DriveMap, MachineConfig
from controller.drive import Drive
from controller.drive.factory import make_drive
from controller.runtime.commissioner import Commissioner, Commissioning
from controller.timing import SimulatedClock
from simulator.host import SimDriveHost, Transport
from simulator.operator import SimulatedOperator
from simulator.plant import Plant, PlantParams
from simulator.rig import Rig
from simulator.simulated_drive import SimulatedDrive

SPREAD = 0.4  # hidden figures within +/-40 % of the machine file's
LOCKSTEP_TIMEOUT_S = 0.1


def hidden_truth(machine: MachineConfig, rng: random.Random, flip_payout: bool = False) -> MachineConfig:
    def vary(value: float) -> float:
        return value * rng.uniform(1 - SPREAD, 1 + SPREAD)

    payout = machine.spool.payout
    if flip_payout:
        payout = "negative" if payout == "positive" else "positive"
    spool = machine.spool.model_copy(
        update={"inertia_kgm2": vary(machine.spool.inertia_kgm2), "payout": payout}
    )
    motor = machine.motor.model_copy(update={"rotor_inertia_kgm2": vary(machine.motor.rotor_inertia_kgm2)})
    friction = machine.friction.model_copy(
        update={
            "coulomb_n": vary(machine.friction.coulomb_n),
            "viscous_n_s_per_m": vary(machine.friction.viscous_n_s_per_m),
        }
    )
    return machine.model_copy(update={"spool": spool, "motor": motor, "friction": friction})


@dataclass(frozen=True, slots=True)
class Link:
    """Over a real link: the map the controller is given, and the one the drive really speaks."""

    transport: Transport
    claimed: DriveMap
    served: DriveMap


async def commission_simulated(
    machine: MachineConfig, built: MachineConfig, mark_m: float = 1.0, link: Link | None = None
) -> Commissioning:
    operator = SimulatedOperator()
    rig = Rig(Plant(PlantParams.from_machine(built), 0.001), operator)
    clock = SimulatedClock()
    host = None
    if link is None:

        def connect(believed: MachineConfig) -> Drive:
            return SimulatedDrive(rig, clock, built)  # the simulator is as built, whatever we believe

    else:
        host = SimDriveHost(link.served, built, rig, link.transport, lockstep=True)
        address = host.start()
        # Lockstep on a simulated clock: a wall-clock timeout can only measure how loaded this
        # computer is, so it is set far above a starved thread's wait.
        claimed = link.claimed.with_timeout(LOCKSTEP_TIMEOUT_S)

        def connect(believed: MachineConfig) -> Drive:
            return make_drive(believed, claimed, address, clock)

    try:
        return await Commissioner(machine, connect, clock, operator, mark_m).run()
    finally:
        if host is not None:
            host.stop()
