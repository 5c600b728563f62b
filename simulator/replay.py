"""What-if replay: the same person, the same movement, another profile.

From a recording we rebuild the handle's path (cable position plus the cable's stretch under the
felt tension) and the tension the person worked against. The replayed person follows that path as
people follow a movement they know: they feel the tension and push against it, correcting toward
where the handle should be. Under another profile the forces change and the movement stays, which
is what "how would this set have felt at constant load?" asks. Their strength is not modelled: a
heavier profile is followed as if they could.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from controller.config import MachineConfig, ProfileConfig
from controller.config.loader import validate
from controller.core.loop import ControlLoop, Frame
from controller.core.reps import RepMetrics
from controller.core.set_lifecycle import LOADED
from controller.runtime.recorder import Recording
from controller.runtime.regression import configs_of, regression_replay
from controller.timing import SimulatedClock
from simulator.calibration import Device
from simulator.plant import Plant, PlantParams
from simulator.rig import Rig
from simulator.simulated_drive import SimulatedDrive

_POSITION_GAIN = 400.0  # 1/s^2: follows the remembered path within a few millimetres
_VELOCITY_GAIN = 40.0  # 1/s
_DEFAULT_LIMB_MASS_KG = 6.0
_AFTER_END_S = 1.0
TRACE_EVERY = 10  # frames: 50 points a second at 500 Hz, plenty for a chart


class ReplayedPerson:
    """Follows the recorded handle path. Like a person, they wait for the load to come in before
    they lift: the path pauses where each recorded set began loading until the replayed set loads
    too (the recorded path after that moment is a reaction to the load, which the replay must not
    precede; a rest that ends later in the replay would otherwise leave the next set unloaded)."""

    def __init__(
        self, recording: Recording, machine: MachineConfig, loading: Callable[[], bool] = lambda: True
    ) -> None:
        c = recording.columns
        # A recording may start at any time on its loop's clock (a service's block starts minutes
        # in): the replay starts at zero.
        self.time_s = recording.time_s - recording.time_s[0] if recording.frames else recording.time_s
        stretch = c["felt_tension_n"].astype(np.float64) / machine.cable.stiffness_n_per_m
        self.position_m = c["position_m"].astype(np.float64) + stretch
        self.velocity_mps = c["velocity_mps"].astype(np.float64)
        self.acceleration_mps2 = c["acceleration_mps2"].astype(np.float64)
        athlete = recording.header.get("athlete") or {}
        self._limb_kg = float(athlete.get("moving_mass_kg", _DEFAULT_LIMB_MASS_KG))
        self._mass = self._limb_kg + Device.of(machine).moving_mass_kg
        self.end_s = float(self.time_s[-1]) if len(self.time_s) else 0.0
        self._now = 0.0
        self._loading = loading
        states = recording.header.get("set_states", [])
        code = states.index("loading") if "loading" in states else -1
        loading_now = c["set_state"] == code
        began = np.flatnonzero(loading_now[1:] & ~loading_now[:-1]) + 1
        if len(loading_now) and loading_now[0]:
            began = np.concatenate(([0], began))
        self._loads_s = [float(self.time_s[i]) for i in began]  # every set's load-in, in order
        self._offset_s = 0.0  # how long the replayed person has waited for the loads

    @property
    def attached(self) -> bool:
        return self._now - self._offset_s <= self.end_s

    @property
    def done(self) -> bool:
        return self._now - self._offset_s > self.end_s + _AFTER_END_S

    @property
    def moving_mass_kg(self) -> float:
        return self._limb_kg

    def step(self, now_s: float, position_m: float, velocity_mps: float, tension_n: float) -> float:
        self._now = now_s
        if not self.attached:
            return 0.0
        t, waiting = now_s - self._offset_s, False
        if self._loads_s and t >= self._loads_s[0]:
            if self._loading():
                self._loads_s.pop(0)  # loaded: follow the path on to the next set's load-in
            else:
                self._offset_s, t, waiting = now_s - self._loads_s[0], self._loads_s[0], True
        x = float(np.interp(t, self.time_s, self.position_m))
        v = 0.0 if waiting else float(np.interp(t, self.time_s, self.velocity_mps))
        a = 0.0 if waiting else float(np.interp(t, self.time_s, self.acceleration_mps2))
        correction = a + _VELOCITY_GAIN * (v - velocity_mps) + _POSITION_GAIN * (x - position_m)
        return tension_n + self._mass * correction


@dataclass
class WhatIf:
    profile: ProfileConfig
    original: list[RepMetrics]
    replayed: list[RepMetrics]
    trace: dict[str, list[float]] = field(default_factory=dict)  # every TRACE_EVERY-th frame

    def to_json(self, original_profile: str, athlete: str | None) -> dict[str, Any]:
        return {
            "profile": self.profile.name,
            "original_profile": original_profile,
            "athlete": athlete,
            "original": [_rep(rep) for rep in self.original],
            "replayed": [_rep(rep) for rep in self.replayed],
        }


def _rep(rep: RepMetrics) -> dict[str, Any]:
    return {name: getattr(rep, name) for name in rep.__dataclass_fields__}


def what_if(recording: Recording, profile: ProfileConfig, load_kg: float | None = None) -> WhatIf:
    """The recorded set under another kind of resistance, and only that: at the recorded load
    (unless `load_kg` says another), with its sets, reps and rests. Replayed at the profile's own
    50 kg, one set of its own reps, a 40 kg set of 2 x 6 became 6 reps at 50 kg, the second set
    never loaded."""
    original = regression_replay(recording).reps
    machine, recorded = configs_of(recording)
    load = load_kg if load_kg is not None else recording.header.get("load_kg") or recorded.load_kg
    plan = {"load_kg": load, "sets": recorded.sets, "reps": recorded.reps, "rest_s": recorded.rest_s}
    same_plan = validate(profile.model_dump(mode="json") | plan, ProfileConfig, "what-if profile")
    replayed, trace = asyncio.run(_resimulate(recording, machine, same_plan, None))
    return WhatIf(same_plan, original, replayed, trace)


async def _resimulate(
    recording: Recording, machine: MachineConfig, profile: ProfileConfig, load_kg: float | None
) -> tuple[list[RepMetrics], dict[str, list[float]]]:
    loop = ControlLoop(machine, profile, load_kg)
    person = ReplayedPerson(recording, machine, lambda: loop.lifecycle.state in LOADED)
    plant = Plant(PlantParams.from_machine(machine), attached_mass_kg=person.moving_mass_kg)
    plant.place(float(person.position_m[0]) if len(person.position_m) else 0.0)
    rig = Rig(plant, person)
    clock = SimulatedClock()
    trace: dict[str, list[float]] = {"time_s": [], "position_m": [], "felt_tension_n": [], "command_n": []}

    def keep(frame: Frame) -> None:
        if round(frame.time_s / loop.period_s) % TRACE_EVERY == 0:
            for name, values in trace.items():
                values.append(getattr(frame, name))

    loop.observers.on_frame.append(keep)
    drive = SimulatedDrive(rig, clock, loop.machine)
    await drive.connect()
    loop.start_set()
    await loop.run(drive, clock, lambda lp: person.done, person.end_s + 2 * _AFTER_END_S + 60.0)
    return loop.reps, trace
