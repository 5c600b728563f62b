"""A site file (configs/sites/): the site server that collects what a clinic's or a gym's machines
say, on PostgreSQL. One section per part: `[database]`, `[mqtt]`, `[api]`,
`[machines]`, `[recordings]`."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from controller.config.loader import Section, load
from controller.config.mqtt import BrokerConfig


class DatabaseConfig(Section):
    # postgresql://USER@HOST:PORT/DBNAME; the password, if any, in password_file (never in this file)
    url: str = Field(min_length=1, max_length=512)
    password_file: Path | None = None

    @field_validator("url")
    @classmethod
    def _postgres_url(cls, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme not in ("postgresql", "postgres") or not parts.path.strip("/"):
            raise ValueError(f"{url!r}: expected postgresql://USER@HOST:PORT/DBNAME")
        if parts.password:
            raise ValueError("a password in the url: put it in password_file instead")
        return url


class SiteMqttConfig(BrokerConfig):
    # None: each worker has its own persistent subscription and takes every message (several
    # workers are spares of one another; the store keeps each message once). A name: the workers
    # join `$share/{share_group}/{topic_prefix}/+/rep` and the broker splits the messages among them;
    # mosquitto 2.0 does not keep a shared subscription over its own restart, so messages published
    # before the workers are back are lost (README: the site server).
    share_group: str | None = Field(None, pattern=r"^[A-Za-z0-9_-]{1,64}$")
    # The persistent session's name: stable across restarts (what the broker keeps for it while it
    # is away), one per worker process.
    worker: str = Field("site-1", pattern=r"^[A-Za-z0-9_-]{1,64}$")


LOOPBACK = ("127.0.0.1", "::1", "localhost")


class ApiConfig(Section):
    host: str = Field("127.0.0.1", min_length=1, max_length=255)
    port: int = Field(8100, ge=1, le=65535)
    # A bearer token, on its own in a file, that a change (caps, accounts) must carry; none: the
    # site takes no changes over its API.
    token_file: Path | None = None
    # The page and the read API only for a logged-in clinician or admin (the site's accounts).
    # Required on any address but loopback: there, the site's own access control may stand in.
    logins: bool = False

    @model_validator(mode="after")
    def _logins_off_loopback(self) -> ApiConfig:
        if not self.logins and self.host not in LOOPBACK:
            raise ValueError(f"logins: the site listens on {self.host}, not loopback: set logins = true")
        return self


class MachinesConfig(Section):
    # Each machine's key, `{machine}.key` (its mqtt.command_key_file), with which the site signs
    # what it sends that machine; the machines the site sends caps to are those with a key here.
    key_dir: Path


class RecordingsConfig(Section):
    # The machines' recordings, a folder per machine; a machine may send only with a key in
    # [machines] key_dir, which its chunks are signed with.
    folder: Path
    max_mb: int = Field(4096, ge=1, le=1_000_000)  # one recording; a 30-minute one is about 20 MB


class SiteConfig(Section):
    name: str = Field(min_length=1, max_length=64)
    database: DatabaseConfig
    mqtt: SiteMqttConfig
    api: ApiConfig = ApiConfig()
    machines: MachinesConfig | None = None
    recordings: RecordingsConfig | None = None

    @model_validator(mode="after")
    def _machines_known(self) -> SiteConfig:
        if self.recordings and not self.machines:
            raise ValueError("recordings: needs [machines] key_dir, the keys machines sign recordings with")
        return self


def load_site(name_or_path: str | Path) -> SiteConfig:
    return load("sites", name_or_path, SiteConfig)
