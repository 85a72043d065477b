"""Training from a journal (embedding_journal.py) into a chunked index (index_chunks.py): a kind of person group's,
or a large face list's (face_lists.py), each a JournalTrainee.

A retraining starts from the last published manifest and reads each journal log only from where that training
stopped: a log that did not grow is not read at all, so adding 100 faces to 100,000 reads the tails of the logs
they went to, and writes one chunk of 100 rows and a manifest. A full training reads every log whole: the first
one, the one after migrating a group made before the journal, and one whose base holds too many chunks or too
many deleted rows (which it leaves behind).

A build saves a checkpoint (`{root}training/checkpoint.json`: the manifest so far, the chunks it wrote, the logs it
has read) after every chunk it writes and when its message's time runs out; the next message for the same request
goes on from there, as does one redelivered after a worker died.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...errors import BadArgument, DamagedRecord, FaceApiError, PersonNotFound, with_status
from ...read_ahead import read_ahead
from ...storage import BlobNotFound, Storage
from ...storage.layout import GALLERY_CONTAINER as CONTAINER
from ...storage.records import parse_record
from ..base import check_group_id
from .embedding_journal import Changes, EmbeddingJournal, Entry, EntryKind, Tail
from .gallery import Gallery
from .index_chunks import (
    ID,
    Chunk,
    IndexManifest,
    chunk_blob,
    chunks_intact,
    dump_manifest,
    load_index,
    obsolete_blobs,
    read_manifest,
)
from .search_index import MIN_FACES
from .search_storage import load_search_index, store_search_index
from .training import Built, Paused, TrainedIndex, TrainingRun, load_snapshot

log = logging.getLogger(__name__)
CHUNK_ROWS = 16_384
# A full training is due when the last index has this many chunks, or this share of its rows deleted.
MAX_CHUNKS = 32
MAX_DEAD_SHARE = 0.25
READERS = 4  # journal logs read at once
PROGRESS_EVERY = 2.0  # seconds between updates of the status's message
_ENTRY_OVERHEAD = 39  # an ADD entry's bytes besides its embedding: the header and two UUIDs


@dataclass
class _Build:
    """A manifest in the making, for one generation of one request: what a checkpoint holds."""

    generation: int
    requested: str | None
    manifest: IndexManifest
    written: list[str]
    done: set[str]  # the logs read

    def to_record(self) -> dict[str, Any]:
        return {
            "generation": self.generation,
            "requested": self.requested,
            "manifest": self.manifest.to_record(),
            "written": self.written,
            "done": sorted(self.done),
        }

    @classmethod
    def from_record(cls, data: dict[str, Any]) -> _Build:
        generation = data["generation"]
        if not isinstance(generation, int):
            raise TypeError("generation must be a number")
        manifest = IndexManifest.from_record(data["manifest"])
        return cls(generation, data["requested"], manifest, list(data["written"]), set(data["done"]))


class JournalTrainee(ABC):
    """What training.py's Trainer trains from a journal into a chunked index. What a row's "person" is (a person of a
    group; in a large face list the face itself), where the owner's root lies, how one made before the journal is
    moved to it and how a training is described are the subclass's (GroupTrainee below, face_lists.py's
    LargeFaceListTrainee); reading the journal, chunks, checkpoints and progress are shared."""

    label: str
    retrain: str  # how to repair a damaged index, in the message naming it
    migrating: str  # the status message of a part that moved an owner made before the journal to it

    def __init__(self, storage: Storage, journal: EmbeddingJournal, search_from: int):
        self.storage = storage
        self.journal = journal
        # An index of this many faces or more gets its search index stored beside it (FACE_APPROXIMATE_SEARCH_FROM).
        self.search_from = max(search_from, MIN_FACES)

    @abstractmethod
    def check_id(self, owner_id: str) -> None: ...

    @abstractmethod
    def check_exists(self, owner_id: str) -> None: ...

    @abstractmethod
    def root(self, owner_id: str) -> str: ...

    @abstractmethod
    def queue_message(self, owner_id: str) -> dict[str, str]: ...

    @abstractmethod
    def never_trained(self, owner_id: str) -> FaceApiError: ...

    @abstractmethod
    def not_trained(self, message: str) -> FaceApiError: ...

    @abstractmethod
    def uses_journal(self, owner_id: str) -> bool:
        """False for an owner made before the journal, not migrated yet."""

    @abstractmethod
    def migrate_to_journal(self, owner_id: str, known: set[str], deadline: float) -> bool:
        """Append what an owner made before the journal holds, but the ids `known` (already there), and mark it as
        using the journal; False if `deadline` passed first."""

    @abstractmethod
    def name_unnamed(self, owner_id: str, manifest: IndexManifest) -> None:
        """Name the manifest's rows' persons that the journal does not name."""

    @abstractmethod
    def describe(self, owner_id: str, manifest: IndexManifest) -> str:
        """The message of a training of `manifest` (no faces: why it failed)."""

    # -- indexes ---------------------------------------------------------------------------------
    def load(self, index_blob: str) -> TrainedIndex:
        if index_blob.endswith(".npz"):  # trained before the journal
            return load_snapshot(self.storage, index_blob, self.retrain)
        index = load_index(self.storage, index_blob, self.retrain)
        load_search_index(self.storage, index_blob, index)
        return index

    def obsolete(self, replaced: str, kept: str) -> list[str]:
        if replaced.endswith(".npz"):
            return [replaced]
        return obsolete_blobs(self.storage, replaced, kept, self.retrain)

    # -- checkpoints -----------------------------------------------------------------------------
    def checkpoint_blob(self, owner_id: str) -> str:
        return f"{self.root(owner_id)}training/checkpoint.json"

    def _read_checkpoint(self, owner_id: str) -> _Build | None:
        name = self.checkpoint_blob(owner_id)
        try:
            data = self.storage.get_blob(CONTAINER, name).data
            return parse_record(data, f"{CONTAINER}/{name}", _Build.from_record)
        except BlobNotFound:
            return None
        except DamagedRecord as damaged:
            log.warning("%s Training from the start.", damaged.message)
            return None

    def _save(self, owner_id: str, work: _Build) -> None:
        self.storage.put_blob(CONTAINER, self.checkpoint_blob(owner_id), json.dumps(work.to_record()).encode())

    def resumable(self, owner_id: str, generation: int, requested: str | None) -> bool:
        work = self._read_checkpoint(owner_id)
        return work is not None and (work.generation, work.requested) == (generation, requested)

    # -- building ----------------------------------------------------------------------------------
    def build(self, owner_id: str, run: TrainingRun) -> Built | Paused:
        if not self.uses_journal(owner_id) and not self._migrate(owner_id, run):
            return Paused(self.migrating)
        work = self._read_checkpoint(owner_id)
        if work is None or (work.generation, work.requested) != (run.generation, run.requested):
            if work is not None:  # an abandoned build's chunks, but those a build of its run went on to publish
                for blob in set(work.written) - set(self._published(run.base_index).chunks):
                    self.storage.delete_blob(CONTAINER, blob)
            work = _Build(run.generation, run.requested, self._base(owner_id, run.base_index), [], set())
        return self._read_journal(owner_id, work, run)

    def _published(self, index_blob: str | None) -> IndexManifest:
        """The last published manifest; an empty one if there is none (or it is not one, or damaged)."""
        if not index_blob or not index_blob.endswith(".json"):
            return IndexManifest()
        try:
            return read_manifest(self.storage, index_blob, self.retrain)
        except (BlobNotFound, DamagedRecord):
            return IndexManifest()

    def _base(self, owner_id: str, index_blob: str | None) -> IndexManifest:
        """The manifest to go on from: the last published one, unless a full training is due (none, or one
        damaged: training again is how a damaged index is repaired)."""
        manifest = self._published(index_blob)
        if not manifest.chunks:
            return IndexManifest()
        if len(manifest.chunks) >= MAX_CHUNKS or manifest.rows - manifest.faces > MAX_DEAD_SHARE * manifest.rows:
            return IndexManifest()
        return manifest if chunks_intact(self.storage, self.root(owner_id), manifest) else IndexManifest()

    def _read_journal(self, owner_id: str, work: _Build, run: TrainingRun) -> Built | Paused:
        root = self.root(owner_id)
        manifest = work.manifest
        sizes = self.journal.sizes(root)
        todo = [name for name in sorted(sizes) if name not in work.done and sizes[name] > manifest.offsets.get(name, 0)]
        unread = sum(sizes[name] - manifest.offsets.get(name, 0) for name in todo)
        pending: dict[str, tuple[str, bytes]] = {}
        entry_size = _ENTRY_OVERHEAD + 4 * 1152
        reported = time.monotonic()
        with _Uploads(self, owner_id, work) as uploads:
            for i, (name, tail) in enumerate(self._tails(todo, dict(manifest.offsets))):
                unread -= sizes[name] - manifest.offsets.get(name, 0)
                entry_size = _apply(manifest, _changes(tail), pending) or entry_size
                manifest.offsets[name] = tail.end
                work.done.add(name)
                if len(pending) >= CHUNK_ROWS:
                    uploads.flush(pending, checkpoint=True)
                if i + 1 == len(todo):
                    break
                progress = f"Trained {manifest.faces:,} of about {manifest.faces + unread // entry_size:,} faces."
                if time.monotonic() > run.deadline:
                    uploads.flush(pending, checkpoint=False)
                    uploads.settle()
                    self._save(owner_id, work)
                    return Paused(progress)
                if time.monotonic() - reported > PROGRESS_EVERY:
                    run.progress(progress)
                    reported = time.monotonic()
            uploads.flush(pending, checkpoint=False)
        self.name_unnamed(owner_id, manifest)
        self.storage.delete_blob(CONTAINER, self.checkpoint_blob(owner_id))
        message = self.describe(owner_id, manifest)
        if manifest.faces == 0:
            return Built(message, None, tuple(work.written))
        manifest_blob = f"{root}training/{uuid.uuid4().hex}.json"
        self.storage.put_blob(CONTAINER, manifest_blob, dump_manifest(manifest))
        written = (*work.written, manifest_blob)
        if manifest.faces >= self.search_from:
            written += (store_search_index(self.storage, manifest_blob, manifest, run.base_index, self.retrain),)
        return Built(message, manifest_blob, written)

    def _tails(self, todo: list[str], offsets: dict[str, int]) -> Iterator[tuple[str, Tail]]:
        """Each log's tail, in order, READERS of them read at once: a log's read is mostly waiting on the storage
        (an append blob is served block by block)."""
        return read_ahead(todo, lambda name: self.journal.read_tail(name, offsets.get(name, 0)), READERS)

    def _migrate(self, owner_id: str, run: TrainingRun) -> bool:
        """Move an owner made before the journal to it, skipping what the journal holds (a migration cut short)."""
        known: set[str] = set()
        for name in self.journal.sizes(self.root(owner_id)):
            known.update(_migrated_id(entry) for entry in self.journal.read_tail(name, 0).entries)
        return self.migrate_to_journal(owner_id, known, run.deadline)


class GroupTrainee(JournalTrainee):
    """A kind of person group: its persons' faces, one row group per person."""

    retrain = "Train the group again to replace it."
    migrating = "Moving the group's faces to its journal; the training goes on in its next part."

    def __init__(self, gallery: Gallery):
        super().__init__(gallery.storage, gallery.journal, gallery.settings.approximate_search_from)
        self.gallery = gallery
        self.kind = gallery.kind
        self.label = self.kind.label

    def check_id(self, owner_id: str) -> None:
        check_group_id(owner_id, self.kind.id_name)

    def check_exists(self, owner_id: str) -> None:
        self.gallery.get_group(owner_id)

    def root(self, owner_id: str) -> str:
        return self.gallery.root(owner_id)

    def queue_message(self, owner_id: str) -> dict[str, str]:
        return {"personGroupId": owner_id, "kind": self.kind.route}

    def never_trained(self, owner_id: str) -> FaceApiError:
        return with_status(self.kind.not_trained(f"{self.label} {owner_id!r} has never been trained."), 404)

    def not_trained(self, message: str) -> FaceApiError:
        return self.kind.not_trained(message)

    def uses_journal(self, owner_id: str) -> bool:
        return self.gallery.uses_journal(owner_id)

    def migrate_to_journal(self, owner_id: str, known: set[str], deadline: float) -> bool:
        return self.gallery.migrate_to_journal(owner_id, known, deadline)

    def name_unnamed(self, owner_id: str, manifest: IndexManifest) -> None:
        """Persons with faces but no name in the journal (its append cut short): from their records, a read each."""
        for person_id, entry in list(manifest.persons.items()):
            if entry[1] > 0 and not entry[0]:
                try:
                    entry[0] = self.gallery.get_person(owner_id, person_id).name
                except PersonNotFound:  # gone without its delete entry: gone all the same
                    manifest.persons.pop(person_id)
                    manifest.deleted_persons.add(person_id)

    def describe(self, owner_id: str, manifest: IndexManifest) -> str:
        if manifest.faces == 0:
            return f"{self.label} {owner_id!r} has no faces to train on: add persons and their faces first."
        return f"Trained on {manifest.faces} faces of {manifest.trained_persons} persons."


