"""The visit index in one SQLite file in the local folder storage (STORAGE_BACKEND=local).

WAL mode: readers never wait for the writer, and several processes of one machine share the file (SQLite's
own locks; a writer waits up to BUSY_TIMEOUT for another). Each thread of each process has its own
connection, as sqlite3 connections are not to be shared between threads. `synchronous=NORMAL`: in WAL mode
a crash of the app loses nothing and the file stays consistent; a power cut may lose the last commits, which
the next save of an open visit writes again."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from pathlib import Path

from ..storage.outages import outages_as_unavailable
from .index import VisitFilter, sort_key
from .records import VisitRecord

BUSY_TIMEOUT = 30.0  # seconds a write waits for another process's
MAX_VARIABLES = 500  # parameters of one statement: under SQLite's oldest default limit (999)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS visits (
    visit_id TEXT PRIMARY KEY,
    day TEXT NOT NULL,
    sort_key TEXT NOT NULL,
    camera TEXT NOT NULL,
    person_id TEXT,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS visits_by_day ON visits (day, sort_key);
CREATE INDEX IF NOT EXISTS visits_by_person ON visits (day, person_id, sort_key);
CREATE INDEX IF NOT EXISTS visits_by_camera ON visits (day, camera, sort_key);
CREATE INDEX IF NOT EXISTS visits_of_person ON visits (person_id);
"""

_UPSERT = """
INSERT INTO visits (visit_id, day, sort_key, camera, person_id, record) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (visit_id) DO UPDATE SET
    day = excluded.day, sort_key = excluded.sort_key, camera = excluded.camera,
    person_id = excluded.person_id, record = excluded.record
"""


def _is_outage(exc: BaseException) -> bool:
    """A file that cannot be opened, written or locked in time (read-only, full, busy): not a bug."""
    return isinstance(exc, sqlite3.OperationalError | OSError)


@outages_as_unavailable(_is_outage)
class SqliteVisitIndex:
    def __init__(self, path: Path):
        self.path = path
        self._local = threading.local()

    def _connection(self) -> sqlite3.Connection:
        # Keyed by process too: a forked child must not use its parent's connection.
        held: tuple[int, sqlite3.Connection] | None = getattr(self._local, "held", None)
        if held is not None and held[0] == os.getpid():
            return held[1]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT, isolation_level=None)  # autocommit
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.executescript(_SCHEMA)
        self._local.held = (os.getpid(), connection)
        return connection

    def upsert(self, record: VisitRecord) -> None:
        row = (
            record.visit_id,
            record.day,
            sort_key(record),
            record.camera,
            record.person_id,
            json.dumps(record.to_dict(), separators=(",", ":")),
        )
        self._connection().execute(_UPSERT, row)

    def remove(self, record: VisitRecord) -> None:
        self._connection().execute("DELETE FROM visits WHERE visit_id = ?", (record.visit_id,))

    def query(self, where: VisitFilter, *, after: str | None, limit: int) -> list[VisitRecord]:
        conditions, values = ["day = ?"], [where.day]
        for condition, value in (
            ("sort_key > ?", after),
            ("sort_key >= ?", where.start),
            ("sort_key < ?", where.end),
            ("camera = ?", where.camera),
            ("person_id = ?", where.person_id),
        ):
            if value is not None:
                conditions.append(condition)
                values.append(value)
        if where.unknown is not None:
            conditions.append("person_id IS NULL" if where.unknown else "person_id IS NOT NULL")
        sql = f"SELECT record FROM visits WHERE {' AND '.join(conditions)} ORDER BY sort_key LIMIT ?"
        rows = self._connection().execute(sql, (*values, limit)).fetchall()
        return [VisitRecord.from_dict(json.loads(row[0])) for row in rows]

    def remove_day(self, day: str) -> int:
        return self._connection().execute("DELETE FROM visits WHERE day = ?", (day,)).rowcount

    def of_persons(self, person_ids: list[str]) -> list[VisitRecord]:
        found = []
        for start in range(0, len(person_ids), MAX_VARIABLES):  # SQLite's limit on a statement's parameters
            chunk = person_ids[start : start + MAX_VARIABLES]
            marks = ",".join("?" * len(chunk))
            sql = f"SELECT record FROM visits WHERE person_id IN ({marks}) ORDER BY sort_key"
            found += [VisitRecord.from_dict(json.loads(row[0])) for row in self._connection().execute(sql, chunk)]
        return found
