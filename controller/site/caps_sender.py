"""What the site sends each machine: every person's caps, one retained message per machine and
person, signed with that machine's own key and naming it (controller/bridge/site_copies.py checks
both, and that the revision is newer than its copy). A machine offline gets them when it is back."""

from __future__ import annotations

import json
import re
from pathlib import Path

from controller.bridge.signing import sign
from controller.config.mqtt import MACHINE_ID
from controller.site.store import CapsRecord

KEY_SUFFIX = ".key"


def machine_keys(key_dir: Path | None) -> dict[str, bytes]:
    """{machine id: key} from `{machine}.key` files; a name that is no machine id is left out."""
    if key_dir is None:
        return {}
    return {
        path.name.removesuffix(KEY_SUFFIX): path.read_bytes().strip()
        for path in sorted(key_dir.glob(f"*{KEY_SUFFIX}"))
        if re.fullmatch(MACHINE_ID, path.name.removesuffix(KEY_SUFFIX))
    }


def caps_messages(prefix: str, keys: dict[str, bytes], record: CapsRecord) -> list[tuple[str, bytes]]:
    """(topic, payload) for each machine."""
    messages = []
    for machine, key in keys.items():
        payload = {"v": 1, "machine": machine, "person": record.person, "caps": record.caps}
        payload |= {"revision": record.revision, "set_by": record.set_by, "set_at": record.set_at}
        body = json.dumps(sign(payload, key), separators=(",", ":"), allow_nan=False).encode()
        messages.append((f"{prefix}/{machine}/caps/{record.person}", body))
    return messages


def worker_state_topic(prefix: str, worker: str) -> str:
    return f"{prefix}/site/{worker}/state"
