"""The `[mqtt]` section of a machine file: where the fleet's broker is and how this machine talks to
it. No section and no `--mqtt URL` on the command line: no bridge, and nothing else changes."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from controller.config.loader import Section, checked_url

MACHINE_ID = r"^[A-Za-z0-9_-]{1,64}$"


class MqttTlsConfig(Section):
    ca_file: Path | None = None  # default: the system's trust store
    cert_file: Path | None = None  # with key_file: a client certificate (per-machine identity)
    key_file: Path | None = None


class BrokerConfig(Section):
    """Where a broker is and how to log in: the part of `[mqtt]` a machine and a site share."""

    url: str = Field(min_length=1, max_length=256)  # mqtt://HOST:PORT, or mqtts://HOST:PORT for TLS
    topic_prefix: str = Field("eccentrix", pattern=r"^[A-Za-z0-9_/-]{1,64}$")
    username: str | None = Field(None, min_length=1, max_length=128)
    password_file: Path | None = None  # the broker password, on its own (never in this file)
    tls: MqttTlsConfig | None = None

    @field_validator("url")
    @classmethod
    def _broker_url(cls, url: str) -> str:
        return checked_url(url, ("mqtt", "mqtts"), "mqtt://HOST:PORT or mqtts://HOST:PORT")

    @property
    def host(self) -> str:
        return str(urlsplit(self.url).hostname)

    @property
    def port(self) -> int:
        parts = urlsplit(self.url)
        return parts.port or (8883 if parts.scheme == "mqtts" else 1883)

    @property
    def uses_tls(self) -> bool:
        return urlsplit(self.url).scheme == "mqtts" or self.tls is not None


class MqttConfig(BrokerConfig):
    machine_id: str | None = Field(None, pattern=MACHINE_ID)  # default: the machine's name
    telemetry_hz: float = Field(10.0, ge=0.5, le=50.0)
    queue_size: int = Field(10_000, ge=100, le=1_000_000)  # outgoing messages kept while offline
    command_key_file: Path | None = None  # HMAC key for signed commands; none: commands refused
    command_max_age_s: float = Field(30.0, ge=1.0, le=600.0)
