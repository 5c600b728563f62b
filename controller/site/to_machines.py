"""What the site sends each machine: every person's caps and rehab plan and every account, one
retained message per machine and person (or account), signed with that machine's own key and naming it
(controller/bridge/site_copies.py checks both, and that the revision is newer than its copy). A
machine offline gets them when it is back."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from controller.bridge.signing import sign
from controller.config.mqtt import MACHINE_ID
from controller.site.plan_store import PlanState
from controller.site.store import AccountRecord, CapsRecord

KEY_SUFFIX = ".key"

Message = tuple[str, bytes]  # (topic, payload)


def machine_keys(key_dir: Path | None) -> dict[str, bytes]:
    """{machine id: key} from `{machine}.key` files; a name that is no machine id is left out."""
    if key_dir is None:
        return {}
    return {
        path.name.removesuffix(KEY_SUFFIX): path.read_bytes().strip()
        for path in sorted(key_dir.glob(f"*{KEY_SUFFIX}"))
        if re.fullmatch(MACHINE_ID, path.name.removesuffix(KEY_SUFFIX))
    }


def caps_messages(prefix: str, keys: dict[str, bytes], record: CapsRecord) -> list[Message]:
    body: dict[str, Any] = {"person": record.person, "caps": record.caps, "revision": record.revision}
    body |= {"set_by": record.set_by, "set_at": record.set_at}
    return _signed_for_each(prefix, keys, f"caps/{record.person}", body)


def account_messages(prefix: str, keys: dict[str, bytes], record: AccountRecord) -> list[Message]:
    """An account's role and scrypt hash (no password), or its removal (`password` null)."""
    body: dict[str, Any] = {"name": record.name, "role": record.role, "password": record.password}
    body |= {"revision": record.revision, "changed_at": record.changed_at}
    return _signed_for_each(prefix, keys, f"accounts/{record.name}", body)


def plan_messages(prefix: str, keys: dict[str, bytes], state: PlanState) -> list[Message]:
    """A person's plan where it stands (its last decision), so a machine the site cannot reach on
    their next check-in decides from it (controller/bridge/site_checkin.py)."""
    last = None if state.last is None else state.last.model_dump()
    body = {"person": state.person, "plan": state.plan.model_dump(), "last": last, "revision": state.revision}
    return _signed_for_each(prefix, keys, f"plans/{state.person}", body)


def _signed_for_each(prefix: str, keys: dict[str, bytes], leaf: str, body: dict[str, Any]) -> list[Message]:
    messages = []
    for machine, key in keys.items():
        payload = sign({"v": 1, "machine": machine} | body, key)
        messages.append(
            (
                f"{prefix}/{machine}/{leaf}",
                json.dumps(payload, separators=(",", ":"), allow_nan=False).encode(),
            )
        )
    return messages


def worker_state_topic(prefix: str, worker: str) -> str:
    return f"{prefix}/site/{worker}/state"
