"""Where visits are kept: the record and its snapshot as blobs in the dated layout. (A stand-in until the
visit index lands: the branch `visit-index` replaces this file; `get` and `snapshot` have its signatures.)"""

from __future__ import annotations

import json
import re

from ..errors import BadArgument, VisitNotFound
from ..storage import BlobNotFound, Storage
from ..storage.layout import VISITS_CONTAINER
from ..storage.records import parse_record
from .records import RECORD_SUFFIX, SNAPSHOT_SUFFIX, VisitRecord, day_of

VISIT_ID_PATTERN = re.compile(r"v\d{8}T\d{9}-[0-9a-f]{12}")  # records.new_visit_id; fullmatch


class VisitStore:
    def __init__(self, storage: Storage):
        self.storage = storage

    def save(self, record: VisitRecord, snapshot: bytes | None = None) -> VisitRecord:
        if snapshot is not None:
            self.storage.put_blob(VISITS_CONTAINER, record.snapshot_blob_name, snapshot)
            record = record.with_snapshot()
        data = json.dumps(record.to_dict(), separators=(",", ":"), ensure_ascii=False).encode()
        self.storage.put_blob(VISITS_CONTAINER, record.blob_name, data)
        return record

    def delete(self, record: VisitRecord) -> None:
        self.storage.delete_blob(VISITS_CONTAINER, record.snapshot_blob_name)
        self.storage.delete_blob(VISITS_CONTAINER, record.blob_name)

    def get(self, visit_id: str) -> VisitRecord:
        name = f"{day_of(_checked_id(visit_id))}/{visit_id}{RECORD_SUFFIX}"
        try:
            data = self.storage.get_blob(VISITS_CONTAINER, name).data
        except BlobNotFound:
            raise VisitNotFound(f"Visit {visit_id} is not found.") from None
        return parse_record(data, f"{VISITS_CONTAINER}/{name}", VisitRecord.from_dict)

    def snapshot(self, visit_id: str) -> bytes:
        """The visit's best face, a JPEG."""
        name = f"{day_of(_checked_id(visit_id))}/{visit_id}{SNAPSHOT_SUFFIX}"
        try:
            return self.storage.get_blob(VISITS_CONTAINER, name).data
        except BlobNotFound:
            raise VisitNotFound(f"Visit {visit_id} is not found, or has no snapshot.") from None


def _checked_id(visit_id: str) -> str:
    if not VISIT_ID_PATTERN.fullmatch(visit_id):
        raise BadArgument("'visitId' is invalid: a visit id looks like v20261126T101530123-0123456789ab.")
    return visit_id
