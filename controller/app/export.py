"""A stored session out to a file a spreadsheet or another program reads: CSV, one row a rep, or
JSON, the whole record."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import TextIO

from controller.app.schema import REP_COLUMNS
from controller.app.store import SessionRecord


def write_csv(record: SessionRecord, out: TextIO) -> None:
    """One row a rep, as a spreadsheet wants it: the exercise named, figures to 3 decimals."""
    writer = csv.writer(out)
    writer.writerow(["session", "started", "workout", "exercise", "set", "profile", "load_kg", *REP_COLUMNS])
    for s in record.sets:
        for rep in s.reps:
            figures = [_cell(getattr(rep, c)) for c in REP_COLUMNS]
            writer.writerow(
                [
                    record.id,
                    record.started,
                    record.workout,
                    s.exercise,
                    s.number,
                    s.profile,
                    _cell(s.load_kg),
                    *figures,
                ]
            )


def _cell(value: object) -> object:
    return round(value, 3) if isinstance(value, float) else value


def export_csv(record: SessionRecord, path: str | Path) -> None:
    with Path(path).open("w", newline="", encoding="utf-8") as out:
        write_csv(record, out)


def export_json(record: SessionRecord, path: str | Path) -> None:
    Path(path).write_text(json.dumps(record.to_json(), indent=2), encoding="utf-8")
