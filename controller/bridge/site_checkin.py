"""A patient's check-in decided at the site, which holds their plan and every machine's reps, so
the plan moves on the same on whichever machine they train (controller/site/api_plans.py decides).

- The machine signs the check-in with its key (the one its MQTT commands and recordings are signed
  with); the site signs its answer with the same key, naming the machine and the person, so a
  decision forged or meant for another machine or person is not taken.
- A check-in the site does not answer (away, slow, or an answer not signed right) is decided on the
  machine from its last copy of the plan, and never advances the load: that needs the sessions done
  on every machine. It goes up to the site with the next check-in the site answers, so the site
  goes on from it (a step back taken while it was away stands).
- A person the site has no plan for is decided on the machine, by the plan assigned there.
"""

from __future__ import annotations

import functools
import logging
import ssl
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

import httpx
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from controller.app.clinic import MAX_OFFLINE, Clinic, DecisionRecord, SitePlan
from controller.app.progression import Action, Decision
from controller.app.store import StoreError
from controller.bridge.signing import sign, signed_with
from controller.config import ConfigError, MachineConfig
from controller.config.loader import describe
from controller.config.mqtt import MACHINE_ID
from controller.config.site_link import SiteLinkConfig
from controller.wire import Name, strict_json

log = logging.getLogger(__name__)

ANSWER_WITHIN_S = 3.0  # a patient waits at the screen; a site slower than this is away
PROTOCOL_NAME = r"^[a-z0-9-]+$"
NO_PLAN_HEADER = "X-Eccentrix-No-Plan"  # a 404 that means "no plan for this person", not "no such route"


def _instant(text: str) -> str:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise ValueError("an ISO 8601 time with its UTC offset, as 2026-12-03T10:00:00+00:00")
    return text


Instant = Annotated[str, Field(min_length=1, max_length=40), AfterValidator(_instant)]


