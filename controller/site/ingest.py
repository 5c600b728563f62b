"""IngestWorker: one site worker's persistent MQTT session. The machines' reps, sets and faults come
to it (through a shared subscription, if the site splits them among several workers); each
machine's retained state comes to every worker. A message is acknowledged only once it is stored, or
refused as malformed: the broker keeps whatever this worker had not stored when it went away (its
session is persistent, QoS 1) and hands it over again when it is back."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import aiomqtt
import psycopg

from controller.bridge.client import broker_client
from controller.config.site import SiteMqttConfig
from controller.site.messages import Refused, parse
from controller.site.store import SiteStore

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
    def __init__(self, config: SiteMqttConfig, store: SiteStore) -> None:
        self.config = config
        self.store = store
        self.counts = IngestCounts()
        self.connected = asyncio.Event()

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
            except (aiomqtt.MqttError, psycopg.OperationalError) as exc:
                log.warning("site worker %s: %s; again in %.1f s", self.config.worker, exc, backoff)
            if self.connected.is_set():  # it was up: this outage starts again from the first step
                backoff = BACKOFF_FIRST_S
            self.connected.clear()
            await asyncio.sleep(backoff)
            backoff = min(2 * backoff, BACKOFF_MAX_S)
            self.counts.reconnects += 1

    async def _session(self) -> None:
        client = broker_client(self.config, self.config.worker, clean_session=False, keepalive=10)
        # Acknowledge after storing, not on arrival. aiomqtt has no API for it yet (empicano/aiomqtt
        # #345); paho, under it, does: set before connecting, so not even a queued message that the
        # broker hands over at once is acknowledged unstored.
        client._client.manual_ack_set(True)
        async with client:
            for topic_filter in self.filters():
                await client.subscribe(topic_filter, qos=1)
            self.connected.set()
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