class _Uploads:
    """Writes a build's chunks in a thread of their own while the journal is read on; a checkpoint taken with a
    chunk is saved once that chunk is written (in order, so a checkpoint never names a chunk not yet there).
    Leaving it waits for every write and puts each chunk's ETag in the manifest."""

    def __init__(self, trainee: JournalTrainee, owner_id: str, work: _Build):
        self.trainee, self.owner_id, self.work = trainee, owner_id, work
        self.root = trainee.root(owner_id)
        self._pool = ThreadPoolExecutor(1)
        self._writes: list[tuple[str, Future[str]]] = []

    def __enter__(self) -> _Uploads:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.settle()
        finally:
            self._pool.shutdown()

    def flush(self, pending: dict[str, tuple[str, bytes]], *, checkpoint: bool) -> None:
        """The pending rows as a chunk of the manifest, written in the background (and a checkpoint after it)."""
        if not pending:
            return
        bodies = [body for _, body in pending.values()]
        if len({len(body) for body in bodies}) > 1:
            raise BadArgument(
                f"The {self.trainee.label.lower()} holds embeddings of two engine configurations: enroll its photos "
                "again with this one."
            )
        chunk = Chunk(
            np.frombuffer(b"".join(bodies), dtype="<f4").reshape(len(bodies), -1).astype(np.float32),
            np.array(list(pending), dtype=ID),
            np.array([person for person, _ in pending.values()], dtype=ID),
        )
        name = chunk_blob(self.root, uuid.uuid4().hex)
        self.work.written.append(name)
        self.work.manifest.chunks.append(name)
        self.work.manifest.rows += len(bodies)
        pending.clear()
        snapshot = json.loads(json.dumps(self.work.to_record())) if checkpoint else None
        self._writes.append((name, self._pool.submit(self._write, name, chunk.to_bytes(), snapshot)))

    def _write(self, name: str, data: bytes, snapshot: dict[str, Any] | None) -> str:
        etag = self.trainee.storage.put_blob(CONTAINER, name, data)
        if snapshot is not None:
            snapshot["manifest"]["chunkEtags"][name] = etag
            checkpoint = self.trainee.checkpoint_blob(self.owner_id)
            self.trainee.storage.put_blob(CONTAINER, checkpoint, json.dumps(snapshot).encode())
        return etag

    def settle(self) -> None:
        """Wait for the chunks written so far (raising what failed), their ETags into the manifest."""
        for name, write in self._writes:
            self.work.manifest.chunk_etags[name] = write.result()
        self._writes.clear()


