"""A person's sets as a site holds them, from every machine, read the way a machine's own store is
read (controller/app/store.py SetHistory): what `eccentrix strength --site` estimates from."""

from __future__ import annotations

import psycopg

from controller.app.store import ExerciseSet
from controller.config.site import SiteConfig
from controller.site.connect import password_of
from controller.site.store import SETS_OF, exercise_sets

EVER = "-infinity"  # PostgreSQL's time before every other


class SiteHistory:
    def __init__(self, config: SiteConfig) -> None:
        self.url = config.database.url
        self.password = password_of(config.database)

    def sets_of(self, person: str, exercise: str, since: str = "") -> list[ExerciseSet]:
        with psycopg.connect(self.url, password=self.password) as connection:
            rows = connection.execute(SETS_OF, (person, exercise, since or EVER)).fetchall()
        return [found for _, found in exercise_sets(rows)]
