"""The visit store: what the frame path calls to keep its visits, and what `GET /api/visits` reads.

A visit's record blob (and its snapshot) is the truth a visit is read from by id; the index (index.py) holds
a copy of each record for listing. `save` writes the blob, then the index row, so a visit the index lists
always has its blob, and a save interrupted between the two is completed by the next save of the visit
(saves are repeated while a visit is open, and are idempotent). `delete` removes the index row first, for
the same reason."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ..clock import utc_now
from ..errors import BadArgument, DamagedRecord, VisitNotFound
from ..features.sightings import check_camera
from ..storage import BlobNotFound, Storage
from ..storage.layout import VISITS_CONTAINER
from ..storage.records import parse_record
from .index import VisitFilter, VisitIndex, sort_key, time_key
from .records import RECORD_SUFFIX, VisitRecord, day_of

log = logging.getLogger(__name__)
VISIT_ID_PATTERN = re.compile(r"v\d{8}T\d{9}-[0-9a-f]{12}")  # records.new_visit_id; fullmatch
DAY_PATTERN = re.compile(r"\d{8}")
SORT_KEY_PATTERN = re.compile(r"\d{8}T\d{9}_" + VISIT_ID_PATTERN.pattern)
MAX_PAGE = 1000
MAX_PERSON_ID = 128
JPEG_MAGIC = b"\xff\xd8\xff"


@dataclass(frozen=True)
class Reindexed:
    day: str
    visits: int  # indexed again from their records
    damaged: int  # records that could not be read: left out


@dataclass(frozen=True)
class VisitsPage:
    visits: list[VisitRecord]
    continuation_token: str | None  # the next page's; None on the last page

    def to_dict(self) -> dict[str, Any]:
        return {"visits": [visit.to_dict() for visit in self.visits], "continuationToken": self.continuation_token}


class VisitStore:
    def __init__(self, storage: Storage, index: VisitIndex):
        self.storage = storage
        self.index = index

    def save(self, record: VisitRecord, snapshot: bytes | None = None) -> VisitRecord:
        """Write the visit (over its earlier version) and its index row; with `snapshot` (a JPEG) write it
        beside the record first. Answers the record as stored (with `snapshot` set when one was written):
        pass that record to the next save, so that the snapshot stays named."""
        _check_record(record)
        if snapshot is not None:
            if not snapshot.startswith(JPEG_MAGIC):
                raise ValueError(f"The snapshot of visit {record.visit_id} is not a JPEG")
            self.storage.put_blob(VISITS_CONTAINER, record.snapshot_blob_name, snapshot)
            record = record.with_snapshot()
        data = json.dumps(record.to_dict(), separators=(",", ":"), ensure_ascii=False).encode()
        self.storage.put_blob(VISITS_CONTAINER, record.blob_name, data)
        self.index.upsert(record)
        return record

    def delete(self, record: VisitRecord) -> None:
        """Remove the visit: its index row, record and snapshot (a visit merged into another)."""
        _check_record(record)
        self.index.remove(record)
        self.storage.delete_blob(VISITS_CONTAINER, record.blob_name)
        self.storage.delete_blob(VISITS_CONTAINER, record.snapshot_blob_name)

    def reindex_day(self, day: str) -> Reindexed:
        """Rebuild the index rows of a UTC day from its record blobs (the truth): the rows of that day are
        removed, then each record's row written again; a damaged record is left out and counted (and logged)."""
        if not DAY_PATTERN.fullmatch(day):
            raise BadArgument(f"'{day}' is not a day: use YYYYMMDD.")
        self.index.remove_day(day)
        indexed = damaged = 0
        for info in self.storage.list_blobs(VISITS_CONTAINER, f"{day}/"):
            if not info.name.endswith(RECORD_SUFFIX):
                continue
            try:
                data = self.storage.get_blob(VISITS_CONTAINER, info.name).data
                record = parse_record(data, f"{VISITS_CONTAINER}/{info.name}", VisitRecord.from_dict)
            except BlobNotFound:  # deleted since the listing (a visit merged into another)
                continue
            except DamagedRecord as exc:
                log.warning("%s Left out of the index.", exc.message)
                damaged += 1
                continue
            self.index.upsert(record)
            indexed += 1
        return Reindexed(day, indexed, damaged)

    def get(self, visit_id: str) -> VisitRecord:
        name = f"{day_of(_checked_id(visit_id))}/{visit_id}.json"
        try:
            data = self.storage.get_blob(VISITS_CONTAINER, name).data
        except BlobNotFound:
            raise VisitNotFound(f"Visit {visit_id} is not found.") from None
        return parse_record(data, f"{VISITS_CONTAINER}/{name}", VisitRecord.from_dict)

    def snapshot(self, visit_id: str) -> bytes:
        """The visit's best face, a JPEG."""
        name = f"{day_of(_checked_id(visit_id))}/{visit_id}.jpg"
        try:
            return self.storage.get_blob(VISITS_CONTAINER, name).data
        except BlobNotFound:
            raise VisitNotFound(f"Visit {visit_id} is not found, or has no snapshot.") from None

    def query(
        self,
        day: str | None = None,
        person_id: str | None = None,
        camera: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        unknown: bool | None = None,
        top: int = 100,
        continuation_token: str | None = None,
    ) -> VisitsPage:
        """The visits first seen on one UTC day (by default the day of `start` or `end`, else today), in
        first-seen order (ties by visit id), optionally of one person (or, `unknown=True`, only Unknown
        visitors; False: only named ones), of one camera, first seen in [start, end); at most `top` a page,
        the next page from `continuation_token`."""
        where = _visit_filter(day, person_id, camera, start, end, unknown)
        if not 1 <= top <= MAX_PAGE:
            raise BadArgument(f"'top' is invalid: use 1 to {MAX_PAGE}.")
        after = _after(continuation_token, where)
        visits = self.index.query(where, after=after, limit=top + 1)  # one more: is there a next page?
        if len(visits) <= top:
            return VisitsPage(visits, None)
        visits = visits[:top]
        return VisitsPage(visits, _token(where, sort_key(visits[-1])))


