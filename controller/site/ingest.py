"""IngestWorker: one site worker's persistent MQTT session. The machines' reps, sets and faults come
to it (through a shared subscription, if the site splits them among several workers); each
machine's retained state comes to every worker. A message is acknowledged only once it is stored, or
refused as malformed: the broker keeps whatever this worker had not stored when it went away (its
session is persistent, QoS 1) and hands it over again when it is back."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from dataclasses import dataclass

import aiomqtt
import psycopg

from controller.bridge.client import broker_client
from controller.config.site import SiteMqttConfig
from controller.site.messages import Refused, parse
from controller.site.store import SiteStore
from controller.site.to_machines import (
    Message,
    account_messages,
    caps_messages,
    plan_messages,
    worker_state_topic,
)

log = logging.getLogger(__name__)

BACKOFF_FIRST_S = 0.5
BACKOFF_MAX_S = 10.0
SHARED = ("rep", "set", "fault")


@dataclass(slots=True)
class IngestCounts:
    stored: int = 0
    duplicates: int = 0
    refused: int = 0
    reconnects: int = 0
    last_refusal: str = ""


class IngestWorker:
    """Also the site's voice to the machines: its own online state (retained, a last will saying
    offline), and everyone's caps and every account, signed for each machine with its key
    (to_machines.py)."""

    def __init__(
        self, config: SiteMqttConfig, store: SiteStore, keys: dict[str, bytes] | None = None
    ) -> None:
        self.config = config
        self.store = store
        self.keys = keys or {}
        self.counts = IngestCounts()
        self.connected = asyncio.Event()
        self.state_topic = worker_state_topic(config.topic_prefix, config.worker)
        self._outgoing: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()
        self._client: aiomqtt.Client | None = None

    def offer(self, messages: list[Message]) -> None:
        """Sent while connected; otherwise all of them go out again on the next connection."""
        if self.connected.is_set():
            for message in messages:
                self._outgoing.put_nowait(message)

    async def say_offline(self) -> None:
        """A clean stop sends no last will: say it ourselves."""
        if self._client is not None and self.connected.is_set():
            with contextlib.suppress(aiomqtt.MqttError, TimeoutError):
                await self._client.publish(self.state_topic, _state(False), qos=1, retain=True, timeout=2)

    def filters(self) -> list[str]:
        prefix, group = self.config.topic_prefix, self.config.share_group
        shared = f"$share/{group}/" if group else ""
        return [f"{shared}{prefix}/+/{leaf}" for leaf in SHARED] + [f"{prefix}/+/state"]

    async def run(self) -> None:
        """Until cancelled; a lost broker or database is retried, backing off from 0.5 to 10 s."""
        backoff = BACKOFF_FIRST_S
        while True:
            try:
                await self._session()
            except* (aiomqtt.MqttError, psycopg.OperationalError) as group:
                log.warning(
                    "site worker %s: %s; again in %.1f s", self.config.worker, group.exceptions[0], backoff
                )
            if self.connected.is_set():  # it was up: this outage starts again from the first step
                backoff = BACKOFF_FIRST_S
            self.connected.clear()
            await asyncio.sleep(backoff)
            backoff = min(2 * backoff, BACKOFF_MAX_S)
            self.counts.reconnects += 1

    async def _session(self) -> None:
        will = aiomqtt.Will(self.state_topic, _state(False), qos=1, retain=True)
        client = broker_client(self.config, self.config.worker, clean_session=False, keepalive=10, will=will)
        # Acknowledge after storing, not on arrival. aiomqtt has no API for it yet (empicano/aiomqtt
        # #345); paho, under it, does: set before connecting, so not even a queued message that the
        # broker hands over at once is acknowledged unstored.
        client._client.manual_ack_set(True)
        async with client:
            for topic_filter in self.filters():
                await client.subscribe(topic_filter, qos=1)
            await client.publish(self.state_topic, _state(True), qos=1, retain=True)
            self._outgoing = asyncio.Queue()
            for message in await self._everything_for_the_machines():
                self._outgoing.put_nowait(message)
            self._client = client
            self.connected.set()
            try:
                async with asyncio.TaskGroup() as group:
                    group.create_task(self._send(client))
                    group.create_task(self._receive(client))
            finally:
                self._client = None

    async def _everything_for_the_machines(self) -> list[Message]:
        prefix = self.config.topic_prefix
        caps = [m for record in await self.store.caps() for m in caps_messages(prefix, self.keys, record)]
        accounts = await self.store.accounts()
        plans = await self.store.plans.states()
        return (
            caps
            + [m for record in accounts for m in account_messages(prefix, self.keys, record)]
            + [m for state in plans for m in plan_messages(prefix, self.keys, state)]
        )

    async def _send(self, client: aiomqtt.Client) -> None:
        while True:
            topic, payload = await self._outgoing.get()
            await client.publish(topic, payload, qos=1, retain=True)

    async def _receive(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            await self._take(message)
            if message.qos > 0:
                client._client.ack(message.mid, message.qos)

    async def _take(self, message: aiomqtt.Message) -> None:
        payload = message.payload if isinstance(message.payload, bytes) else b""
        try:
            leaf, parsed = parse(str(message.topic), self.config.topic_prefix, payload)
            fresh = await self.store.save(leaf, parsed)
        except (Refused, psycopg.DataError) as exc:
            self.counts.refused += 1
            self.counts.last_refusal = str(exc)
            log.warning("site worker %s refused a message: %s", self.config.worker, exc)
            return
        if fresh:
            self.counts.stored += 1
        else:
            self.counts.duplicates += 1


def _state(online: bool) -> bytes:
    return json.dumps({"v": 1, "online": online, "ts": time.time()}).encode()
