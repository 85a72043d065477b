"""A group's embeddings as training reads them: an append-only journal, so that a training reads a few big blobs
instead of one blob per face, and a retraining reads only what was appended since. A large face list keeps one
too (face_lists.py), each face its own "person": its add and its delete carry the face's id as both ids.

    {root}journal/{bucket}.log   bucket: the person id's first two hex digits modulo BUCKETS, as two hex digits

Each log is an append blob (storage/base.py: append_blob): every add, delete and name of the persons of its
bucket, one entry a block. All of a person's entries lie in one log. Entries are facts about ids that are never
reused (persons and faces are UUIDs), so reading them is order-free: a face is live when it was added and neither
it nor its person was ever deleted, whichever entry came first; a person's name is its last NAME entry. Adds that
race a delete, entries appended twice (a migration run again), and a reader that stops anywhere all come out
right.

An entry: magic b"FJ", its kind (one byte), the payload's length (uint32 little-endian), then the payload: the
person's and the face's UUIDs (16 bytes each; zeros for a person's entries) and the body (an ADD's float32
embedding, a NAME's UTF-8 name).
"""

from __future__ import annotations

import enum
import struct
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from ...errors import DamagedRecord
from ...storage import BlobNotFound, Storage
from ...storage.layout import GALLERY_CONTAINER as CONTAINER

BUCKETS = 64
JOURNAL = "journal/"
MAX_BLOCK = 4 * 1024 * 1024  # Azure's largest append block (the API versions this SDK speaks)
_HEADER = struct.Struct("<2sBI")
_MAGIC = b"FJ"
_NO_FACE = bytes(16)


class EntryKind(enum.IntEnum):
    ADD_FACE = 1
    DELETE_FACE = 2
    NAME_PERSON = 3
    DELETE_PERSON = 4


@dataclass(frozen=True)
class Entry:
    kind: EntryKind
    person_id: str
    face_id: str | None = None
    body: bytes = b""

    def encode(self) -> bytes:
        face = uuid.UUID(self.face_id).bytes if self.face_id else _NO_FACE
        payload = uuid.UUID(self.person_id).bytes + face + self.body
        return _HEADER.pack(_MAGIC, self.kind, len(payload)) + payload


def add_entry(person_id: str, face_id: str, embedding: np.ndarray) -> Entry:
    return Entry(EntryKind.ADD_FACE, person_id, face_id, np.asarray(embedding, dtype="<f4").tobytes())


def name_entry(person_id: str, name: str) -> Entry:
    return Entry(EntryKind.NAME_PERSON, person_id, None, name.encode())


def decode(data: bytes) -> tuple[list[Entry], int]:
    """The whole entries at the start of `data` and the bytes they take: a torn last entry (a local write cut
    short by a crash) is left for the next read. Raises ValueError where the framing is broken."""
    entries: list[Entry] = []
    offset = 0
    while offset + _HEADER.size <= len(data):
        magic, kind, length = _HEADER.unpack_from(data, offset)
        if magic != _MAGIC or length < 32:
            raise ValueError(f"no journal entry at byte {offset}")
        end = offset + _HEADER.size + length
        if end > len(data):
            break
        start = offset + _HEADER.size
        face = data[start + 16 : start + 32]
        entries.append(
            Entry(
                EntryKind(kind),
                str(uuid.UUID(bytes=data[start : start + 16])),
                None if face == _NO_FACE else str(uuid.UUID(bytes=face)),
                data[start + 32 : end],
            )
        )
        offset = end
    return entries, offset


@dataclass
class Changes:
    """What a run of entries says, order-free: faces added (face id → (person id, embedding bytes)), faces and
    persons deleted, and persons' names."""

    added: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    deleted_faces: dict[str, str] = field(default_factory=dict)  # face id → person id
    deleted_persons: set[str] = field(default_factory=set)
    names: dict[str, str] = field(default_factory=dict)

    def take(self, entries: Iterable[Entry]) -> None:
        for entry in entries:
            if entry.kind == EntryKind.ADD_FACE and entry.face_id:
                self.added[entry.face_id] = (entry.person_id, entry.body)
            elif entry.kind == EntryKind.DELETE_FACE and entry.face_id:
                self.deleted_faces[entry.face_id] = entry.person_id
            elif entry.kind == EntryKind.DELETE_PERSON:
                self.deleted_persons.add(entry.person_id)
            elif entry.kind == EntryKind.NAME_PERSON:
                self.names[entry.person_id] = entry.body.decode()

    def live_adds(self) -> dict[str, tuple[str, bytes]]:
        """The added faces that these entries do not delete."""
        return {
            face_id: added
            for face_id, added in self.added.items()
            if face_id not in self.deleted_faces and added[0] not in self.deleted_persons
        }


@dataclass(frozen=True)
class Tail:
    """A log's entries from an offset, and the offset after the last whole one."""

    entries: list[Entry]
    end: int


class EmbeddingJournal:
    """The journal of the groups whose roots are given (the gallery's, by kind)."""

    def __init__(self, storage: Storage):
        self.storage = storage

    @staticmethod
    def log_of(root: str, person_id: str) -> str:
        return f"{root}{JOURNAL}{int(person_id[:2], 16) % BUCKETS:02x}.log"

    def append(self, root: str, entry: Entry) -> None:
        self.storage.append_blob(CONTAINER, self.log_of(root, entry.person_id), entry.encode())

    def append_many(self, root: str, entries: Iterable[Entry]) -> None:
        """Entries in as few blocks as fit (a migration's thousands of entries: a log holds 50,000 blocks)."""
        by_log: dict[str, list[bytes]] = {}
        for entry in entries:
            by_log.setdefault(self.log_of(root, entry.person_id), []).append(entry.encode())
        for log_blob, encoded in by_log.items():
            block: list[bytes] = []
            size = 0
            for data in encoded:
                if block and size + len(data) > MAX_BLOCK:
                    self.storage.append_blob(CONTAINER, log_blob, b"".join(block))
                    block, size = [], 0
                block.append(data)
                size += len(data)
            if block:
                self.storage.append_blob(CONTAINER, log_blob, b"".join(block))

    def append_until(self, root: str, entries: Iterable[Entry], deadline: float) -> bool:
        """A migration's entries (each read from a record, one blob a face) appended in bulk, stopping once
        `deadline` (time.monotonic()) has passed: False then, and the migration runs again from what is there."""
        taken: list[Entry] = []
        for entry in entries:
            taken.append(entry)
            if time.monotonic() > deadline:
                self.append_many(root, taken)
                return False
        self.append_many(root, taken)
        return True

    def sizes(self, root: str) -> dict[str, int]:
        """Each log's size in bytes: one listing, which tells a retraining which logs grew."""
        logs = self.storage.list_blobs(CONTAINER, f"{root}{JOURNAL}")
        return {blob.name: blob.size for blob in logs if blob.name.endswith(".log")}

    def read_tail(self, log_blob: str, offset: int) -> Tail:
        try:
            data = self.storage.read_blob_from(CONTAINER, log_blob, offset)
        except BlobNotFound:
            return Tail([], offset)
        try:
            entries, used = decode(data)
        except ValueError as exc:
            raise DamagedRecord(
                f"The journal {CONTAINER}/{log_blob} is damaged after byte {offset} ({exc}): the faces of its "
                "persons cannot be trained. Delete and add them again (or restore the blob)."
            ) from None
        return Tail(entries, offset + used)
