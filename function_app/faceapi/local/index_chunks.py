"""A group's trained index as training from the journal stores it: a manifest naming immutable chunks, so that a
retraining writes only a chunk of what was added (and the manifest), never the whole matrix again.

    {root}training/{trainingId}.json        the manifest (IndexManifest)
    {root}training/chunks/{chunkId}.npz     rows: embeddings, face ids, person ids (any order)

Chunks are shared by the manifests of successive trainings; rows a later training deleted stay in their chunk and
are left out by the manifest (its live persons and deleted faces) until a full training rewrites the chunks
(journal_training.py decides when). Reading one assembles the TrainedIndex matching uses: live rows only, one row
a face, grouped by person in person-id order.
"""

from __future__ import annotations

import io
import json
import tempfile
from dataclasses import dataclass, field, replace
from typing import Any, BinaryIO

import numpy as np

from ...errors import DamagedRecord
from ...storage import BlobNotFound, Storage
from ...storage.layout import GALLERY_CONTAINER as CONTAINER
from ...storage.records import parse_record
from .training import TrainedIndex

CHUNKS = "training/chunks/"
# An index this large is assembled in memory-mapped temporary files (about 58,000 faces at 1,152 values): the
# search index re-ranks a few hundred rows a query, so the pages read stay few (docs/scale.md, Matching).
MAPPED_FROM_BYTES = 256 << 20
ID = "S36"  # a UUID's canonical text, as bytes: a third of numpy's unicode size


@dataclass(frozen=True)
class Chunk:
    embeddings: np.ndarray  # (rows, dims) float32
    face_ids: np.ndarray  # (rows,) S36
    person_ids: np.ndarray  # (rows,) S36

    def to_bytes(self) -> bytes:
        out = io.BytesIO()
        np.savez(out, embeddings=self.embeddings, face_ids=self.face_ids, person_ids=self.person_ids)
        return out.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> Chunk:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            return cls(z["embeddings"], z["face_ids"], z["person_ids"])


@dataclass
class IndexManifest:
    """What a training published: its chunks, how far it read each journal log, the live persons (name and
    live faces each, persons without faces included so that their names are kept), and the faces and persons
    deleted (for ever: ids are never reused)."""

    chunks: list[str] = field(default_factory=list)
    chunk_etags: dict[str, str] = field(default_factory=dict)  # as written: a chunk changed since is damaged
    offsets: dict[str, int] = field(default_factory=dict)
    persons: dict[str, list[Any]] = field(default_factory=dict)  # person id → [name, live faces]
    deleted_faces: set[str] = field(default_factory=set)
    deleted_persons: set[str] = field(default_factory=set)
    rows: int = 0  # in the chunks, live or not

    @property
    def faces(self) -> int:
        return sum(count for _, count in self.persons.values())

    @property
    def trained_persons(self) -> int:
        return sum(1 for _, count in self.persons.values() if count > 0)

    def to_record(self) -> dict[str, Any]:
        return {
            "chunks": self.chunks,
            "chunkEtags": self.chunk_etags,
            "offsets": self.offsets,
            "persons": self.persons,
            "deletedFaces": sorted(self.deleted_faces),
            "deletedPersons": sorted(self.deleted_persons),
            "rows": self.rows,
        }

    @classmethod
    def from_record(cls, data: dict[str, Any]) -> IndexManifest:
        manifest = cls(
            list(data["chunks"]),
            dict(data["chunkEtags"]),
            dict(data["offsets"]),
            {str(p): [str(v[0]), int(v[1])] for p, v in data["persons"].items()},
            set(data["deletedFaces"]),
            set(data["deletedPersons"]),
            int(data["rows"]),
        )
        if not all(isinstance(c, str) for c in manifest.chunks):
            raise TypeError("chunks must be blob names")
        return manifest


def chunk_blob(root: str, chunk_id: str) -> str:
    return f"{root}{CHUNKS}{chunk_id}.npz"


def chunks_intact(storage: Storage, root: str, manifest: IndexManifest) -> bool:
    """Every chunk of the manifest is there as written (one listing): else a training must not build on it."""
    etags = {blob.name: blob.etag for blob in storage.list_blobs(CONTAINER, f"{root}{CHUNKS}")}
    return all(etags.get(name) == manifest.chunk_etags.get(name) for name in manifest.chunks)


def read_manifest(storage: Storage, manifest_blob: str, retrain: str) -> IndexManifest:
    """BlobNotFound if it is gone (replaced meanwhile); DamagedRecord if it is not a manifest."""
    where = f"{CONTAINER}/{manifest_blob}"
    data = storage.get_blob(CONTAINER, manifest_blob).data
    return parse_record(data, where, IndexManifest.from_record, repair=retrain)


