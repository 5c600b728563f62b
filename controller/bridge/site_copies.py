"""SiteCopies: what a site tells this machine, kept in the machine's own store.

- A person's caps come retained on `{prefix}/{machine}/caps/{person}`; the admission reads them as
  it reads a clinician's caps set here, and the SafetyGate enforces them.
- An account (its role and scrypt hash, or its removal) comes on `{prefix}/{machine}/accounts/{name}`;
  the machine's dashboard logs it in as one made here. Managed once, at the site.
- A person's rehab plan where it stands (its last decision) comes on `{prefix}/{machine}/plans/{person}`:
  a check-in the site cannot answer is decided here from it (bridge/site_checkin.py).
- Each copy is signed with this machine's key and names it: one meant for another machine, forged,
  or older than the one kept is refused.
- The site's workers say on `{prefix}/site/{worker}/state` whether they are online (retained, with a
  last will), so a set started while the site is away can say that its caps are the last copy.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from controller.app.clinic import Clinic, SitePlan
from controller.app.store import SqliteSessionStore
from controller.bridge.signing import signed_with
from controller.bridge.site_checkin import DecisionAt, PlanWire
from controller.config import CapsConfig
from controller.config.loader import describe
from controller.wire import Name, strict_json

log = logging.getLogger(__name__)

STORE_WAIT_S = 5.0


class CapsCopy(BaseModel):
    model_config = ConfigDict(extra="forbid")
    v: Literal[1]
    machine: str = Field(min_length=1, max_length=64)
    person: Name
    caps: CapsConfig
    revision: int = Field(ge=1, lt=2**53)
    set_by: str = Field(max_length=64)
    set_at: str = Field(max_length=40)
    sig: str = Field(min_length=64, max_length=64)


class AccountCopy(BaseModel):
    model_config = ConfigDict(extra="forbid")
    v: Literal[1]
    machine: str = Field(min_length=1, max_length=64)
    name: Name
    role: Literal["athlete", "patient", "clinician", "admin"]
    password: str | None = Field(pattern=r"^scrypt\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$", max_length=200)
    revision: int = Field(ge=1, lt=2**53)
    changed_at: str = Field(max_length=40)
    sig: str = Field(min_length=64, max_length=64)


class PlanCopy(BaseModel):
    model_config = ConfigDict(extra="forbid")
    v: Literal[1]
    machine: str = Field(min_length=1, max_length=64)
    person: Name
    plan: PlanWire
    last: DecisionAt | None  # where the plan stands; None: nobody has checked in on it yet
    revision: int = Field(ge=1, lt=2**53)
    sig: str = Field(min_length=64, max_length=64)


Copy = CapsCopy | AccountCopy | PlanCopy
COPIES: dict[str, tuple[type[Copy], str]] = {
    "caps": (CapsCopy, "person"),
    "accounts": (AccountCopy, "name"),
    "plans": (PlanCopy, "person"),
}


def _take_plan(clinic: Clinic, copy: PlanCopy) -> bool:
    plan = SitePlan(copy.plan.id, copy.plan.protocol, copy.plan.assigned_by, copy.plan.started)
    last = None if copy.last is None else (copy.last.decision(), copy.last.at)
    return clinic.take_site_plan(copy.person, plan, last, copy.revision)


class SiteState(BaseModel):
    v: Literal[1]
    online: bool


class SiteCopies:
    def __init__(self, prefix: str, machine: str, key: bytes | None, store: Path) -> None:
        self.prefix, self.machine, self.key, self.store = prefix, machine, key, store
        self.workers: dict[str, bool] = {}
        self.refused = 0

    def filters(self) -> list[str]:
        mine = [f"{self.prefix}/{self.machine}/{leaf}/+" for leaf in COPIES]
        return [*mine, f"{self.prefix}/site/+/state"]

    def owns(self, topic: str) -> bool:
        mine = tuple(f"{self.prefix}/{self.machine}/{leaf}/" for leaf in COPIES)
        return topic.startswith((*mine, f"{self.prefix}/site/"))

    async def take(self, topic: str, payload: bytes) -> None:
        """Off the loop: a store another process holds must not hold up a command behind it."""
        try:
            if topic.startswith(f"{self.prefix}/site/"):
                await self._site_state(topic, payload)
            else:
                await asyncio.to_thread(self._keep, self.verified(topic, payload))
        except (ValueError, ValidationError) as exc:
            self.refused += 1
            log.warning("a site message on %s refused: %s", topic, exc)
        except (sqlite3.Error, OSError) as exc:
            log.warning("a site message on %s not kept (the store: %s); kept at the next", topic, exc)

    def verified(self, topic: str, payload: bytes) -> Copy:
        if self.key is None:
            raise ValueError("no mqtt.command_key_file: nothing from the site can be checked")
        data = strict_json(payload)
        if not isinstance(data, dict) or not signed_with(data, self.key):
            raise ValueError("not signed with this machine's key")
        leaf, named = topic.rsplit("/", 2)[-2:]
        if leaf not in COPIES:
            raise ValueError(f"{topic}: no copy of anything from a site is kept from this topic")
        model, naming_field = COPIES[leaf]
        try:
            copy = model.model_validate(data)
        except ValidationError as exc:
            raise ValueError(describe(exc, model, topic)) from None
        if copy.machine != self.machine:
            raise ValueError(f"machine: {copy.machine!r}: signed for another machine")
        if getattr(copy, naming_field) != named:
            raise ValueError(f"{naming_field}: {getattr(copy, naming_field)!r} is not whom its topic names")
        return copy

    def _keep(self, copy: Copy) -> None:
        store = SqliteSessionStore(self.store, STORE_WAIT_S)
        try:
            if isinstance(copy, CapsCopy):
                taken = Clinic(store).take_site_caps(
                    copy.person, copy.caps, copy.revision, copy.set_by, copy.set_at
                )
                what = f"caps of {copy.person}"
            elif isinstance(copy, PlanCopy):
                taken = _take_plan(Clinic(store), copy)
                what = f"plan of {copy.person}"
            else:
                taken = store.take_site_account(copy.name, copy.role, copy.password, copy.revision)
                what = f"account {copy.name}"
        finally:
            store.close()
        if not taken:
            log.info("%s, revision %d: not newer than the copy kept", what, copy.revision)

    async def _site_state(self, topic: str, payload: bytes) -> None:
        state = SiteState.model_validate(strict_json(payload))
        before = any(self.workers.values()) if self.workers else None
        self.workers[topic.split("/")[-2]] = state.online
        online = any(self.workers.values())
        if online != before:
            await asyncio.to_thread(self._link, online)

    def _link(self, online: bool) -> None:
        store = SqliteSessionStore(self.store, STORE_WAIT_S)
        try:
            Clinic(store).site_reachable(online)
        finally:
            store.close()
