"""Topic layout and payloads (all JSON objects with `"v": SCHEMA_VERSION`). Every rep, set and fault
message also carries `machine`, `id` (unique, the same in a redelivery), `ts` (Unix time) and, where
it belongs to a block of sets, `block` (that block's uid).

{prefix}/{machine}/state          retained; online/offline (birth and last will), set state,
                                  e-stop, fault, what the bridge dropped
{prefix}/{machine}/telemetry      QoS 0, at mqtt.telemetry_hz: the newest frame
{prefix}/{machine}/rep            QoS 1: each completed rep with its metrics
{prefix}/{machine}/set            QoS 1: each finished block of sets (type block_done: session id,
                                  reps, converged load), a workout started or ended (type workout),
                                  and warnings for the person (type warning: overload spacing)
{prefix}/{machine}/fault          QoS 1: safety events and faults
{prefix}/{machine}/cmd            in, QoS 1: signed commands (signing.py)
{prefix}/{machine}/cmd/response   QoS 1: the answer to each command, by nonce
"""

from __future__ import annotations

from dataclasses import dataclass

SCHEMA_VERSION = 1


@dataclass(frozen=True, slots=True)
class Topics:
    state: str
    telemetry: str
    rep: str
    set: str
    fault: str
    command: str
    response: str

    @classmethod
    def of(cls, prefix: str, machine: str) -> Topics:
        at = f"{prefix}/{machine}"
        leaves = ("state", "telemetry", "rep", "set", "fault", "cmd", "cmd/response")
        return cls(*(f"{at}/{leaf}" for leaf in leaves))