def _check_record(record: VisitRecord) -> None:
    """The frame path's records: a visit id as new_visit_id makes it, from the first-seen time (to the
    millisecond), since the day folder, the index partition and the row key are all taken from it."""
    if not VISIT_ID_PATTERN.fullmatch(record.visit_id):
        raise ValueError(f"Invalid visit id {record.visit_id!r}: make it with visits.records.new_visit_id")
    if time_key(record.first_seen) != record.visit_id[1:19]:
        raise ValueError(
            f"Visit {record.visit_id} was first seen at {record.first_seen.isoformat()}, not when its id says: "
            "a visit's first-seen time is fixed when its id is made"
        )


def _checked_id(visit_id: str) -> str:
    if not VISIT_ID_PATTERN.fullmatch(visit_id):
        raise BadArgument("'visitId' is invalid: a visit id looks like v20261126T101530123-0123456789ab.")
    return visit_id


def _day_start(day: str) -> datetime:
    try:
        return datetime.strptime(day, "%Y%m%d").replace(tzinfo=UTC)
    except ValueError:
        raise BadArgument("'day' is invalid: use YYYYMMDD.") from None


def _visit_filter(
    day: str | None,
    person_id: str | None,
    camera: str | None,
    start: datetime | None,
    end: datetime | None,
    unknown: bool | None,
) -> VisitFilter:
    if day is None:
        day = (start or end or utc_now()).astimezone(UTC).strftime("%Y%m%d")
    if not DAY_PATTERN.fullmatch(day):
        raise BadArgument("'day' is invalid: use YYYYMMDD.")
    begins = _day_start(day)
    ends = begins + timedelta(days=1)
    if start is not None and not begins <= start < ends:
        raise BadArgument(f"'start' is invalid: it must lie within the UTC day {day}.")
    if end is not None and not begins < end <= ends:
        raise BadArgument(f"'end' is invalid: it must lie within the UTC day {day} (its end included).")
    if start is not None and end is not None and start >= end:
        raise BadArgument("'end' is invalid: it must come after 'start'.")
    if person_id is not None and (not person_id or len(person_id) > MAX_PERSON_ID or not person_id.isprintable()):
        raise BadArgument(f"'personId' is invalid: 1 to {MAX_PERSON_ID} printable characters.")
    if person_id is not None and unknown:
        raise BadArgument("'personId' and 'unknown=true' exclude each other: an Unknown visit has no person.")
    return VisitFilter(
        day=day,
        person_id=person_id,
        unknown=unknown,
        camera=check_camera(camera) if camera is not None else None,
        start=time_key(start) if start is not None else None,
        end=time_key(end) if end is not None else None,
    )


# A continuation token: the query it belongs to (a digest of its filter) and the last visit answered, so a
# token is refused by another query instead of silently paging it from the wrong place.
def _fingerprint(where: VisitFilter) -> str:
    return hashlib.sha256(json.dumps(asdict(where), sort_keys=True).encode()).hexdigest()[:16]


def _token(where: VisitFilter, after: str) -> str:
    payload = json.dumps({"q": _fingerprint(where), "after": after}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


def _after(token: str | None, where: VisitFilter) -> str | None:
    if not token:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        query, after = payload["q"], payload["after"]
    except (ValueError, TypeError, KeyError, binascii.Error):
        query = after = None
    if query != _fingerprint(where) or not isinstance(after, str) or not SORT_KEY_PATTERN.fullmatch(after):
        raise BadArgument("'continuationToken' is invalid for this query.")
    return after
