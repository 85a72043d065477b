"""Training as Azure defines it: an immutable snapshot of a group's embeddings and persons.

`{groupId}/training/status.json` holds the status and names the last successful index,
`{groupId}/training/{trainingId}.npz`: embeddings (rows sorted by person), person ids and names.
Identify reads the last successful index, so changes after a training wait for the next one.
"""

from __future__ import annotations

import io
import json
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from .clock import iso, utc_now
from .errors import PersonGroupNotTrained
from .gallery import CONTAINER, Gallery, check_group_id
from .storage import BlobNotFound, PreconditionFailed, Storage


@dataclass(frozen=True)
class TrainingStatus:
    status: str  # notStarted | running | succeeded | failed
    created: str | None = None
    last_action: str | None = None
    message: str | None = None
    index_blob: str | None = None  # the last successful training's index

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "createdDateTime": self.created,
            "lastActionDateTime": self.last_action,
            "message": self.message,
        }

    def to_record(self) -> dict[str, Any]:
        return {**self.to_dict(), "indexBlob": self.index_blob}

    @classmethod
    def from_record(cls, data: dict[str, Any]) -> TrainingStatus:
        return cls(
            data["status"],
            data.get("createdDateTime"),
            data.get("lastActionDateTime"),
            data.get("message"),
            data.get("indexBlob"),
        )


@dataclass(frozen=True)
class TrainedIndex:
    """One matrix: L2-normalised float32 embeddings, one row per face, rows grouped by person."""

    training_id: str
    embeddings: np.ndarray  # (faces, dims) float32
    person_ids: np.ndarray  # (persons,) str, in row-group order
    person_names: np.ndarray  # (persons,) str
    person_starts: np.ndarray  # (persons,) int: first row of each person

    def to_bytes(self) -> bytes:
        out = io.BytesIO()
        np.savez(
            out,
            embeddings=self.embeddings,
            person_ids=self.person_ids,
            person_names=self.person_names,
            person_starts=self.person_starts,
        )
        return out.getvalue()

    @classmethod
    def from_bytes(cls, training_id: str, data: bytes) -> TrainedIndex:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            return cls(training_id, z["embeddings"], z["person_ids"], z["person_names"], z["person_starts"])


def _status_blob(group_id: str) -> str:
    return f"{group_id}/training/status.json"


def _read_status(storage: Storage, group_id: str) -> tuple[TrainingStatus, str | None]:
    try:
        blob = storage.get_blob(CONTAINER, _status_blob(group_id))
    except BlobNotFound:
        return TrainingStatus("notStarted"), None
    return TrainingStatus.from_record(json.loads(blob.data)), blob.etag


def _write_status(storage: Storage, group_id: str, status: TrainingStatus, etag: str | None) -> str:
    data = json.dumps(status.to_record()).encode()
    if etag is None:
        return storage.put_blob(CONTAINER, _status_blob(group_id), data, only_if_new=True)
    return storage.put_blob(CONTAINER, _status_blob(group_id), data, if_match=etag)


def get_training_status(gallery: Gallery, group_id: str) -> TrainingStatus:
    gallery.get_group(group_id)
    return _read_status(gallery.storage, group_id)[0]


def _update_status(storage: Storage, group_id: str, **changes: Any) -> tuple[TrainingStatus, TrainingStatus]:
    """Read-modify-write of the status with its ETag, so concurrent trainings never lose an update.
    Answers (the status written, the status it replaced)."""
    while True:
        current, etag = _read_status(storage, group_id)
        updated = replace(current, last_action=iso(utc_now()), **changes)
        try:
            _write_status(storage, group_id, updated, etag)
            return updated, current
        except PreconditionFailed:
            continue


def mark_training_requested(gallery: Gallery, group_id: str) -> TrainingStatus:
    """Set the status to running when a training is queued (Azure answers `running` at once)."""
    gallery.get_group(group_id)
    now = iso(utc_now())
    return _update_status(gallery.storage, group_id, status="running", created=now, message=None)[0]


def train_group(gallery: Gallery, group_id: str) -> TrainingStatus:
    """Build and store the group's index; answer the final status (succeeded or failed)."""
    gallery.get_group(group_id)
    storage = gallery.storage
    if _read_status(storage, group_id)[0].status != "running":
        mark_training_requested(gallery, group_id)
    persons = {p.person_id: p.name for p in gallery.list_persons(group_id)}
    faces = [f for f in gallery.iter_faces(group_id) if f.person_id in persons]
    if not faces:
        return _update_status(
            storage,
            group_id,
            status="failed",
            message=f"Person group {group_id!r} has no faces to train on: add persons and their faces first.",
        )[0]
    faces.sort(key=lambda f: f.person_id)
    person_ids = sorted({f.person_id for f in faces})
    rows_person = np.array([f.person_id for f in faces])
    index = TrainedIndex(
        training_id=uuid.uuid4().hex,
        embeddings=np.stack([f.embedding for f in faces]).astype(np.float32),
        person_ids=np.array(person_ids),
        person_names=np.array([persons[p] for p in person_ids]),
        person_starts=np.searchsorted(rows_person, person_ids).astype(np.int64),
    )
    index_blob = f"{group_id}/training/{index.training_id}.npz"
    storage.put_blob(CONTAINER, index_blob, index.to_bytes())
    status, replaced = _update_status(
        storage,
        group_id,
        status="succeeded",
        message=f"Trained on {len(faces)} faces of {len(person_ids)} persons.",
        index_blob=index_blob,
    )
    if replaced.index_blob and replaced.index_blob != index_blob:
        storage.delete_blob(CONTAINER, replaced.index_blob)  # identify re-reads the status if it was using it
    return status


_cache_lock = threading.Lock()
_index_cache: OrderedDict[str, TrainedIndex] = OrderedDict()
_CACHE_SIZE = 16


def load_trained_index(gallery: Gallery, group_id: str) -> TrainedIndex:
    """The last successful training of the group; indexes are immutable, so they are cached. On the
    frame path: one status read per call when the index is cached (the group is read only to tell
    a missing group from an untrained one)."""
    check_group_id(group_id)
    for _attempt in range(2):
        status = _read_status(gallery.storage, group_id)[0]
        if not status.index_blob:
            gallery.get_group(group_id)
            raise PersonGroupNotTrained(f"Person group {group_id!r} is not trained: train it first.")
        with _cache_lock:
            if status.index_blob in _index_cache:
                _index_cache.move_to_end(status.index_blob)
                return _index_cache[status.index_blob]
        try:
            data = gallery.storage.get_blob(CONTAINER, status.index_blob).data
        except BlobNotFound:
            continue  # replaced by a newer training between the two reads
        index = TrainedIndex.from_bytes(status.index_blob, data)
        with _cache_lock:
            _index_cache[status.index_blob] = index
            while len(_index_cache) > _CACHE_SIZE:
                _index_cache.popitem(last=False)
        return index
    raise PersonGroupNotTrained(f"Person group {group_id!r} is being retrained; try again.")
