"""MqttBridge: the control port on one side, a broker on the other.

Everything the machine says goes through a bounded outbox (full: the oldest goes, counted), so a
dead broker costs memory up to `queue_size` messages a lane and nothing else; answers to commands
and safety faults go first (controller/bridge/outbox.py). Telemetry is not queued while
offline (a stale position is worth nothing): it is dropped and counted instead. The connection is
retried with exponential backoff from 0.5 s to 10 s; the broker publishes our retained "offline"
state (last will) if we vanish.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path
from typing import Any, Literal

import aiomqtt
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from controller.app.set_request import SetRequestError, authorize, authorize_workout
from controller.bridge.client import broker_client
from controller.bridge.outbox import Outbox, Outgoing, RefusalBudget
from controller.bridge.signing import Verifier
from controller.bridge.site_copies import SiteCopies
from controller.bridge.topics import SCHEMA_VERSION, Topics
from controller.bridge.uploads import RecordingUploader
from controller.config.loader import describe
from controller.config.mqtt import MqttConfig
from controller.wire import ControlUnavailable, PortClient, StartSet, StartWorkout, strict_json

BACKOFF_FIRST_S = 0.5
BACKOFF_MAX_S = 10.0
STATE_REFRESH_S = 10.0
FLUSH_AT_END_S = 10.0
FLEET = "fleet"  # who a command is from when it names nobody
MAX_COMMAND_BYTES = 64 * 1024  # a start with a whole profile in it is a few KB


class MqttCommand(BaseModel):
    model_config = ConfigDict(extra="forbid")
    v: Literal[1]
    machine: str = Field(min_length=1, max_length=64)
    cmd: Literal["start", "workout", "stop", "estop", "reset"]
    set: StartSet | None = None
    workout: StartWorkout | None = None
    ts: float
    nonce: str = Field(min_length=8, max_length=64)
    sig: str = Field(min_length=64, max_length=64)


def _json(message: dict[str, Any]) -> bytes:
    return json.dumps({"v": SCHEMA_VERSION, **message}, separators=(",", ":")).encode()


class BridgeDied(RuntimeError):
    pass


class MqttBridge:
    def __init__(
        self, config: MqttConfig, machine_id: str, control_socket: Path, store: Path | None = None
    ) -> None:
        self.config = config
        self.topics = Topics.of(config.topic_prefix, machine_id)
        self.machine_id = machine_id
        self.outbox = Outbox(config.queue_size)
        self.refusals = RefusalBudget()
        self.telemetry_dropped = 0
        self.reconnects = 0
        self.connected = False
        key = config.command_key_file.read_bytes().strip() if config.command_key_file else None
        self.key = key
        self.verifier = Verifier(key, config.command_max_age_s, machine_id)
        # With a store: a site's copies of people's caps, and whether the site is there
        self.site = SiteCopies(config.topic_prefix, machine_id, key, store) if store else None
        self.uploader: RecordingUploader | None = None  # with a [site]: recordings to it
        self._site_tasks: set[asyncio.Task[None]] = set()
        self.port = PortClient(control_socket, self._from_control)
        self.ended = asyncio.Event()
        self._status: dict[str, Any] | None = None
        self._state_key: tuple[Any, ...] | None = None
        self._next_telemetry_s = 0.0

    async def run(self) -> None:
        """Until asked to end. A task that dies ends the bridge with its error (BridgeDied), so the
        process exits and is restarted rather than staying half alive: connected but deaf."""
        tasks = {
            "control port": self.port.run(),
            "broker": self._mqtt_forever(),
            "state": self._refresh_state(),
        }
        if self.uploader is not None:
            tasks["recordings"] = self.uploader.run()
        running = {asyncio.create_task(coro): name for name, coro in tasks.items()}
        ended = asyncio.create_task(self.ended.wait())
        try:
            await asyncio.wait([ended, *running], return_when=asyncio.FIRST_COMPLETED)
            for task, name in running.items():
                if task.done():
                    raise BridgeDied(f"its {name} task ended: {task.exception()!r}")
            # a clean exit sends no last will: say "offline" ourselves
            self._queue(self.topics.state, self.state(online=False), qos=1, retain=True)
            await self._flush(FLUSH_AT_END_S)
        finally:
            ended.cancel()
            for task in running:
                task.cancel()
            await asyncio.gather(ended, *running, return_exceptions=True)

    # -- control -> outbox -------------------------------------------------------------------------
    def _from_control(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        body = {k: v for k, v in message.items() if k != "type"}
        match kind:
            case "status":
                self._status = message
                self._publish_state_if_changed()
            case "telemetry":
                self._telemetry(message)
            case "rep":
                self._queue(self.topics.rep, self._event(body), qos=1)
            case "block_done" | "workout" | "warning":
                self._queue(self.topics.set, self._event({"type": kind, **body}), qos=1)
                if kind == "block_done" and self.uploader is not None:
                    self.uploader.wake.set()  # its recording is filed: send it now
            case "safety":
                self._queue(self.topics.fault, self._event(body), qos=1, urgent=True)
            case "end":
                self.ended.set()

    def _event(self, body: dict[str, Any]) -> dict[str, Any]:
        """Who said it, when, and an id a retry or a redelivery keeps, so a site stores it once."""
        return {"machine": self.machine_id, "id": uuid.uuid4().hex, "ts": time.time(), **body}

    def _queue(
        self, topic: str, message: dict[str, Any], qos: int, retain: bool = False, urgent: bool = False
    ) -> None:
        self.outbox.put(Outgoing(topic, _json(message), qos, retain), urgent)

    def state(self, online: bool = True) -> dict[str, Any]:
        s = self._status or {}
        profile = s.get("profile") or {}
        return {
            "machine": self.machine_id,
            "online": online,
            "time": time.time(),
            "control_connected": self.port.connected.is_set(),
            "set_state": s.get("set_state"),
            "set_index": s.get("set_index"),
            "reps_done": s.get("reps_done"),
            "profile": profile.get("name"),
            "estop": s.get("estop"),
            "fault": s.get("fault"),
            "dropped": {"queued_messages": self.outbox.dropped, "telemetry": self.telemetry_dropped},
            "refusals_unanswered": self.refusals.unanswered,
            "reconnects": self.reconnects,
        }

    def _publish_state_if_changed(self) -> None:
        s = self._status or {}
        key = (s.get("set_state"), s.get("set_index"), s.get("estop"), s.get("fault"), str(s.get("profile")))
        if key != self._state_key:
            self._state_key = key
            self._queue(self.topics.state, self.state(), qos=1, retain=True)

    async def _refresh_state(self) -> None:
        while True:
            await asyncio.sleep(STATE_REFRESH_S)
            self._queue(self.topics.state, self.state(), qos=1, retain=True)

    def _telemetry(self, message: dict[str, Any]) -> None:
        """At most telemetry_hz, sent as it arrives (no waiting for a tick)."""
        now = time.monotonic()
        if now < self._next_telemetry_s:
            return
        self._next_telemetry_s = now + 1.0 / self.config.telemetry_hz
        if self.connected:
            self._queue(self.topics.telemetry, _newest_frame(message), qos=0)
        else:
            self.telemetry_dropped += 1

    # -- the broker --------------------------------------------------------------------------------
    def _client(self) -> aiomqtt.Client:
        will = aiomqtt.Will(self.topics.state, _json(self.state(online=False)), qos=1, retain=True)
        return broker_client(self.config, f"eccentrix-{self.machine_id}", will=will, keepalive=10)

    async def _mqtt_forever(self) -> None:
        backoff = BACKOFF_FIRST_S
        while True:
            try:
                async with self._client() as client:
                    self.connected = True
                    backoff = BACKOFF_FIRST_S
                    await client.subscribe(self.topics.command, qos=1)
                    for topic_filter in self.site.filters() if self.site else ():
                        await client.subscribe(topic_filter, qos=1)
                    self._queue(self.topics.state, self.state(), qos=1, retain=True)
                    async with asyncio.TaskGroup() as group:
                        group.create_task(self._drain(client))
                        group.create_task(self._commands(client))
            except* aiomqtt.MqttError:
                pass
            self.connected = False
            await asyncio.sleep(backoff)
            backoff = min(2 * backoff, BACKOFF_MAX_S)
            self.reconnects += 1

    async def _drain(self, client: aiomqtt.Client) -> None:
        """Urgent first, oldest first; a message leaves the outbox only once the client has taken it."""
        outbox = self.outbox
        while True:
            while outbox:
                lane = outbox.next_lane()
                item = lane[0]
                await client.publish(item.topic, item.payload, qos=item.qos, retain=item.retain)
                if lane and lane[0] is item:
                    lane.popleft()
            outbox.ready.clear()
            await outbox.ready.wait()

    async def _flush(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while (self.outbox or not self.connected) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)  # let QoS 1 acknowledgements come back

    # -- commands ----------------------------------------------------------------------------------
    async def _commands(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            payload = message.payload if isinstance(message.payload, bytes) else b""
            if self.site is not None and self.site.owns(str(message.topic)):
                task = asyncio.create_task(self.site.take(str(message.topic), payload))
                self._site_tasks.add(task)  # held until done: the loop keeps only a weak reference
                task.add_done_callback(self._site_tasks.discard)
                continue
            data, refusal = self.verified(payload)
            if data is not None:
                self._queue(self.topics.response, await self.obey(data), qos=1, urgent=True)
            elif self.refusals.take():  # junk is answered at a bounded rate, the rest counted
                self._queue(self.topics.response, refusal, qos=0)

    def verified(self, payload: bytes) -> tuple[dict[str, Any] | None, dict[str, Any]]:
        """(the command, {}) if it is signed, fresh, new and for this machine; else (None, why not)."""
        if len(payload) > MAX_COMMAND_BYTES:
            return None, {
                "nonce": None,
                "ok": False,
                "error": f"a command is at most {MAX_COMMAND_BYTES} bytes",
            }
        try:
            data = strict_json(payload)
        except ValueError:  # bad UTF-8 or JSON, NaN/Infinity, nesting past the stack
            return None, {"nonce": None, "ok": False, "error": "not JSON"}
        if not isinstance(data, dict):
            return None, {"nonce": None, "ok": False, "error": "a command is a JSON object"}
        nonce = data.get("nonce") if isinstance(data.get("nonce"), str) else None
        refusal = self.verifier.refusal(data)
        if refusal:
            return None, {"nonce": nonce, "cmd": data.get("cmd"), "ok": False, "error": refusal}
        return data, {}

    async def obey(self, data: dict[str, Any]) -> dict[str, Any]:
        """The answer to a verified command; nothing reaches the machine unless it is also valid."""
        nonce = data.get("nonce")
        try:
            command = MqttCommand.model_validate(data)
            fields = self._request_fields(command)
            reply = await self.port.request(command.cmd, by=f"mqtt:{self.machine_id}", **fields)
        except ValidationError as exc:
            return {
                "nonce": nonce,
                "cmd": data.get("cmd"),
                "ok": False,
                "error": describe(exc, MqttCommand, "cmd"),
            }
        except (SetRequestError, ControlUnavailable) as exc:
            return {"nonce": nonce, "cmd": data.get("cmd"), "ok": False, "error": str(exc)}
        return {
            "nonce": nonce,
            "cmd": command.cmd,
            "ok": bool(reply.get("ok")),
            "error": reply.get("error", ""),
            "warning": reply.get("warning", ""),  # a start's: overload spacing, where the caps came from
        }

    @staticmethod
    def _request_fields(command: MqttCommand) -> dict[str, Any]:
        if command.cmd == "workout":
            if command.workout is None:
                raise SetRequestError(422, "workout: a workout command names it (workout.workout, ...)")
            asker = command.workout.person or FLEET
            return {"workout": authorize_workout(command.workout, asker, supervising=False)}
        if command.cmd != "start":
            return {}
        if command.set is None:
            raise SetRequestError(422, "set: a start names the set (set.profile, ...)")
        # The central system may train anyone, but caps stay with a clinician at the machine.
        start = authorize(command.set, command.set.person or FLEET, supervising=False)
        return {"start": start}


def _newest_frame(message: dict[str, Any]) -> dict[str, Any]:
    return {
        "t": message["t"][-1],
        "position_m": message["position_m"][-1],
        "velocity_mps": message["velocity_mps"][-1],
        "tension_n": message["tension_n"][-1],
        "command_n": message["command_n"][-1],
        "phase": message["phase"],
        "rep": message["rep"],
        "set_state": message["set_state"],
        "flags": message["flags"],
        "produced": message["produced"],  # CLOCK_MONOTONIC of the control process's host
    }
