"""Who sees what of the set at the machine.

The person training and the supervisors (clinicians, admins) see all of it. Anyone else logged in
sees what they need to stay safe and not walk into someone's set: that the machine is in use, its
drive, fault and e-stop state and the kind of safety event, and nothing of the person: no name, no
profile or caps, no load, reps, forces or recording.
"""

from __future__ import annotations

from typing import Any

from dashboard.auth import SUPERVISE, User

# Kept as they are for everyone: the machine's own state.
MACHINE_FIELDS = (
    "type",
    "time_s",
    "machine",
    "drive",
    "fault",
    "estop",
    "set_state",
    "armed",
    "loop",
    "port",
)
# The set's, blanked for others rather than left out, so a page reads one shape of status.
SET_FIELDS_BLANK: dict[str, Any] = {
    "set_index": 0,
    "sets": 0,
    "rest_left_s": 0.0,
    "workout": None,
    "reps_done": 0,
    "profile": None,
    "load_kg": None,
    "loads_kg": None,
    "person": None,
    "exercise": None,
    "recording": None,
}


def sees_everything(viewer: User, person: str | None) -> bool:
    return viewer.role in SUPERVISE or (person is not None and viewer.name == person)


def for_others(message: dict[str, Any]) -> dict[str, Any] | None:
    """What someone other than `person` and the supervisors may see of a message (None: nothing)."""
    kind = message.get("type")
    if kind == "status":
        machine = {k: message[k] for k in MACHINE_FIELDS if k in message}
        return machine | SET_FIELDS_BLANK | {"in_use": message.get("person") is not None}
    if kind == "safety":
        return {"type": "safety", "time_s": message.get("time_s"), "kind": message.get("kind")}
    return None


def view(message: dict[str, Any], viewer: User, person: str | None) -> dict[str, Any] | None:
    return message if sees_everything(viewer, person) else for_others(message)
