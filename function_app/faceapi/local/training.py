"""Training as Azure defines it: an immutable snapshot of a group's (or a large face list's) embeddings.

`{root}training/status.json` holds the status and names the last successful index: a manifest of chunks built
from the owner's journal, only what changed since the last index read again (journal_training.py,
index_chunks.py); one trained before the journal, one `{root}training/{trainingId}.npz`: embeddings (rows sorted
by person), person ids and names (build_snapshot, which benchmarks/bench_training.py still measures).
What is trained, how, and its root, is a Trainee's: a kind of person group (the gallery's root, by kind;
one row group per person) or large face lists (face_lists.py: one row per face, its id the face's).
Identify and find-similar read the last successful index, so changes after a training wait for the next one.
A training is requested by a message on the train-requests queue (answered 202 at once); the
queue function trains. A training that cannot finish within one message's time (MESSAGE_BUDGET, well inside
host.json's functionTimeout) pauses at a checkpoint and queues the same message again, which goes on from there;
while it runs, its status's message says how far it is.
"""

from __future__ import annotations

import io
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

import numpy as np

from ...clock import iso, utc_now
from ...errors import (
    BadArgument,
    DamagedRecord,
    FaceApiError,
    LargeFaceListNotFound,
    PersonGroupNotFound,
)
from ...lru import LruCache
from ...models import TrainingStatus
from ...storage import BlobNotFound, PreconditionFailed, Storage
from ...storage.layout import GALLERY_CONTAINER as CONTAINER
from ...storage.layout import TRAIN_QUEUE
from ...storage.messages import parse_message, send_json
from ...storage.records import parse_record
from ..base import FaceApi
from ..group_kinds import GroupKind, kind_named
from .search_index import search_blob

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainingState:
    """The status record: the status as the API shows it, the last successful training's index, and the
    generation of the newest training started: only that training may publish its index, so a training
    that started earlier but finishes later never replaces a newer one."""

    status: TrainingStatus
    index_blob: str | None = None
    generation: int = 0

    def to_record(self) -> dict[str, Any]:
        return {**self.status.to_dict(), "indexBlob": self.index_blob, "generation": self.generation}

    @classmethod
    def from_record(cls, data: dict[str, Any]) -> TrainingState:
        index_blob, generation = data.get("indexBlob"), data.get("generation", 0)
        if not isinstance(index_blob, str | None) or not isinstance(generation, int):
            raise TypeError("indexBlob or generation of the wrong type")
        return cls(TrainingStatus.from_dict(data), index_blob, generation)


@dataclass(frozen=True)
class TrainedIndex:
    """One matrix: L2-normalised float32 embeddings, one row per face, rows grouped by person."""

    training_id: str
    embeddings: np.ndarray  # (faces, dims) float32
    person_ids: np.ndarray  # (persons,) str, in row-group order
    person_names: np.ndarray  # (persons,) str
    person_starts: np.ndarray  # (persons,) int: first row of each person
    # Assembled from chunks (index_chunks.py): their names, and for each of their rows in that order its row
    # here (-1: not live); what a stored search index's rows are (search_storage.py).
    chunks: tuple[str, ...] = ()
    chunk_rows: np.ndarray | None = None

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


@dataclass(frozen=True)
class TrainingRows:
    """What a training snapshots: one embedding per face, the id its row answers for (a person's; in a large
    face list the face's own), and each id's name."""

    ids: list[str]
    embeddings: list[np.ndarray]
    names: dict[str, str]


@dataclass(frozen=True)
class TrainingRun:
    """One message's share of a training: its generation, the request it answers (the status's
    createdDateTime), the index it builds on, when to pause (time.monotonic()), and how to report progress."""

    generation: int
    requested: str | None
    base_index: str | None
    deadline: float
    progress: Callable[[str], None]


@dataclass(frozen=True)
class Built:
    """A finished build: the index blob to publish (None: nothing to train on, the training fails with
    `message`) and every blob it wrote (removed if a newer training publishes first)."""

    message: str
    index_blob: str | None
    written: tuple[str, ...] = ()