def _changes(tail: Tail) -> Changes:
    changes = Changes()
    changes.take(tail.entries)
    return changes


def _migrated_id(entry: Entry) -> str:
    """The id an entry accounts for in a migration: a face's, or (named or deleted) a person's."""
    if entry.kind in (EntryKind.ADD_FACE, EntryKind.DELETE_FACE) and entry.face_id:
        return entry.face_id
    return entry.person_id


def _apply(manifest: IndexManifest, changes: Changes, pending: dict[str, tuple[str, bytes]]) -> int:
    """Apply one log's new entries: deletes to the manifest (its rows stay in their chunks, left out by it), adds
    to the pending rows. A person's entries all lie in one log, read once a build, so none of its faces is
    pending from another log. Answers an added entry's size in bytes (0 if none)."""
    for person_id in changes.deleted_persons - manifest.deleted_persons:
        manifest.deleted_persons.add(person_id)
        manifest.persons.pop(person_id, None)
    for face_id, person_id in changes.deleted_faces.items():
        if face_id in manifest.deleted_faces:
            continue
        manifest.deleted_faces.add(face_id)
        if face_id not in changes.added and person_id in manifest.persons:  # it was counted by an earlier training
            manifest.persons[person_id][1] = max(0, manifest.persons[person_id][1] - 1)
    entry_size = 0
    for face_id, (person_id, body) in changes.live_adds().items():
        if person_id in manifest.deleted_persons or face_id in manifest.deleted_faces:
            continue
        pending[face_id] = (person_id, body)
        manifest.persons.setdefault(person_id, ["", 0])[1] += 1
        entry_size = _ENTRY_OVERHEAD + len(body)
    for person_id, name in changes.names.items():
        if person_id not in manifest.deleted_persons:
            manifest.persons.setdefault(person_id, ["", 0])[0] = name
    return entry_size
