"""From a site file's `[database]` to what psycopg and SQLAlchemy (for Alembic) each connect with."""

from __future__ import annotations

from urllib.parse import quote, urlsplit, urlunsplit

from controller.config.site import DatabaseConfig


def password_of(config: DatabaseConfig) -> str | None:
    return config.password_file.read_text().strip() if config.password_file else None


def sqlalchemy_url(url: str, password: str | None) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc
    if password is not None:
        user, _, host = netloc.rpartition("@")
        netloc = f"{user}:{quote(password, safe='')}@{host}"
    return urlunsplit(("postgresql+psycopg", netloc, parts.path, parts.query, parts.fragment))
