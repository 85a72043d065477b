"""How long dated records are kept, and the daily purge of what is older: visit records with their index rows
(VISIT_RETENTION_DAYS), visit snapshots (SNAPSHOT_RETENTION_DAYS), per-frame records (FRAME_RECORD_RETENTION_DAYS)
and the visit events' log (EVENT_RETENTION_DAYS); 0 keeps for ever. (The faces of Unknown visits searched by
`similar` have their own purge, visits/strangers.py, after UNKNOWN_VISIT_RETENTION_DAYS.)

Every one of these containers is laid out by UTC day, `<YYYYMMDD>/...`, so a day is purged by listing its prefix
and deleting what is there; nothing lists a whole container. Each purge remembers, in a small blob of its container,
the first day it still keeps (`.retention/<purge>.json`), and the next run lists only the days from there to its new
cutoff: one listing a day per container, however much was written. The first run starts at the container's oldest
day, its first blob in name order."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from .clock import utc_now
from .settings import Settings
from .storage import BlobNotFound, Storage
from .storage.layout import EVENTS_CONTAINER, SIGHTINGS_CONTAINER, VISITS_CONTAINER
from .visits.index import VisitIndex
from .visits.records import SNAPSHOT_SUFFIX

log = logging.getLogger(__name__)
DAY = "%Y%m%d"
DAY_EXAMPLE = "20261126"
MARK_FOLDER = ".retention"


@dataclass(frozen=True)
class Purge:
    """One kind of dated record: its container, what is deleted of a day (every blob, or those `chosen`) and what
    else goes with a day (`also`: the visit index rows)."""

    name: str
    container: str
    days: int  # kept; 0: for ever
    chosen: Callable[[str], bool] = lambda name: True
    also: Callable[[str], int] | None = None  # given the day; answers how many it removed

    @property
    def mark(self) -> str:
        return f"{MARK_FOLDER}/{self.name}.json"


@dataclass(frozen=True)
class Purged:
    """What one purge deleted: blobs, and index rows of the days."""

    name: str
    kept_from: str  # the first day kept (YYYYMMDD)
    days: int  # day folders looked at
    blobs: int
    rows: int


def purges(settings: Settings, index: VisitIndex) -> list[Purge]:
    """The purges the settings ask for (a 0 asks for none)."""
    wanted = [
        Purge("visits", VISITS_CONTAINER, settings.visit_retention_days, also=index.remove_day),
        Purge(
            "snapshots",
            VISITS_CONTAINER,
            settings.snapshot_retention_days,
            chosen=lambda name: name.endswith(SNAPSHOT_SUFFIX),
        ),
        Purge("sightings", SIGHTINGS_CONTAINER, settings.frame_record_retention_days),
        Purge("events", EVENTS_CONTAINER, settings.event_retention_days),
    ]
    return [purge for purge in wanted if purge.days > 0]


def first_kept_day(days: int, now: datetime) -> str:
    """The first UTC day of the last `days` days, today included."""
    return (now - timedelta(days=days - 1)).strftime(DAY)


def purge_old_records(
    storage: Storage, settings: Settings, index: VisitIndex, now: datetime | None = None
) -> list[Purged]:
    """Run every purge the settings ask for; each logs what it deleted."""
    moment = now or utc_now()
    done = [run_purge(storage, purge, moment) for purge in purges(settings, index)]
    for purged in done:
        if purged.blobs or purged.rows:
            log.info(
                "Retention %s: deleted %d blobs and %d index rows of %d days before %s",
                purged.name,
                purged.blobs,
                purged.rows,
                purged.days,
                purged.kept_from,
            )
    return done


def run_purge(storage: Storage, purge: Purge, now: datetime) -> Purged:
    kept_from = first_kept_day(purge.days, now)
    day = _purged_before(storage, purge) or _oldest_day(storage, purge.container) or kept_from
    days = blobs = rows = 0
    while day < kept_from:
        if purge.also is not None:  # the index rows first: a row listed always has its blob (visits/store.py)
            rows += purge.also(day)
        for blob in list(storage.list_blobs(purge.container, f"{day}/")):
            if purge.chosen(blob.name) and storage.delete_blob(purge.container, blob.name):
                blobs += 1
        days += 1
        day = _day_after(day, 1)
    storage.put_blob(purge.container, purge.mark, json.dumps({"purgedBefore": kept_from}).encode())
    return Purged(purge.name, kept_from, days, blobs, rows)


def _day_after(day: str, days: int) -> str:
    return (datetime.strptime(day, DAY) + timedelta(days=days)).strftime(DAY)


def _oldest_day(storage: Storage, container: str) -> str | None:
    """The first run's start: the day of the container's first blob in name order, which is its oldest day (one
    listing request on Azure; a walk of the folder on the local one, once)."""
    marks = f"{MARK_FOLDER}/"  # which sort first ('.' before the digits) where a listing shows them (Azure)
    first = next((blob for blob in storage.list_blobs(container) if not blob.name.startswith(marks)), None)
    if first is None:
        return None
    day = first.name.partition("/")[0]
    if len(day) == len(DAY_EXAMPLE) and day.isdigit():
        return day
    log.warning("Retention: %s/%s is not in a day folder; the first purge starts at its cutoff", container, first.name)
    return None


def _purged_before(storage: Storage, purge: Purge) -> str | None:
    """The first day the last run kept, or None before the first run (or if its mark is unreadable)."""
    try:
        found = json.loads(storage.get_blob(purge.container, purge.mark).data)["purgedBefore"]
    except (BlobNotFound, ValueError, KeyError, TypeError):
        return None
    try:
        return datetime.strptime(found, DAY).strftime(DAY)
    except (TypeError, ValueError):
        return None
