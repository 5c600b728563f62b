"""The `[site]` section of a machine file: the site server (configs/sites/) this machine belongs to,
for what goes there over HTTP rather than MQTT: its recordings, too large for a broker's messages.
No section: recordings stay on the machine only, and nothing else changes."""

from __future__ import annotations

from pydantic import Field, field_validator

from controller.config.loader import Section, checked_url


class SiteLinkConfig(Section):
    url: str = Field(min_length=1, max_length=256)  # http://HOST:PORT or https://HOST:PORT, the site's API
    upload_recordings: bool = True
    # One request's worth: small enough that a lost connection costs little, large enough that a
    # 30-minute recording (about 27 MB) is about a hundred requests.
    chunk_kb: int = Field(256, ge=4, le=4096)

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        return checked_url(url, ("http", "https"), "http://HOST:PORT or https://HOST:PORT").rstrip("/")
