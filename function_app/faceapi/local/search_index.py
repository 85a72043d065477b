"""Approximate nearest-face search over a trained index, for groups too large to scan in full.

Exact search (matching.person_distances) computes a query's distance to every enrolled face: 60-130 ms
at a million faces. Above a size (FACE_APPROXIMATE_SEARCH_FROM) identify and find-similar ask this index
instead, in four steps:

1. a *proxy* vector per face, whose inner products rank faces nearly as the fused distance does: each
   network's part weighted by the slope of its z-normalised distance at a typical stranger's distance
   (the fused distance is a sum of two square roots of inner products, linearised where most of the
   gallery lies), so that one search stands for both networks. Each part is of unit length and weighted
   evenly, so every proxy has the same length and the nearest by Euclidean distance are the highest by
   inner product: the indexes below search by L2, which all of FAISS's codes support;
2. a scan of *every* face's short code, FAISS's 4-bit product-quantised codes of the proxy reduced by PCA
   to 128 dimensions (a code per 2 of them: 32 bytes a face), read by its SIMD "fast scan" kernels:
   the `first_stage` nearest faces. Every face is scanned because an inverted file (scanning only the
   cells nearest the query) missed real answers on the benchmark's gallery even at a quarter of the
   cells: a face's nearest faces are spread over many cells in 1,152 dimensions;
3. those faces re-scored by a finer code of the whole proxy, RaBitQ (one bit a dimension, with its
   correction factors: 152 bytes a face), which PCA's lost dimensions no longer blur: the `shortlist`
   nearest;
4. the exact fused distance to those faces (from the trained index's own embeddings), their persons'
   nearest faces, best first.

So the distances answered are exact; what is approximate is which faces reach the short list. The
recall of the exact answer and the open-set decisions kept are measured by benchmarks/bench_matching.py
on the calibration set's faces mixed into a synthetic gallery of a million (docs/scale.md).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

import faiss
import numpy as np

from ...engines import embedding_layout
from ...engines.fusion import FusionNorm
from ...lru import LruCache

# The 4-bit codes are trained as 16 centroids per subspace: a gallery needs that many faces.
MIN_FACES = 16
# The distance answered for a person when no live face is short-listed: farther than any face (z-units).
FAR = 1e3


@dataclass(frozen=True)
class SearchParams:
    """How the index is built and searched; the defaults are the ones measured in docs/scale.md."""

    reduced_dims: int = 128  # PCA of the proxy, for the scan's codes
    dims_per_code: int = 2  # of the reduced proxy, a 4-bit code each (product quantisation)
    first_stage: int = 2048  # faces the scan keeps, re-scored by their RaBitQ codes
    shortlist: int = 512  # faces re-ranked by their exact distance
    training_sample: int = 65_536  # faces the PCA and the codes are trained on


@dataclass(frozen=True)
class Shortlist:
    """Per query, the nearest persons (their indices in the trained index) with their exact distances,
    nearest first. A row with fewer persons is padded with index -1 (and, from the search index, the
    farthest short-listed face's distance)."""

    persons: np.ndarray  # (queries, k) int64
    distances: np.ndarray  # (queries, k) float32


def proxy_weights(dims: int, fusion: FusionNorm) -> np.ndarray:
    """(dims,) weights whose weighted inner products rank faces as the distance does. One network: its
    Euclidean distance between unit vectors is a monotone function of the inner product (weights 1).
    Fused: each part's weight² is the slope of its z-normalised distance at its impostor mean, d(d)/dc
    = -1/d: the fused distance ~ const - (c_dlib / (σ_dlib d_dlib) + c_faceres / (σ_faceres d_faceres)) / 2."""
    if dims != embedding_layout.size(fused=True):
        return np.ones(dims, dtype=np.float32)
    dlib = np.sqrt(1.0 / (fusion.dlib.impostor_std * fusion.dlib.impostor_mean))
    faceres = np.sqrt(1.0 / (fusion.faceres.impostor_std * fusion.faceres.impostor_mean))
    return np.concatenate(
        [np.full(embedding_layout.DLIB_SIZE, dlib), np.full(embedding_layout.FACERES_SIZE, faceres)]
    ).astype(np.float32)


# (queries, rows) → their exact distances: matching.face_distances (passed in, not imported: matching
# imports this module).
Distances = Callable[[np.ndarray, np.ndarray], np.ndarray]


class SearchIndex:
    """An approximate index over one trained index's embeddings (immutable, as the trained index is)."""

    def __init__(
        self,
        index: faiss.IndexRefine,
        weights: np.ndarray,
        embeddings: np.ndarray,
        person_starts: np.ndarray,
        params: SearchParams,
        positions: np.ndarray | None = None,
    ):
        self.index = index
        self.weights = weights
        self.embeddings = embeddings
        self.person_starts = person_starts
        self.params = params
        # The codes' rows → rows of `embeddings` (-1: a row no longer live); None: the same rows.
        self.positions = positions
        index.k_factor = max(1.0, params.first_stage / params.shortlist)

    @classmethod
    def build(
        cls,
        embeddings: np.ndarray,
        person_starts: np.ndarray,
        fusion: FusionNorm,
        params: SearchParams = SearchParams(),
    ) -> SearchIndex:
        """Train the codes on a sample of the faces, then add them all."""
        index, weights = train_codes(embeddings, fusion, params)
        add_rows(index, weights, embeddings)
        return cls(index, weights, embeddings, person_starts, params)

    def to_bytes(self) -> bytes:
        """The codes and their training (not the embeddings, which the trained index holds)."""
        return codes_to_bytes(self.index, self.weights)

    @classmethod
    def from_bytes(
        cls, data: bytes, embeddings: np.ndarray, person_starts: np.ndarray, params: SearchParams = SearchParams()
    ) -> SearchIndex:
        return cls(*codes_from_bytes(data, embeddings.shape[1]), embeddings, person_starts, params)

    @property
    def memory_bytes(self) -> int:
        """What the index itself holds in memory (its serialised size: both codes and their PCA and centre)."""
        return len(faiss.serialize_index(self.index))

    def nearest_persons(self, queries: np.ndarray, persons: int, distances: Distances) -> Shortlist:
        """Per query the `persons` nearest persons among the short list's faces, by exact distance."""
        shortlist = min(self.params.shortlist, self.index.ntotal)
        _, rows = self.index.search(np.asarray(queries, dtype=np.float32) * self.weights, shortlist)
        found_persons = np.full((len(queries), persons), -1, dtype=np.int64)
        found_distances = np.empty((len(queries), persons), dtype=np.float32)
        for q, labels in enumerate(rows):
            found = labels[labels >= 0] if self.positions is None else self.positions[labels[labels >= 0]]
            candidates = np.unique(found[found >= 0])  # sorted: reads the rows in order
            if len(candidates) == 0:  # every face short-listed was deleted since: nobody near
                found_distances[q] = FAR
                continue
            exact = distances(queries[q : q + 1], np.asarray(self.embeddings[candidates]))[0]
            owner = np.searchsorted(self.person_starts, candidates, side="right") - 1
            # Each person's nearest face: sort by distance, keep each person's first.
            order = np.argsort(exact, kind="stable")
            owner, exact = owner[order], exact[order]
            _, first = np.unique(owner, return_index=True)
            first.sort()
            best = first[:persons]
            found_persons[q, : len(best)] = owner[best]
            # A person beyond the short list is at least as far as its farthest face: that bound, not +inf,
            # so that a margin over a missing second-best is never infinite.
            found_distances[q] = exact[-1]
            found_distances[q, : len(best)] = exact[best]
        return Shortlist(found_persons, found_distances)


def train_codes(rows: np.ndarray, fusion: FusionNorm, params: SearchParams) -> tuple[faiss.IndexRefine, np.ndarray]:
    """Empty codes trained on a sample of `rows` (at most params.training_sample of them, picked at random): PCA,
    the 4-bit codes' centroids, RaBitQ's centre; and the proxy's weights."""
    rng = np.random.default_rng(0)
    picked = np.sort(rng.choice(len(rows), min(len(rows), params.training_sample), replace=False))
    sample = np.asarray(rows[picked], dtype=np.float32)
    dims = sample.shape[1]
    weights = proxy_weights(dims, fusion)
    # Whole codes; PCA yields no more dimensions than it has faces to train on.
    step = params.dims_per_code
    reduced = max(step, min(params.reduced_dims, dims, len(sample)) // step * step)
    scan = faiss.index_factory(dims, f"PCA{reduced},PQ{reduced // step}x4fs", faiss.METRIC_L2)
    rescore = faiss.index_factory(dims, "RaBitQ", faiss.METRIC_L2)
    index = faiss.IndexRefine(scan, rescore)  # holds references to its parts (FAISS's Python wrapper)
    index.train(sample * weights)
    return index, weights


def add_rows(index: faiss.IndexRefine, weights: np.ndarray, rows: np.ndarray, chunk: int = 65_536) -> None:
    """Rows' codes appended (in chunks, so that a memory-mapped matrix is never copied whole)."""
    for start in range(0, len(rows), chunk):
        index.add(np.asarray(rows[start : start + chunk], dtype=np.float32) * weights)


def codes_to_bytes(index: faiss.IndexRefine, weights: np.ndarray) -> bytes:
    return faiss.serialize_index(index).tobytes() + weights.tobytes()


def codes_from_bytes(data: bytes, dims: int) -> tuple[faiss.IndexRefine, np.ndarray]:
    """ValueError (or FAISS's RuntimeError) if `data` is not what codes_to_bytes wrote for `dims` values."""
    weights_size = dims * 4
    index = faiss.deserialize_index(np.frombuffer(data[:-weights_size], dtype=np.uint8))  # of its own class
    if not isinstance(index, faiss.IndexRefine) or index.d != dims:
        raise ValueError(f"not a search index of this version: {type(index).__name__}")
    return index, np.frombuffer(data[-weights_size:], dtype=np.float32).copy()


def search_blob(index_blob: str) -> str:
    """Where a trained index's search index is stored: beside it, `{root}training/{id}.search`."""
    return f"{index_blob.rsplit('.', 1)[0]}.search"


def remember(training_id: str, built: SearchIndex) -> None:
    """Keep a search index for its trained index (built here, or read from storage: search_storage.py)."""
    _cache.put(training_id, built)


# One build at a time: the frames of several cameras arriving after a training wait for one build, not
# each start their own (a build takes about a minute at 100,000 faces).
_build_lock = threading.Lock()
_cache: LruCache[str, SearchIndex] = LruCache(4)


def cached_search_index(training_id: str, embeddings: np.ndarray) -> SearchIndex | None:
    """The search index this instance holds for a trained index (over these very embeddings), if any."""
    cached = _cache.get(training_id)
    return cached if cached is not None and cached.embeddings is embeddings else None


def search_index_of(
    training_id: str, embeddings: np.ndarray, person_starts: np.ndarray, fusion: FusionNorm
) -> SearchIndex:
    """The search index of a trained index, built on first use and kept while it is among the last used
    (trainings are immutable: a new training has a new id, so a retrained group gets a new index). One
    built over other embeddings under the same id (an index made by hand) is replaced."""
    found = cached_search_index(training_id, embeddings)
    if found is not None:
        return found
    with _build_lock:
        found = cached_search_index(training_id, embeddings)  # built meanwhile by another request
        if found is not None:
            return found
        built = SearchIndex.build(embeddings, person_starts, fusion)
        remember(training_id, built)
        return built
