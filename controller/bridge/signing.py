"""Signed commands. A central system holds each machine's key and signs every command with
HMAC-SHA256 over the command's canonical JSON; the bridge checks the signature, the age and that
the nonce is new. Chosen over broker credentials alone because the machine then decides for itself
what it obeys: a misconfigured broker ACL, a leaked broker password or a retained stale message
cannot start a set. Broker credentials (and TLS) still keep strangers off the broker."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

SIGNATURE = "sig"


def canonical(payload: dict[str, Any]) -> bytes:
    unsigned = {k: v for k, v in payload.items() if k != SIGNATURE}
    return json.dumps(unsigned, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()


def sign(payload: dict[str, Any], key: bytes) -> dict[str, Any]:
    return payload | {SIGNATURE: hmac.new(key, canonical(payload), hashlib.sha256).hexdigest()}


def signed_with(payload: dict[str, Any], key: bytes) -> bool:
    """Whether `payload` carries a valid signature made with `key`."""
    signature = payload.get(SIGNATURE)
    if not isinstance(signature, str):
        return False
    try:
        expected = hmac.new(key, canonical(payload), hashlib.sha256).hexdigest()
    except ValueError:  # an infinite or NaN number has no canonical JSON: nobody signed it
        return False
    # compare_digest raises on a non-ASCII str: compare bytes (a lone surrogate cannot encode)
    return signature.isascii() and hmac.compare_digest(signature.encode(), expected.encode())


class Verifier:
    """`machine`: the id every command must name inside what is signed, so a command signed for
    one machine cannot be replayed on another's topic. Nonces live in memory, so nothing signed
    before this verifier was made is obeyed: a replay after a restart finds no record of its nonce,
    but is older than the restart."""

    def __init__(self, key: bytes | None, max_age_s: float, machine: str, now: float | None = None) -> None:
        self.key = key
        self.max_age_s = max_age_s
        self.machine = machine
        self.not_before = time.time() if now is None else now
        self._seen: dict[str, float] = {}  # nonce -> when it stops mattering

    def refusal(self, payload: dict[str, Any], now: float | None = None) -> str:
        """Why this command is not to be obeyed ("" when it is)."""
        if self.key is None:
            return "commands are disabled on this machine (no mqtt.command_key_file)"
        if not isinstance(payload.get(SIGNATURE), str):
            return "unsigned command"
        if not signed_with(payload, self.key):
            return "bad signature"
        if payload.get("machine") != self.machine:
            return f"machine: this is {self.machine!r}; a command names the machine it is signed for"
        now = time.time() if now is None else now
        sent = payload.get("ts")
        if not isinstance(sent, int | float) or abs(now - sent) > self.max_age_s:
            return f"ts: too old or in the future (allowed within {self.max_age_s:.0f} s of now)"
        if sent < self.not_before:
            return "ts: signed before this bridge started (its nonces are not known here)"
        nonce = payload.get("nonce")
        if not isinstance(nonce, str) or not 8 <= len(nonce) <= 64:
            return "nonce: 8 to 64 characters"
        self._seen = {n: until for n, until in self._seen.items() if until > now}
        if nonce in self._seen:
            return "replayed command (nonce already used)"
        self._seen[nonce] = now + 2 * self.max_age_s
        return ""
