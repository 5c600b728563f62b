"""Regenerate the reference recordings that tests/test_replay_refs.py replays.

    .venv/bin/python tests/replay_refs/update.py

Run it only when a change in the controller's decisions is intended, and say why in the commit:
the old references are the evidence of what the controller used to do.
"""

from __future__ import annotations

from pathlib import Path

from controller.config import load_athlete, load_machine, load_profile
from simulator.scenarios import scenario_by_name
from simulator.simulate import SimulationSetup, simulate

HERE = Path(__file__).resolve().parent

REFERENCES = {
    "overload-130-trained-3reps": ("eccentric-overload-130", 3, None, None),
    "spotter-85kg-2reps": ("spotter", 2, 85.0, None),
    "release-mid-rep": ("eccentric-overload-130", 3, None, "release-mid-rep"),
    "adaptive-eccentric-4reps": ("adaptive-eccentric", 4, None, None),
    "isokinetic-rehab-3reps": ("rehab-isokinetic", 3, None, None),
}


def main() -> None:
    for name, (profile, reps, load_kg, scenario) in REFERENCES.items():
        path = HERE / f"{name}.ecxr"
        setup = SimulationSetup(
            machine=load_machine("home-gym-2kw"),
            profile=load_profile(profile).model_copy(update={"sets": 1}),  # one set is evidence enough
            athlete=load_athlete("rehab-patient" if "rehab" in name else "trained"),
            reps=reps,
            load_kg=load_kg,
            scenario=scenario_by_name(scenario) if scenario else None,
            record=path,
        )
        result = simulate(setup)
        print(f"{path.name}: {len(result.reps)} reps, {path.stat().st_size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
