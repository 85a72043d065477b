"""Faces compared with faces: find-similar (one query against an index of single faces) and group
(faces partitioned by similarity), with matching.py's distances and confidence mapping."""

from __future__ import annotations

import numpy as np

from ..face_lists import MatchMode, check_max_candidates
from .matching import DEFAULT_CONFIDENCE_THRESHOLD, distance_to_confidence, person_distances
from .training import TrainedIndex


def similar_faces(
    index: TrainedIndex, query: np.ndarray, *, match_threshold: float, max_candidates: int, mode: MatchMode
) -> list[tuple[str, float]]:
    """(face id of the index, confidence), most similar first. matchPerson keeps the faces that match
    as identify would (confidence ≥ 0.5, i.e. distance ≤ the match threshold); matchFace keeps the
    nearest faces whatever their confidence."""
    check_max_candidates(max_candidates)
    confidence = distance_to_confidence(person_distances(index, query[np.newaxis, :]), match_threshold)[0]
    order = np.argsort(-confidence, kind="stable")
    if mode is MatchMode.MATCH_PERSON:
        order = order[confidence[order] >= DEFAULT_CONFIDENCE_THRESHOLD]
    return [(str(index.person_ids[j]), float(confidence[j])) for j in order[:max_candidates]]


def group_embeddings(embeddings: np.ndarray, match_threshold: float) -> tuple[list[list[int]], list[int]]:
    """Rows partitioned into groups of faces linked by distances within the match threshold (single
    linkage: connected components), largest group first, each in input order; rows similar to no
    other row form the messy group."""
    count = len(embeddings)
    vectors = embeddings.astype(np.float32)
    squared = np.maximum(2.0 - 2.0 * (vectors @ vectors.T), 0.0)
    linked = squared <= match_threshold**2
    parent = list(range(count))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in zip(*np.nonzero(np.triu(linked, k=1)), strict=True):
        parent[root(int(i))] = root(int(j))
    components: dict[int, list[int]] = {}
    for i in range(count):
        components.setdefault(root(i), []).append(i)
    groups = sorted((c for c in components.values() if len(c) > 1), key=lambda c: (-len(c), c[0]))
    messy = [c[0] for c in components.values() if len(c) == 1]
    return groups, messy
