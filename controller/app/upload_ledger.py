"""Which recordings the site has: the bridge sends every stored session's recording that is not in
here yet, oldest first, and writes it in once the site has it whole and its hash matches."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from controller.app.store import SqliteSessionStore, utc_now


@dataclass(frozen=True, slots=True)
class PendingRecording:
    path: Path
    person: str | None
    started: str


class UploadLedger:
    def __init__(self, store: SqliteSessionStore) -> None:
        self._db = store.connection

    def pending(self) -> list[PendingRecording]:
        rows = self._db.execute(
            "SELECT s.recording, MIN(p.name), MIN(s.started) FROM sessions s "
            "LEFT JOIN people p ON p.id = s.person_id "
            "WHERE s.recording IS NOT NULL AND s.recording NOT IN (SELECT recording FROM uploads) "
            "GROUP BY s.recording ORDER BY MIN(s.id)"
        )
        return [PendingRecording(Path(path), person, started) for path, person, started in rows]

    def uploaded(self, recording: Path, size: int, sha256: str) -> None:
        with self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO uploads (recording, size, sha256, uploaded) VALUES (?, ?, ?, ?)",
                (str(recording), size, sha256, utc_now()),
            )

    def uploaded_count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM uploads").fetchone()[0])
