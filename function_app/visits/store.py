"""Where visits are kept: the record and its snapshot as blobs in the dated layout. (A stand-in until the
visit index lands: the branch `visit-index` replaces this file.)"""

from __future__ import annotations

import json

from ..storage import Storage
from ..storage.layout import VISITS_CONTAINER
from .records import VisitRecord


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
