"""Long-running operations, as the Face API has them from v1.1 on: a call that starts slow work (a
training) answers an `Operation-Location`, and `GET /face/{apiVersion}/operations/{operationId}`
answers the operation's status until it has succeeded or failed (the maintained SDK's poller reads it).

An operation is one small record in the gallery container (`.operations/{operationId}.json`, see
storage/layout.py) naming what it tracks: a training's status is read from the group's (or large
face list's) training status whenever it is asked for, so the operation and the training never
disagree; work done before the answer (adding a face) is recorded as succeeded. Records are kept
KEEP_OPERATIONS, time enough for any poller; a timer purges the older ones (`purge_operations`).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ..clock import iso, utc_now
from ..errors import LargeFaceListNotFound, OperationNotFound, PersonGroupNotFound
from ..faceapi import FaceApi
from ..faceapi.face_lists import ListKind
from ..faceapi.group_kinds import GroupKind, kind_named
from ..models import TrainingStatus
from ..storage import BlobNotFound, Storage
from ..storage.layout import GALLERY_CONTAINER, OPERATIONS_PREFIX

FINISHED = ("succeeded", "failed")
KEEP_OPERATIONS = timedelta(hours=48)


@dataclass(frozen=True)
class OperationStatus:
    """The Face API's OperationResult."""

    operation_id: str
    status: str  # notStarted | running | succeeded | failed
    created: str
    last_action: str | None = None
    finished: str | None = None
    message: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "operationId": self.operation_id,
            "status": self.status,
            "createdTime": self.created,
            "lastActionTime": self.last_action,
            "finishedTime": self.finished,
            "message": self.message,
        }


class Operations:
    def __init__(self, storage: Storage, face_api: FaceApi):
        self.storage = storage
        self.face_api = face_api

    def _save(self, record: dict[str, Any]) -> str:
        operation_id = str(uuid.uuid4())
        data = json.dumps({"operationId": operation_id, "createdTime": iso(utc_now()), **record}).encode()
        self.storage.put_blob(GALLERY_CONTAINER, f"{OPERATIONS_PREFIX}{operation_id}.json", data)
        return operation_id

    def training(self, group_id: str, kind: GroupKind | ListKind) -> str:
        """An operation following the training (just requested) of a group or a large face list."""
        return self._save({"kind": "train", "groupKind": kind.route, "groupId": group_id})

    def _training_status(self, route: str, group_id: str) -> TrainingStatus:
        if route == ListKind.LARGE_FACE_LIST.route:
            return self.face_api.list_training_status(group_id)
        return self.face_api.training_status(group_id, kind=kind_named(route))

    def done(self, message: str | None = None) -> str:
        """An operation whose work was done before the answer."""
        return self._save({"kind": "done", "message": message})

    def status(self, operation_id: str) -> OperationStatus:
        try:
            uuid.UUID(operation_id)
            blob = self.storage.get_blob(GALLERY_CONTAINER, f"{OPERATIONS_PREFIX}{operation_id}.json")
        except (ValueError, BlobNotFound):
            raise OperationNotFound(f"Operation {operation_id!r} is not found.") from None
        record = json.loads(blob.data)
        created = record["createdTime"]
        if record["kind"] == "done":
            return OperationStatus(operation_id, "succeeded", created, created, created, record.get("message"))
        route = record["groupKind"]
        try:
            training = self._training_status(route, record["groupId"])
        except (PersonGroupNotFound, LargeFaceListNotFound):
            label = ListKind(route).label if route == ListKind.LARGE_FACE_LIST.route else kind_named(route).label
            message = f"{label} {record['groupId']!r} was deleted before its training finished."
            return OperationStatus(operation_id, "failed", created, iso(utc_now()), iso(utc_now()), message)
        finished = training.last_action if training.status in FINISHED else None
        return OperationStatus(operation_id, training.status, created, training.last_action, finished, training.message)


def purge_operations(storage: Storage, now: datetime | None = None) -> int:
    """Delete the operation records older than KEEP_OPERATIONS; answer how many."""
    cutoff = (now or utc_now()) - KEEP_OPERATIONS
    old = [b.name for b in storage.list_blobs(GALLERY_CONTAINER, OPERATIONS_PREFIX) if b.last_modified < cutoff]
    return sum(1 for name in old if storage.delete_blob(GALLERY_CONTAINER, name))