def read_chunk(storage: Storage, name: str, retrain: str) -> Chunk:
    try:
        return Chunk.from_bytes(storage.get_blob(CONTAINER, name).data)
    except (ValueError, KeyError, OSError, EOFError) as exc:
        reason = type(exc).__name__
        raise DamagedRecord(f"The trained index chunk {CONTAINER}/{name} is damaged ({reason}). {retrain}") from None


def load_index(
    storage: Storage, manifest_blob: str, retrain: str, *, mapped_from: int = MAPPED_FROM_BYTES
) -> TrainedIndex:
    """The trained index a manifest names. Chunks are read one at a time; an index of `mapped_from` bytes or
    more is assembled in memory-mapped temporary files, never whole in memory."""
    manifest = read_manifest(storage, manifest_blob, retrain)
    with tempfile.TemporaryFile(prefix="chunks-") as staging:
        chunks: list[Chunk] = []
        for name in manifest.chunks:
            chunk = read_chunk(storage, name, retrain)
            if manifest.rows * chunk.embeddings.shape[1] * 4 >= mapped_from:
                chunk = replace(chunk, embeddings=_staged(staging, chunk.embeddings))
            chunks.append(chunk)
        return assemble(manifest_blob, manifest, chunks, mapped_from=mapped_from)


def _staged(staging: BinaryIO, rows: np.ndarray) -> np.ndarray:
    """`rows` written at the end of the staging file, answered as a read-only view of it."""
    offset = staging.seek(0, io.SEEK_END)
    staging.write(np.ascontiguousarray(rows, dtype=np.float32).tobytes())
    staging.flush()
    return np.memmap(staging, np.float32, "r", offset, rows.shape)


def _matrix(rows: int, dims: int, mapped_from: int) -> np.ndarray:
    """An empty (rows, dims) float32 matrix: in memory, or from `mapped_from` bytes in a temporary file that
    is gone once nothing maps it (removed at once; the mapping keeps its pages)."""
    if rows * dims * 4 < mapped_from:
        return np.empty((rows, dims), dtype=np.float32)
    with tempfile.TemporaryFile(prefix="trained-") as backing:
        backing.truncate(max(1, rows * dims * 4))
        return np.memmap(backing, np.float32, "r+", 0, (rows, dims))


def assemble(
    training_id: str, manifest: IndexManifest, chunks: list[Chunk], *, mapped_from: int = MAPPED_FROM_BYTES
) -> TrainedIndex:
    """The live rows of the chunks, one a face, grouped by person in person-id order."""
    face_ids = np.concatenate([c.face_ids for c in chunks])
    person_ids = np.concatenate([c.person_ids for c in chunks])
    live_persons = np.array([p for p, (_, count) in manifest.persons.items() if count > 0], dtype=ID)
    keep = np.isin(person_ids, live_persons)
    if manifest.deleted_faces:
        keep &= ~np.isin(face_ids, np.array(sorted(manifest.deleted_faces), dtype=ID))
    rows = np.flatnonzero(keep)
    _, first = np.unique(face_ids[rows], return_index=True)  # a face appended twice is one row
    rows = rows[np.sort(first)]
    rows = rows[np.argsort(person_ids[rows], kind="stable")]
    dims = chunks[0].embeddings.shape[1] if chunks else 0
    embeddings = _matrix(len(rows), dims, mapped_from)
    # Chunk by chunk, its rows to where they go: no copy of all the chunks at once.
    ends = np.cumsum([len(c.face_ids) for c in chunks])
    owner = np.searchsorted(ends, rows, side="right")
    for k, chunk in enumerate(chunks):
        (targets,) = np.nonzero(owner == k)
        embeddings[targets] = chunk.embeddings[rows[targets] - (ends[k] - len(chunk.face_ids))]
    ids, starts = np.unique(person_ids[rows], return_index=True)
    names = [manifest.persons[p.decode()][0] for p in ids]
    chunk_rows = np.full(len(face_ids), -1, dtype=np.int64)
    chunk_rows[rows] = np.arange(len(rows))
    return TrainedIndex(
        training_id,
        embeddings,
        ids.astype(str),
        np.array(names),
        starts.astype(np.int64),
        tuple(manifest.chunks),
        chunk_rows,
    )


def obsolete_blobs(storage: Storage, replaced: str, kept: str, retrain: str) -> list[str]:
    """What publishing `kept` leaves unused of the index it replaced: that manifest, and its chunks that `kept`
    does not share."""
    try:
        old = read_manifest(storage, replaced, retrain)
        new = read_manifest(storage, kept, retrain)
    except (BlobNotFound, DamagedRecord):  # gone or damaged: drop the replaced manifest alone
        return [replaced]
    return [replaced, *sorted(set(old.chunks) - set(new.chunks))]


def dump_manifest(manifest: IndexManifest) -> bytes:
    return json.dumps(manifest.to_record(), separators=(",", ":"), ensure_ascii=False).encode()
