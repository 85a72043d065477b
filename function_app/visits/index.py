"""The visit index: one row per visit holding the whole record, so that a day's visits are listed from the
index alone (never by reading blobs), in first-seen order. Two implementations: SQLite in the local folder
(sqlite_index.py, STORAGE_BACKEND=local) and Azure Table Storage (table_index.py, Azurite and Azure).

Rows are found by day (the UTC day the visit began: the partition) and ordered by `sort_key`, the first-seen
time to the millisecond (the precision visits are stored with) then the visit id, so two visits first seen in
the same millisecond still have one order."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from ..settings import Settings
from .records import VisitRecord


def time_key(moment: datetime) -> str:
    """`YYYYMMDDTHHMMSSmmm` of a time, in UTC: sorts as the times do (the visit id's stamp has this form)."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y%m%dT%H%M%S") + f"{moment.microsecond // 1000:03d}"


def sort_key(record: VisitRecord) -> str:
    """`<first-seen time key>_<visit id>`: a half-open range of time keys [start, end) selects the same visits
    as their first-seen times in [start, end) at millisecond precision."""
    return f"{time_key(record.first_seen)}_{record.visit_id}"


@dataclass(frozen=True)
class VisitFilter:
    """What a listing selects within its day; None: any."""

    day: str  # YYYYMMDD
    person_id: str | None = None
    unknown: bool | None = None  # True: only Unknown visitors; False: only named ones
    camera: str | None = None
    start: str | None = None  # time_key, inclusive
    end: str | None = None  # time_key, exclusive


class VisitIndex(Protocol):
    def upsert(self, record: VisitRecord) -> None:
        """Insert or replace the row of `record.visit_id`."""
        ...

    def remove(self, record: VisitRecord) -> None:
        """Remove the visit's row; nothing when there is none."""
        ...

    def query(self, where: VisitFilter, *, after: str | None, limit: int) -> list[VisitRecord]:
        """At most `limit` visits that `where` selects, in sort_key order, from the first whose sort_key is
        greater than `after`."""
        ...

    def remove_day(self, day: str) -> int:
        """Remove every row of a UTC day (YYYYMMDD, the partition): the retention's purge. Answers how many."""
        ...

    def of_persons(self, person_ids: list[str]) -> list[VisitRecord]:
        """Every visit of these persons, whatever its day (deleted persons', to unlink): one query across days."""
        ...


SQLITE_FILE = "visits.sqlite3"  # in STORAGE_DIR, beside blobs/ and queues/


def create_visit_index(settings: Settings) -> VisitIndex:
    """The index beside the storage `storage.create_storage` makes from the same settings. Neither opens a
    file nor a connection before its first use."""
    if settings.storage_backend == "local":
        from .sqlite_index import SqliteVisitIndex

        return SqliteVisitIndex(Path(settings.storage_dir).resolve() / SQLITE_FILE)
    from .table_index import table_index_from_settings

    return table_index_from_settings(settings)