@dataclass(frozen=True)
class Paused:
    """A build that ran out of its message's time: saved where it stopped; `message` says how far it is."""

    message: str


class Trainee(Protocol):
    """What a Trainer trains (a kind of person group, or large face lists): where its status and indexes
    lie, what it trains on, and its own errors and messages."""

    @property
    def label(self) -> str:
        """In messages: "Person group 'x' is not trained"."""
        ...

    @property
    def retrain(self) -> str:
        """How to repair a damaged status or index, in the message naming it."""
        ...

    def check_id(self, owner_id: str) -> None: ...
    def check_exists(self, owner_id: str) -> None:
        """Raise its NotFound if `owner_id` is not there."""
        ...

    def root(self, owner_id: str) -> str:
        """The folder whose `training/` holds the status and the indexes."""
        ...

    def build(self, owner_id: str, run: TrainingRun) -> Built | Paused: ...
    def resumable(self, owner_id: str, generation: int, requested: str | None) -> bool:
        """A build of this generation for this request paused (or stopped) at a checkpoint to go on from."""
        ...

    def load(self, index_blob: str) -> TrainedIndex:
        """BlobNotFound if it is gone (replaced meanwhile)."""
        ...

    def obsolete(self, replaced: str, kept: str) -> list[str]:
        """The blobs of the index `replaced` that publishing `kept` leaves unused."""
        ...

    def queue_message(self, owner_id: str) -> dict[str, str]: ...
    def never_trained(self, owner_id: str) -> FaceApiError:
        """The 404 of the training status of one never trained."""
        ...

    def not_trained(self, message: str) -> FaceApiError:
        """Where a trained index is needed and there is none."""
        ...


class SnapshotTrainee(Protocol):
    """A trainee trained whole each time, into one .npz, as training read groups and large face lists before the
    journal (the baseline of benchmarks/bench_training.py)."""

    storage: Storage
    retrain: str

    def root(self, owner_id: str) -> str: ...
    def snapshot(self, owner_id: str) -> TrainingRows: ...
    def describe(self, owner_id: str, rows: TrainingRows) -> str:
        """The message of a training on `rows` (none: why it failed)."""
        ...


def build_snapshot(trainee: SnapshotTrainee, owner_id: str) -> Built:
    rows = trainee.snapshot(owner_id)
    message = trainee.describe(owner_id, rows)
    if not rows.ids:
        return Built(message, None)
    index = _index_of(rows)
    index_blob = f"{trainee.root(owner_id)}training/{index.training_id}.npz"
    trainee.storage.put_blob(CONTAINER, index_blob, index.to_bytes())
    return Built(message, index_blob, (index_blob,))


def load_snapshot(storage: Storage, index_blob: str, retrain: str) -> TrainedIndex:
    """An .npz index; BlobNotFound if it is gone."""
    return _parse_index(index_blob, storage.get_blob(CONTAINER, index_blob).data, retrain)


_index_cache: LruCache[str, TrainedIndex] = LruCache(16)
# How long an instance trusts the index a status named without reading the status again: the frame path reads
# it for every frame otherwise (Azure Storage serves about 500 reads a second of one blob). What this instance
# changes (a training, a delete) it sees at once; another instance's change reaches it within this time.
INDEX_NAME_SECONDS = 1.0
_MAX_NAMES = 10_000
# A training still `running` after this long was lost (a worker stopped mid-way): it no longer blocks
# deleting the group. The Functions host stops a queue function after 10 minutes (host.json).
STALE_TRAINING = timedelta(minutes=15)
# One message trains this long at most, then pauses and queues the rest: half the function timeout, which leaves
# the other half to write what it built (at a million faces, a chunk of 16,384 rows takes seconds).
MESSAGE_BUDGET = timedelta(minutes=5)


