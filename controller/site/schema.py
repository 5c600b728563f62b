"""The site's schema, brought to the newest revision by Alembic (controller/site/migrations)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text

from controller.site.connect import sqlalchemy_url

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
MIGRATION_LOCK = 0x0ECC_5173  # pg_advisory_xact_lock's key: one migrating worker at a time


def migrate(url: str, password: str | None = None) -> None:
    """Idempotent. Several workers starting at once wait on one lock, so only the first migrates
    (two CREATE TABLEs at once would fail one of them)."""
    engine = create_engine(sqlalchemy_url(url, password))
    try:
        with engine.begin() as connection:
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
            config = Config()
            config.set_main_option("script_location", str(MIGRATIONS))
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    finally:
        engine.dispose()
