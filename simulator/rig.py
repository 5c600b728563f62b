"""A person on the machine with a fixed motor torque: the 'weight stack' every other mode is
measured against, and the physics loop shared by anything that drives the plant step by step."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from controller.config import AthleteConfig, MachineConfig
from simulator.athlete import Athlete, RepTruth
from simulator.calibration import Device, fit_strength
from simulator.plant import Plant, PlantParams
from simulator.scenarios import Scenario


class Person(Protocol):
    """Whoever holds the handle: a simulated athlete, or a person rebuilt from a recording."""

    @property
    def attached(self) -> bool: ...

    @property
    def done(self) -> bool: ...

    @property
    def moving_mass_kg(self) -> float: ...

    def step(self, now_s: float, position_m: float, velocity_mps: float, tension_n: float) -> float: ...


@dataclass(frozen=True, slots=True)
class Rig:
    """Plant and person wired together; `advance` moves both by one physics step."""

    plant: Plant
    person: Person

    @classmethod
    def build(
        cls,
        machine: MachineConfig,
        athlete: AthleteConfig,
        planned_reps: int,
        scenario: Scenario | None = None,
        dt_s: float = 0.001,
    ) -> Rig:
        plant = Plant(PlantParams.from_machine(machine), dt_s, attached_mass_kg=athlete.moving_mass_kg)
        device = Device.of(machine)
        strength = fit_strength(athlete, device)
        person = Athlete(athlete, strength, planned_reps, scenario, dt_s, device.moving_mass_kg)
        return cls(plant, person)

    @property
    def athlete(self) -> Athlete:
        assert isinstance(self.person, Athlete), "this rig holds a replayed person, not an athlete"
        return self.person

    def advance(self, torque_nm: float) -> None:
        plant, person = self.plant, self.person
        force = person.step(plant.time_s, plant.handle_pos_m, plant.handle_vel_mps, plant.tension_n)
        plant.attached_mass_kg = person.moving_mass_kg if person.attached else 0.0
        plant.step(torque_nm, force)


def weight_stack_set(
    machine: MachineConfig,
    athlete: AthleteConfig,
    load_n: float,
    planned_reps: int,
    max_time_s: float = 600.0,
) -> list[RepTruth]:
    """Reps done against a constant motor torque, until the person lets go or time runs out."""
    rig = Rig.build(machine, athlete, planned_reps)
    rig.plant.place(athlete.start_position_m)
    rig.athlete.take_load_in_hand(load_n)
    torque = load_n / machine.tension_per_torque_n_per_nm
    steps = int(max_time_s / rig.plant.dt_s)
    for _ in range(steps):
        rig.advance(torque)
        if rig.athlete.done:
            break
    return rig.athlete.state.reps