class Trainer:
    """Trains what a Trainee names into indexes kept in the same storage."""

    def __init__(self, trainee: Trainee, storage: Storage, message_budget: timedelta = MESSAGE_BUDGET):
        self.trainee = trainee
        self.storage = storage
        self.message_budget = message_budget
        self._index_names: dict[str, tuple[float, str]] = {}  # owner -> (when read, its last index blob)
        self._names_lock = threading.Lock()

    def forget(self, owner_id: str) -> None:
        """Read the owner's status afresh next time: it changed here (trained, deleted)."""
        with self._names_lock:
            self._index_names.pop(owner_id, None)

    def _status_blob(self, owner_id: str) -> str:
        return f"{self.trainee.root(owner_id)}training/status.json"

    def _read_state(self, owner_id: str, *, replacing_damaged: bool = False) -> tuple[TrainingState, str | None]:
        """The status and its ETag; DamagedRecord if the status blob is not a status. `replacing_damaged`: a
        damaged status reads as never trained (with its ETag), so that requesting a training overwrites it:
        the way to repair it through the API."""
        try:
            blob = self.storage.get_blob(CONTAINER, self._status_blob(owner_id))
        except BlobNotFound:
            return TrainingState(TrainingStatus("notStarted")), None
        where = f"{CONTAINER}/{self._status_blob(owner_id)}"
        try:
            return parse_record(blob.data, where, TrainingState.from_record, repair=self.trainee.retrain), blob.etag
        except DamagedRecord as damaged:
            if not replacing_damaged:
                raise
            log.warning("%s Replacing it.", damaged.message)
            return TrainingState(TrainingStatus("notStarted")), blob.etag

    def _write_state(self, owner_id: str, state: TrainingState, etag: str | None) -> str:
        self.forget(owner_id)
        data = json.dumps(state.to_record()).encode()
        if etag is None:
            return self.storage.put_blob(CONTAINER, self._status_blob(owner_id), data, only_if_new=True)
        return self.storage.put_blob(CONTAINER, self._status_blob(owner_id), data, if_match=etag)

    def _update(
        self,
        owner_id: str,
        index_blob: str | None = None,
        *,
        new_generation: bool = False,
        only_generation: int | None = None,
        **changes: Any,
    ) -> tuple[TrainingState, str | None]:
        """Read-modify-write of the status with its ETag, so concurrent trainings never lose an update.
        `new_generation`: start the next generation; `only_generation`: change nothing unless it is still the
        newest. Answers (the status now stored, the index it replaced or None)."""
        while True:
            current, etag = self._read_state(owner_id, replacing_damaged=True)
            if only_generation is not None and current.generation != only_generation:
                return current, None
            status = replace(current.status, last_action=iso(utc_now()), **changes)
            generation = current.generation + 1 if new_generation else current.generation
            updated = TrainingState(status, index_blob or current.index_blob, generation)
            try:
                self._write_state(owner_id, updated, etag)
                return updated, current.index_blob
            except PreconditionFailed:
                continue

    def status(self, owner_id: str) -> TrainingStatus:
        self.trainee.check_exists(owner_id)
        state, etag = self._read_state(owner_id)
        if etag is None:
            raise self.trainee.never_trained(owner_id)
        return state.status

    def is_training(self, owner_id: str) -> bool:
        """A training runs (and is not stale): Azure refuses to delete a group meanwhile."""
        status = self._read_state(owner_id)[0].status
        return status.status == "running" and not _stale(status)

    def mark_requested(self, owner_id: str) -> TrainingStatus:
        """Set the status to running when a training is queued (Azure answers `running` at once)."""
        self.trainee.check_exists(owner_id)
        return self._update(owner_id, status="running", created=iso(utc_now()), message=None)[0].status

    def request(self, owner_id: str) -> TrainingStatus:
        """Mark the training as running and queue it."""
        status = self.mark_requested(owner_id)
        send_json(self.storage, TRAIN_QUEUE, self.trainee.queue_message(owner_id))
        return status

    def train(self, owner_id: str) -> TrainingStatus:
        """Build and store the index, or as much of it as one message's time allows; answer the status:
        succeeded or failed, or running when the rest is queued."""
        self.trainee.check_exists(owner_id)
        current = self._read_state(owner_id, replacing_damaged=True)[0]
        if current.status.status == "running" and self.trainee.resumable(
            owner_id, current.generation, current.status.created
        ):
            claimed = current  # a paused (or interrupted) build of this request: go on from its checkpoint
        else:
            if current.status.status != "running":
                self.mark_requested(owner_id)
            # Claim the next generation before reading the faces: a training started later reads newer faces,
            # and only the newest generation may publish.
            claimed, _ = self._update(owner_id, new_generation=True, status="running", message=None)
        generation = claimed.generation

        def progress(message: str) -> None:
            self._update(owner_id, only_generation=generation, message=message)

        deadline = time.monotonic() + self.message_budget.total_seconds()
        run = TrainingRun(generation, claimed.status.created, claimed.index_blob, deadline, progress)
        outcome = self.trainee.build(owner_id, run)
        if isinstance(outcome, Paused):
            state, _ = self._update(owner_id, only_generation=generation, message=outcome.message)
            if state.generation == generation:  # still the newest: the next message goes on
                send_json(self.storage, TRAIN_QUEUE, self.trainee.queue_message(owner_id))
            return state.status
        if outcome.index_blob is None:
            failed, _ = self._update(owner_id, only_generation=generation, status="failed", message=outcome.message)
            return failed.status
        return self._publish(owner_id, generation, outcome)

    def _publish(self, owner_id: str, generation: int, built: Built) -> TrainingStatus:
        index_blob = built.index_blob
        state, replaced = self._update(
            owner_id, index_blob=index_blob, only_generation=generation, status="succeeded", message=built.message
        )
        if state.index_blob != index_blob:  # a newer training started meanwhile: its index wins
            label = self.trainee.label.lower()
            log.info("Training %d of %s %s superseded by %d.", generation, label, owner_id, state.generation)
            for blob in built.written:
                self.storage.delete_blob(CONTAINER, blob)
            # This training did succeed; the status is the newer one's to set.
            return replace(state.status, status="succeeded", message=f"{built.message} A newer training replaces it.")
        if replaced and replaced != index_blob and index_blob:
            # A reader re-reads the status if it was using them.
            for blob in [*self.trainee.obsolete(replaced, index_blob), search_blob(replaced)]:
                self.storage.delete_blob(CONTAINER, blob)
        return state.status

    def mark_failed(self, owner_id: str, reason: str) -> TrainingStatus:
        """Record a training that will not finish (its message went to the poison queue), unless a training
        has finished since."""
        current = self._read_state(owner_id, replacing_damaged=True)[0]
        if current.status.status != "running":
            return current.status
        return self._update(owner_id, only_generation=current.generation, status="failed", message=reason)[0].status

    def load_index(self, owner_id: str) -> TrainedIndex:
        """The last successful training; indexes are immutable, so they are cached. On the frame path: at
        most one status read a second (INDEX_NAME_SECONDS) when the index is cached (the owner is read only to
        tell a missing one from an untrained one)."""
        self.trainee.check_id(owner_id)
        label = self.trainee.label
        for attempt in range(2):
            index_blob = self._index_name(owner_id, fresh=attempt > 0)
            if not index_blob:
                self.trainee.check_exists(owner_id)
                raise self.trainee.not_trained(f"{label} {owner_id!r} is not trained: train it first.")
            cached = _index_cache.get(index_blob)
            if cached is not None:
                return cached
            try:
                index = self.trainee.load(index_blob)
            except BlobNotFound:
                continue  # replaced by a newer training between the two reads
            _index_cache.put(index_blob, index)
            return index
        raise self.trainee.not_trained(f"{label} {owner_id!r} is being retrained; try again.")

    def _index_name(self, owner_id: str, *, fresh: bool) -> str | None:
        """The index blob the owner's status names, read at most once in INDEX_NAME_SECONDS unless `fresh`."""
        now = time.monotonic()
        with self._names_lock:
            known = self._index_names.get(owner_id)
        if known is not None and not fresh and now - known[0] < INDEX_NAME_SECONDS:
            return known[1]
        index_blob = self._read_state(owner_id)[0].index_blob
        with self._names_lock:
            if len(self._index_names) >= _MAX_NAMES:
                self._index_names.clear()
            if index_blob:
                self._index_names[owner_id] = (now, index_blob)
            else:
                self._index_names.pop(owner_id, None)
        return index_blob


