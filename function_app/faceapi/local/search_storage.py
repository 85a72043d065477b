"""A trained index's search index, built by training and stored beside it (`{root}training/{id}.search`), so that
no identify waits for its build (47 s at a million faces) and an instance that starts reads it instead.

Its rows are the chunks' rows in the manifest's order, live or not (index_chunks.py): a deleted face's row stays
and is left out when searched (TrainedIndex.chunk_rows maps the codes' rows to the trained index's, -1 for rows
no longer live). So a retraining that only added chunks, the usual one, extends the last search index by their
rows (the codes' training kept) instead of building it again; a full training, whose chunks are all new, builds
it afresh. The blob: a JSON header (the chunks it covers, how many faces its codes were trained on), then the
codes (search_index.codes_to_bytes).
"""

from __future__ import annotations

import json
import logging
import struct
from collections.abc import Callable
from dataclasses import dataclass

import faiss
import numpy as np

from ...engines.fusion import FusionNorm
from ...read_ahead import read_ahead
from ...storage import BlobNotFound, Storage
from ...storage.layout import GALLERY_CONTAINER as CONTAINER
from .index_chunks import Chunk, IndexManifest, read_chunk
from .search_index import (
    MIN_FACES,
    SearchIndex,
    SearchParams,
    add_rows,
    codes_from_bytes,
    codes_to_bytes,
    remember,
    search_blob,
    train_codes,
)
from .training import TrainedIndex

log = logging.getLogger(__name__)
READERS = 2  # chunks read at once while the codes of the one before are computed
_HEADER = struct.Struct("<I")  # the JSON header's length


@dataclass(frozen=True)
class StoredCodes:
    chunks: tuple[str, ...]  # whose rows the codes hold, in order
    trained_on: int  # faces the codes' PCA and centroids were trained on
    index: faiss.IndexRefine
    weights: np.ndarray

    def to_bytes(self) -> bytes:
        header = {"chunks": list(self.chunks), "trainedOn": self.trained_on, "dims": len(self.weights)}
        encoded = json.dumps(header).encode()
        return _HEADER.pack(len(encoded)) + encoded + codes_to_bytes(self.index, self.weights)

    @classmethod
    def from_bytes(cls, data: bytes) -> StoredCodes:
        """ValueError (or FAISS's RuntimeError, struct.error) for anything else."""
        (size,) = _HEADER.unpack_from(data)
        header = json.loads(data[_HEADER.size : _HEADER.size + size])
        chunks, trained_on, dims = header.get("chunks"), header.get("trainedOn"), header.get("dims")
        if not isinstance(chunks, list) or not isinstance(trained_on, int) or not isinstance(dims, int):
            raise ValueError("no chunks, trainedOn or dims in the header")
        return cls(tuple(chunks), trained_on, *codes_from_bytes(data[_HEADER.size + size :], dims))


def store_search_index(
    storage: Storage,
    manifest_blob: str,
    manifest: IndexManifest,
    base_blob: str | None,
    retrain: str,
) -> str:
    """Store the search index of the trained index `manifest_blob` (its manifest given): the one beside
    `base_blob` (the index this training went on from) extended by the chunks added since, or a new one. Its
    blob's name."""
    params = SearchParams()
    codes = _extended(storage, manifest, base_blob, retrain, params) or _built(storage, manifest, retrain, params)
    name = search_blob(manifest_blob)
    storage.put_blob(CONTAINER, name, codes.to_bytes())
    return name


def _read(storage: Storage, index_blob: str) -> StoredCodes | None:
    """The search index stored beside `index_blob`; None if there is none, or it cannot be read (logged)."""
    try:
        return StoredCodes.from_bytes(storage.get_blob(CONTAINER, search_blob(index_blob)).data)
    except BlobNotFound:
        return None
    except (ValueError, RuntimeError, struct.error) as exc:  # FAISS raises RuntimeError on damaged bytes
        log.warning("The search index beside %s cannot be read (%s); it is built again.", index_blob, exc)
        return None


def _extended(
    storage: Storage, manifest: IndexManifest, base_blob: str | None, retrain: str, params: SearchParams
) -> StoredCodes | None:
    """The base's codes with the rows of the chunks added since; None when the base's chunks are not where the
    manifest's start (a full training rewrote them), or its codes were trained on under half the faces a new
    training would take (a group that grew from a few faces)."""
    base = _read(storage, base_blob) if base_blob else None
    if base is None or manifest.chunks[: len(base.chunks)] != list(base.chunks):
        return None
    if base.trained_on * 2 < min(manifest.rows, params.training_sample):
        return None
    for _, chunk in read_ahead(manifest.chunks[len(base.chunks) :], _reader(storage, retrain), READERS):
        add_rows(base.index, base.weights, chunk.embeddings)
    return StoredCodes(tuple(manifest.chunks), base.trained_on, base.index, base.weights)


def _built(storage: Storage, manifest: IndexManifest, retrain: str, params: SearchParams) -> StoredCodes:
    """New codes, trained on the first chunks' rows (chunks hold persons in the journal logs' order, which their
    ids' hashes pick: a sample of the group as good as any) and given every chunk's rows, a chunk at a time."""
    fusion = FusionNorm.load()
    waiting: list[np.ndarray] = []
    codes: tuple[faiss.IndexRefine, np.ndarray] | None = None
    trained_on = 0
    for i, (_, chunk) in enumerate(read_ahead(manifest.chunks, _reader(storage, retrain), READERS)):
        rows = chunk.embeddings
        if codes is not None:
            add_rows(*codes, rows)
            continue
        waiting.append(rows)
        if sum(map(len, waiting)) >= params.training_sample or i == len(manifest.chunks) - 1:
            sample = np.concatenate(waiting)
            codes = train_codes(sample, fusion, params)
            for waited in waiting:
                add_rows(*codes, waited)
            trained_on = min(len(sample), params.training_sample)
            waiting = []
    if codes is None:
        raise ValueError("a manifest without chunks has no search index")
    return StoredCodes(tuple(manifest.chunks), trained_on, *codes)


def _reader(storage: Storage, retrain: str) -> Callable[[str], Chunk]:
    return lambda name: read_chunk(storage, name, retrain)


def load_search_index(storage: Storage, index_blob: str, index: TrainedIndex) -> None:
    """Keep in this instance's cache the search index stored beside a trained index just loaded, if training
    stored one for exactly its chunks; otherwise it is built on first use (search_index.search_index_of)."""
    if index.chunk_rows is None or len(index.embeddings) < MIN_FACES:
        return
    stored = _read(storage, index_blob)
    if stored is None or stored.chunks != index.chunks or stored.index.ntotal != len(index.chunk_rows):
        return
    searched = SearchIndex(
        stored.index, stored.weights, index.embeddings, index.person_starts, SearchParams(), index.chunk_rows
    )
    remember(index.training_id, searched)