class DecisionWire(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    session_number: int = Field(ge=1, le=10_000)
    stage: int = Field(ge=0, le=11)
    action: Literal["start", "advance", "hold", "step_back"]
    load_kg: float = Field(ge=0.5, le=200)
    soreness: int = Field(ge=0, le=10)
    reason: str = Field(max_length=300)

    @classmethod
    def of(cls, decision: Decision) -> DecisionWire:
        return cls.model_validate(asdict(decision) | {"action": decision.action.value})

    def decision(self) -> Decision:
        fields = self.model_dump(include=set(DecisionWire.model_fields))
        return Decision(**fields | {"action": Action(self.action)})


class DecisionAt(DecisionWire):
    """A decision and the time of the check-in it answered."""

    at: Instant


class CheckInClaim(BaseModel):
    """What a machine signs: who checked in, how sore, when (by its clock; a retry of the same
    check-in has the same `at`, and the site answers it with the same decision), on which of the
    site's plans, and what it decided alone on that plan since the site's last answer."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    machine: str = Field(pattern=MACHINE_ID)
    person: Name
    soreness: int = Field(ge=0, le=10)
    at: Instant
    site_plan: int | None = Field(None, ge=1, lt=2**53)
    offline: list[DecisionAt] = Field(default_factory=list, max_length=MAX_OFFLINE)
    sig: str = Field(min_length=64, max_length=64)


class PlanWire(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: int = Field(ge=1, lt=2**53)
    protocol: str = Field(min_length=1, max_length=64, pattern=PROTOCOL_NAME)
    assigned_by: str = Field(max_length=64)
    started: str = Field(min_length=1, max_length=40)


class SiteAnswer(BaseModel):
    """The site's decision, signed with the machine's key."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    v: Literal[1]
    machine: str = Field(pattern=MACHINE_ID)
    person: Name
    at: Instant  # the check-in's
    plan: PlanWire
    decision: DecisionWire
    sig: str = Field(min_length=64, max_length=64)


class SiteAway(Exception):
    """The site did not answer, or not in a way this machine can trust."""


@dataclass(frozen=True, slots=True)
class SiteAccess:
    link: SiteLinkConfig
    machine: str
    key: bytes
    answer_within_s: float = ANSWER_WITHIN_S


@functools.cache
def _tls() -> ssl.SSLContext:
    """Made once: a fresh one (httpx's default, for every request) costs about 90 ms, most of a
    check-in's wait."""
    return ssl.create_default_context()


def site_access(machine: MachineConfig) -> SiteAccess | None:
    """How this machine reaches its site for check-ins (None: no [site], or no key to sign with)."""
    if machine.site is None or machine.mqtt is None or machine.mqtt.command_key_file is None:
        return None
    key = machine.mqtt.command_key_file.read_bytes().strip()
    return SiteAccess(machine.site, machine.mqtt.machine_id or machine.name, key)


def check_in(clinic: Clinic, site: SiteAccess | None, person: str, soreness: int, at: str) -> DecisionRecord:
    """Today's decision for `person`: the site's where it holds their plan, this machine's otherwise."""
    if site is None:
        return clinic.check_in(person, soreness, at)
    site_plan = clinic.site_plan_of(person)
    offline = clinic.offline_decisions(person, site_plan) if site_plan else []
    try:
        answer = ask_site(site, person, soreness, at, site_plan, offline)
    except SiteAway as exc:
        log.warning("check-in of %s decided without the site: %s", person, exc)
        if clinic.plan_for(person) is None:
            raise StoreError(
                f"{person!r}: the site, which holds the plans, did not decide ({exc}), and this machine "
                "has no plan of theirs"
            ) from None
        alone = "decided without the site, and advancing needs the sessions done on every machine"
        return clinic.check_in(person, soreness, at, alone=alone if site_plan else "")
    if answer is None:
        return clinic.check_in(person, soreness, at)
    plan = SitePlan(answer.plan.id, answer.plan.protocol, answer.plan.assigned_by, answer.plan.started)
    try:
        return clinic.take_site_decision(person, plan, answer.decision.decision(), at)
    except (ConfigError, ValueError) as exc:  # signed, and still not a decision its protocol makes
        log.error("the site's decision for %s refused: %s", person, exc)
        alone = f"the site's decision was refused ({exc})"
        return clinic.check_in(person, soreness, at, alone=alone if site_plan else "")


def ask_site(
    site: SiteAccess,
    person: str,
    soreness: int,
    at: str,
    site_plan: int | None,
    offline: list[DecisionRecord],
) -> SiteAnswer | None:
    """The site's decision (None: it holds no plan for `person`). Raises SiteAway."""
    claim: dict[str, Any] = {"machine": site.machine, "person": person, "soreness": soreness, "at": at}
    claim |= {"site_plan": site_plan, "offline": [_offline(record) for record in offline]}
    url = f"{site.link.url}{checkin_path(site.machine)}"
    try:
        reply = httpx.post(url, json=sign(claim, site.key), timeout=site.answer_within_s, verify=_tls())
    except httpx.HTTPError as exc:
        raise SiteAway(f"{url}: {exc or type(exc).__name__}") from None
    if reply.status_code == httpx.codes.NOT_FOUND and reply.headers.get(NO_PLAN_HEADER):
        return None
    if reply.status_code != httpx.codes.OK:
        raise SiteAway(f"{url}: {reply.status_code} {reply.text[:200]}")
    return answer_from(reply.content, site, person, at)


def answer_from(body: bytes, site: SiteAccess, person: str, at: str) -> SiteAnswer:
    try:
        data = strict_json(body)
    except ValueError as exc:
        raise SiteAway(f"the site's answer is not JSON ({exc})") from None
    if not isinstance(data, dict) or not signed_with(data, site.key):
        raise SiteAway("the site's answer is not signed with this machine's key")
    try:
        answer = SiteAnswer.model_validate(data)
    except ValidationError as exc:
        raise SiteAway(describe(exc, SiteAnswer, "the site's answer")) from None
    if (answer.machine, answer.person, answer.at) != (site.machine, person, at):
        raise SiteAway(
            f"the site's answer is for {answer.machine}/{answer.person} at {answer.at}, not this check-in"
        )
    return answer


def _offline(record: DecisionRecord) -> dict[str, Any]:
    return DecisionAt.model_validate(
        DecisionWire.of(record.decision).model_dump() | {"at": record.at}
    ).model_dump()


def checkin_path(machine: str) -> str:
    return f"/api/machines/{machine}/checkins"