def _index_of(rows: TrainingRows) -> TrainedIndex:
    """The rows grouped by id (in id order, each id's rows in their order)."""
    order = sorted(range(len(rows.ids)), key=rows.ids.__getitem__)
    row_ids = np.array([rows.ids[i] for i in order])
    ids = sorted(set(rows.ids))
    return TrainedIndex(
        training_id=uuid.uuid4().hex,
        embeddings=np.stack([rows.embeddings[i] for i in order]).astype(np.float32),
        person_ids=np.array(ids),
        person_names=np.array([rows.names[i] for i in ids]),
        person_starts=np.searchsorted(row_ids, ids).astype(np.int64),
    )


def _stale(status: TrainingStatus) -> bool:
    if not status.last_action:
        return True
    return utc_now() - datetime.fromisoformat(status.last_action.replace("Z", "+00:00")) > STALE_TRAINING


def _parse_index(index_blob: str, data: bytes, retrain: str) -> TrainedIndex:
    try:
        return TrainedIndex.from_bytes(index_blob, data)
    except (ValueError, KeyError, OSError, EOFError) as exc:
        raise DamagedRecord(
            f"The trained index {CONTAINER}/{index_blob} is damaged ({type(exc).__name__}). {retrain}"
        ) from None


def _training_owner(content: str | bytes) -> tuple[str, GroupKind | None]:
    """The id a train-requests message names and its group kind: None for a large face list (whose message
    names largeFaceListId), else the group's (personGroupId, a person group unless `kind` says otherwise)."""
    message = parse_message(content)
    field = "largeFaceListId" if "largeFaceListId" in message else "personGroupId"
    owner_id = message.get(field)
    if not isinstance(owner_id, str):
        raise BadArgument(f"The queue message needs the field {field}.")
    return owner_id, None if field == "largeFaceListId" else kind_named(message.get("kind"))


def handle_training_message(face_api: FaceApi, content: str | bytes) -> TrainingStatus | None:
    """Train the group or large face list a train-requests message names. One deleted since has nothing
    left to train."""
    owner_id, kind = _training_owner(content)
    label = "large face list" if kind is None else kind.label.lower()
    try:
        status = face_api.train_list(owner_id) if kind is None else face_api.train(owner_id, kind=kind)
    except (PersonGroupNotFound, LargeFaceListNotFound):
        log.info("Training of %s %s skipped: it was deleted.", label, owner_id)
        return None
    log.info("Training of %s %s: %s. %s", label, owner_id, status.status, status.message or "")
    return status


GIVEN_UP = "The training failed on every try (see the service log) and was given up: train again."


def handle_poisoned_training_message(face_api: FaceApi, content: str | bytes) -> TrainingStatus | None:
    """A train-requests message given up on (moved to the poison queue): mark the training of the group or
    large face list it names failed, so that it never shows `running` for ever."""
    try:
        owner_id, kind = _training_owner(content)
        if kind is None:
            return face_api.mark_list_training_failed(owner_id, GIVEN_UP)
        return face_api.mark_training_failed(owner_id, GIVEN_UP, kind=kind)
    except (BadArgument, PersonGroupNotFound, LargeFaceListNotFound) as exc:
        log.warning("%s Poisoned message dropped.", exc.message)
        return None
